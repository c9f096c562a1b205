"""tagctl rescan [PATH]: walk the watched folders (or one folder or file) for missed photos."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from phototag.cli.daemon_call import add_json_flag, render_mapping, run_remote


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("rescan", help="look again for new or changed photos")
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        help="a folder or file inside a watched root (default: all roots)",
    )
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    verb_args = {"path": os.path.abspath(args.path)} if args.path else {}
    return run_remote(args, "rescan", verb_args, render=render_mapping)
