"""tagctl pause: stop taking new jobs (nothing queued is dropped); ``resume`` undoes it."""

from __future__ import annotations

import argparse
from typing import Any

from phototag.cli.daemon_call import add_json_flag, run_remote


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("pause", help="stop tagging until resumed (queue is kept)")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_remote(args, "pause", render=lambda _result: "paused")
