"""tagctl retag [PATH...] [--stale]: tag photos again, replacing phototag's own earlier output.

``--stale`` picks every photo tagged by another backend, model or prompt than the running
daemon's, or by the embedded fallback while the VLM was down."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from phototag.cli.daemon_call import add_json_flag, render_mapping, run_remote


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("retag", help="queue photos to be tagged again")
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="photos or folders inside a watched root",
    )
    parser.add_argument(
        "--stale", action="store_true", help="also every photo tagged under another model or prompt"
    )
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.paths and not args.stale:
        print("tagctl retag: give PATH... or --stale", file=sys.stderr)
        return 2
    paths = [os.path.abspath(p) for p in args.paths]
    return run_remote(args, "retag", {"paths": paths, "stale": args.stale}, render=render_mapping)
