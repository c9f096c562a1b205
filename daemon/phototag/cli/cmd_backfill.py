"""tagctl backfill [PATH...]: tag everything pending under PATH now, in one go, then exit.

The one-shot form of the daemon (``phototagd --once`` limited to PATH) for a first run over
an existing library or a cron job: a progress bar on a terminal, a summary line, exit code
0 when nothing failed, 1 when something did, 2 for a PATH outside the watched roots or
when another phototag holds the index (a running daemon tags PATH itself).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from phototag.cli.oneoff import add_flags, overrides
from phototag.config import Settings, load_settings
from phototag.errors import IndexLocked, OutsideRoots
from phototag.intake.selection import Selection
from phototag.runtime.lock import IndexLock
from phototag.store.queue import Index
from phototag.store.records import display_path


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backfill", help="tag everything pending under PATH now and exit (daemon stopped)"
    )
    add_scope(parser)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="tag and record, but write nothing into any photo or sidecar",
    )
    parser.add_argument(
        "--retag",
        action="store_true",
        help="tag again the photos already done (phototag's own output is replaced)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="for this run, replace a title or description a person wrote, even one they "
        "changed after phototag wrote it",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the effective configuration of this run (secrets redacted) and exit",
    )
    add_flags(parser)
    parser.set_defaults(func=run)


def add_scope(parser: argparse.ArgumentParser) -> None:
    """PATH...: what a one-shot verb covers (``scope_of``)."""
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="folders or files inside a watched root (default: all roots)",
    )


def scope_of(settings: Settings, paths: list[Path]) -> list[Path] | None:
    """The absolute PATHs (default: the roots); None, said on stderr, if one is outside."""
    scope = [Path(os.path.abspath(p)) for p in paths] or list(settings.roots)
    selection = Selection.from_settings(settings)
    outside = [p for p in scope if selection.root_of(p) is None]
    if outside:
        roots = ", ".join(map(display_path, settings.roots))
        print(
            f"tagctl: not inside a watched root ({roots}): "
            + ", ".join(map(display_path, outside)),
            file=sys.stderr,
        )
        return None
    try:  # and not through a symbolic link out of them
        return [selection.locate(path) for path in scope]
    except OutsideRoots as exc:
        print(f"tagctl: {exc}", file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    from phototag.cli.phototagd import run_once

    settings = load_settings(
        config_file=args.config,
        cli={**overrides(args), "dry_run": True if args.dry_run else None},
    )
    if args.overwrite:
        settings = settings.overwrite_for_this_run()
    if args.print_config:
        print(json.dumps(settings.redacted(), indent=2, ensure_ascii=False))
        return 0
    scope = scope_of(settings, args.paths)
    if scope is None:
        return 2
    try:  # held from the first write to the index to the end of the run
        lock = IndexLock.acquire(settings.index_path, holder="tagctl backfill")
    except IndexLocked as exc:
        print(f"tagctl: {exc}", file=sys.stderr)
        return 2
    try:
        if args.retag:
            index = Index(settings.index_path)
            try:
                again = sum(index.requeue_done(under=path) for path in scope)
            finally:
                index.close()
            print(f"tagctl: {again} photo(s) already done will be tagged again", file=sys.stderr)
        return run_once(settings, scope=scope, lock=lock, max_wait_s=args.max_wait_s)
    finally:
        lock.release()
