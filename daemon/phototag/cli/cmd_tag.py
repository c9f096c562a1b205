"""tagctl tag FILE: tag one photo now, in the foreground, and print what was written."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from phototag.cli.daemon_call import add_json_flag, run_remote
from phototag.states import Status

TAG_TIMEOUT_S = 900.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("tag", help="tag one photo now and print the result")
    parser.add_argument("file", type=Path, metavar="FILE")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def render(record: Any) -> str:
    if not isinstance(record, dict):
        return str(record)
    lines = []
    for key, value in record.items():
        if value in (None, "", [], {}):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        lines.append(f"{key}: {shown}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    path = os.path.abspath(args.file)
    if not os.path.isfile(path):
        print(f"tagctl: {path}: no such file", file=sys.stderr)
        return 2
    return run_remote(
        args,
        "tag",
        {"path": path},
        render=render,
        timeout_s=TAG_TIMEOUT_S,
        problem=lambda record: isinstance(record, dict) and record.get("status") == Status.FAILED,
    )
