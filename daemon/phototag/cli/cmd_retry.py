"""tagctl retry [--failed]: run jobs waiting for a retry now; ``--failed`` re-queues failures."""

from __future__ import annotations

import argparse
from typing import Any

from phototag.cli.daemon_call import add_json_flag, render_mapping, run_remote


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("retry", help="retry waiting jobs now")
    parser.add_argument(
        "--failed", action="store_true", help="also queue again the photos that failed for good"
    )
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_remote(args, "retry", {"failed": args.failed}, render=render_mapping)
