"""tagctl list --status S: the photos in one state (failed, queued, tagged, ...)."""

from __future__ import annotations

import argparse
from typing import Any

from phototag.cli.daemon_call import add_json_flag, run_remote


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("list", help="list photos by status")
    parser.add_argument("--status", default="failed", help="which status to list (default: failed)")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def render(records: Any) -> str:
    if not isinstance(records, list):
        return str(records)
    lines = []
    for record in records:
        if not isinstance(record, dict):
            lines.append(str(record))
            continue
        line = f"{record.get('status', '?'):<8} {record.get('path', '?')}"
        if record.get("error"):
            line += f"  ({record['error']})"
        lines.append(line)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    return run_remote(args, "list", {"status": args.status}, render=render)
