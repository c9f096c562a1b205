"""tagctl resume: take jobs again after ``pause``."""

from __future__ import annotations

import argparse
from typing import Any

from phototag.cli.daemon_call import add_json_flag, run_remote


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("resume", help="resume tagging after pause")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_remote(args, "resume", render=lambda _result: "resumed")
