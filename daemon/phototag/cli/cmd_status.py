"""tagctl status: what the daemon is doing, read from the index (works while it is down)."""

from __future__ import annotations

import argparse
import json

from phototag.escape import printable_data
from phototag.paths import index_path_fast
from phototag.reporting.status import collect_status, render_status
from phototag.store.reader import IndexReader


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="daemon, backend, queue and recent errors")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    index_path = index_path_fast(args.config)
    if index_path is None:  # only the full settings can say (and explain what is wrong)
        from phototag.config import load_settings

        index_path = load_settings(config_file=args.config).index_path
    try:
        reader = IndexReader.open(index_path)
    except FileNotFoundError:
        status = {"running": False, "index": None, "message": "no index yet: phototagd never ran"}
        print(json.dumps(status) if args.json else f"phototagd: never ran ({index_path})")
        return 3
    try:
        status = collect_status(reader)
    finally:
        reader.close()
    if args.json:
        print(json.dumps(status, indent=2, ensure_ascii=False))
    else:  # names on a terminal: control characters escaped (JSON keeps them exact)
        print(render_status(printable_data(status)))
    health = status.get("health")
    healthy = health.get("ok", True) if isinstance(health, dict) else True
    return 0 if not status["running"] or healthy else 1
