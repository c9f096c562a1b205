"""tagctl history: the runs phototag made, one line each, to compare them.

Reads ``history.jsonl`` in the state folder (one entry per run: backend, model, profile,
photos tagged and failed, rate, p50/p95 latency; see :mod:`phototag.reporting.history`).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from phototag.config import load_settings
from phototag.reporting.history import HISTORY_NAME, read_runs, render_runs


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("history", help="the runs so far: backend, counts, rates")
    parser.add_argument("--json", action="store_true", help="one JSON record a line")
    parser.add_argument(
        "--limit", type=int, default=20, metavar="N", help="the last N runs (0: all; default 20)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(config_file=args.config)
    runs = read_runs(settings.state_dir / HISTORY_NAME)
    if args.limit > 0:
        runs = runs[-args.limit :]
    if args.json:
        for entry in runs:
            print(json.dumps(entry, ensure_ascii=False))
    else:
        print(render_runs(runs))
    return 0
