"""The thin tagctl verbs: one request to the running daemon, its answer printed.

Each is a row of :data:`THIN`: its arguments, the request it sends and how the answer is
shown. The verbs that do more than that (read the index, walk folders, render pages) keep
their own ``cmd_<verb>`` module.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phototag.cli.daemon_call import EXIT_USAGE, add_json_flag, render_mapping, run_remote

PREFLIGHT_TIMEOUT_S = 180.0
Request = Callable[[argparse.Namespace], dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Thin:
    """A verb that is one call to the daemon."""

    help: str
    request: Request = lambda _args: None
    arguments: Callable[[argparse.ArgumentParser], None] = lambda _parser: None
    render: Callable[[Any], str] = render_mapping
    problem: Callable[[Any], bool] = lambda _result: False
    timeout_s: float = 5.0
    usage: Callable[[argparse.Namespace], str | None] = lambda _args: None  # what is missing


def render_records(records: Any) -> str:
    """``tagctl list``: one photo a line, its status and its error."""
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


def render_health(health: Any) -> str:
    """``tagctl preflight``: the verdict and how long each probe took."""
    if not isinstance(health, dict):
        return str(health)
    verdict = "backend ok" if health.get("ok") else f"backend unhealthy: {health.get('reason')}"
    probes = health.get("probes_s") or {}
    timings = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in probes.items())
    return f"{verdict} ({timings})" if timings else verdict


def _rescan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        help="a folder or file inside a watched root (default: all roots)",
    )


def _retry_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--failed", action="store_true", help="also queue again the photos that failed for good"
    )


def _retag_arguments(parser: argparse.ArgumentParser) -> None:
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


def _list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", default="failed", help="which status to list (default: failed)")


THIN: dict[str, Thin] = {
    "pause": Thin(
        help="stop tagging until resumed (queue is kept)", render=lambda _result: "paused"
    ),
    "resume": Thin(help="resume tagging after pause", render=lambda _result: "resumed"),
    "rescan": Thin(
        help="look again for new or changed photos",
        arguments=_rescan_arguments,
        request=lambda args: {"path": os.path.abspath(args.path)} if args.path else {},
    ),
    "retry": Thin(
        help="retry waiting jobs now",
        arguments=_retry_arguments,
        request=lambda args: {"failed": args.failed},
    ),
    # --stale: every photo tagged by another backend, model or prompt than the running
    # daemon's, or by the embedded fallback while the VLM was down
    "retag": Thin(
        help="queue photos to be tagged again",
        arguments=_retag_arguments,
        request=lambda args: {
            "paths": [os.path.abspath(p) for p in args.paths],
            "stale": args.stale,
        },
        usage=lambda args: None if args.paths or args.stale else "give PATH... or --stale",
    ),
    "list": Thin(
        help="list photos by status",
        arguments=_list_arguments,
        request=lambda args: {"status": args.status},
        render=render_records,
    ),
    "preflight": Thin(
        help="check the backend now (exit 1 if not ok)",
        render=render_health,
        timeout_s=PREFLIGHT_TIMEOUT_S,
        problem=lambda health: not (isinstance(health, dict) and health.get("ok")),
    ),
}


def register(subparsers: Any, verb: str) -> None:
    """Add ``verb``'s parser; running it sends the row's request."""
    thin = THIN[verb]
    parser = subparsers.add_parser(verb, help=thin.help)
    thin.arguments(parser)
    add_json_flag(parser)
    parser.set_defaults(func=lambda args: run(args, verb))


def run(args: argparse.Namespace, verb: str) -> int:
    thin = THIN[verb]
    missing = thin.usage(args)
    if missing:
        print(f"tagctl {verb}: {missing}", file=sys.stderr)
        return EXIT_USAGE
    return run_remote(
        args,
        verb,
        thin.request(args),
        render=thin.render,
        problem=thin.problem,
        timeout_s=thin.timeout_s,
    )
