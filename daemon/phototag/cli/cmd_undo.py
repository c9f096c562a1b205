"""tagctl undo PATH... [--dry-run]: take out exactly what phototag wrote into those photos.

A folder means every photo under it. Each field phototag filled gets back the value it had
(from phototag's record in the photo), a sidecar phototag created alone is deleted, and
the index marks the photos ``undone``: they are not tagged again until ``tagctl retag``.
Works with the daemon running (it does the work) or stopped (directly on the index).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from phototag.cli.daemon_call import (
    EXIT_OK,
    EXIT_PROBLEM,
    EXIT_USAGE,
    add_json_flag,
    emit,
    run_remote,
)
from phototag.config import load_settings

UNDO_TIMEOUT_S = 3600.0  # a whole library, one photo after another


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("undo", help="take phototag's tags out of photos again")
    parser.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="photos or folders in a watched root"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would change, change nothing"
    )
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from phototag.errors import IndexLocked
    from phototag.runtime.lock import IndexLock

    paths = [Path(os.path.abspath(p)) for p in args.paths]
    settings = load_settings(config_file=args.config)
    try:  # no phototag works on the index: undo here; else the running daemon does it
        lock = IndexLock.acquire(settings.index_path, holder="tagctl undo")
    except IndexLocked:
        return run_remote(
            args,
            "undo",
            {"paths": [str(p) for p in paths], "dry_run": args.dry_run},
            render=render,
            problem=lambda result: bool(result.get("errors")),
            timeout_s=UNDO_TIMEOUT_S,
        )
    from phototag.runtime.undo import undo_paths
    from phototag.store.queue import Index

    try:
        index = Index(settings.index_path)
        try:
            report = undo_paths(paths, settings=settings, index=index, dry_run=args.dry_run)
        except ValueError as exc:
            print(f"tagctl: {exc}", file=sys.stderr)
            return EXIT_USAGE
        finally:
            index.close()
    finally:
        lock.release()
    emit(report, as_json=args.json, render=render)
    return EXIT_PROBLEM if report["errors"] else EXIT_OK


def render(report: dict[str, Any]) -> str:
    lines: list[str] = []
    verb = "would undo" if report["dry_run"] else "undone"
    for item in report["files"]:
        target = item["target"]
        if item["action"] == "sidecar-deleted":
            lines.append(f"{verb}: {item['path']} (delete the sidecar {target})")
            continue
        lines.append(
            f"{verb}: {item['path']}" + (f" (in {target})" if target != item["path"] else "")
        )
        for block in item["dropped"]:
            lines.append(f"  remove the {block} block phototag created")
        for tag, value in item["changes"].items():
            if tag != "XMP-phototag:all":
                shown = (
                    "(none)"
                    if value is None
                    else ", ".join(value)
                    if isinstance(value, list)
                    else value
                )
                lines.append(f"  {tag} -> {shown}")
        for tag in item["kept"]:
            lines.append(f"  {tag}: changed by a person since, kept")
    for error in report["errors"]:
        lines.append(f"failed: {error['path']}: {error['error']}")
    lines.append(f"{report['undone']} photo(s) {verb}")
    return "\n".join(lines)
