"""tagctl apply [PATH...]: write what a dry run found, without asking the tagger again.

A dry run (``--dry-run``, or ``[metadata] write = false``) tags and records but writes
nothing. ``apply`` is the run that writes: each photo under PATH whose file, backend,
model and prompt digest are those of its dry run gets the stored result written; a photo
whose inputs changed is tagged again (``tagctl scan`` lists which and why), and so is a
photo that is new. The daemon must be stopped (it applies dry-run results itself when it
starts writing). Exit codes as ``tagctl backfill``.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from phototag.cli.cmd_backfill import add_scope
from phototag.config import load_settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "apply", help="write the results of a dry run into the photos (tagger not called)"
    )
    add_scope(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from phototag.cli.cmd_backfill import scope_of
    from phototag.cli.cmd_scan import scan
    from phototag.cli.phototagd import run_once
    from phototag.processing.reuse import Reuse

    settings = load_settings(config_file=args.config, cli={"dry_run": False})
    if not settings.metadata.write:
        print(
            "tagctl: [metadata] write is false: nothing can be applied until it is true",
            file=sys.stderr,
        )
        return 2
    scope = scope_of(settings, args.paths)
    if scope is None:
        return 2
    reasons = Counter(f.reason for f in scan(settings, scope) if f.action == "process")
    again = {r: n for r, n in reasons.items() if r is not Reuse.APPLY}
    print(f"tagctl: {reasons[Reuse.APPLY]} dry-run result(s) to write", file=sys.stderr)
    for reason, n in sorted(again.items()):
        print(f"tagctl: {n} to tag: {reason}", file=sys.stderr)
    return run_once(settings, scope=scope)
