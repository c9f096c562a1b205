"""tagctl preflight: check the tagging backend now; exit 1 when it is unhealthy."""

from __future__ import annotations

import argparse
from typing import Any

from phototag.cli.daemon_call import add_json_flag, run_remote

PREFLIGHT_TIMEOUT_S = 180.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("preflight", help="check the backend now (exit 1 if not ok)")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def render(health: Any) -> str:
    if not isinstance(health, dict):
        return str(health)
    verdict = "backend ok" if health.get("ok") else f"backend unhealthy: {health.get('reason')}"
    probes = health.get("probes_s") or {}
    timings = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in probes.items())
    return f"{verdict} ({timings})" if timings else verdict


def run(args: argparse.Namespace) -> int:
    return run_remote(
        args,
        "preflight",
        render=render,
        timeout_s=PREFLIGHT_TIMEOUT_S,
        problem=lambda health: not (isinstance(health, dict) and health.get("ok")),
    )
