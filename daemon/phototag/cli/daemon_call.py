"""What the tagctl verbs that talk to a running phototagd share: the call, output, exit code."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from phototag.errors import DaemonError, DaemonNotRunning
from phototag.escape import printable_data
from phototag.paths import socket_path_fast
from phototag.runtime.control_client import call

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, EXIT_NOT_RUNNING = 0, 1, 2, 3


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")


def emit(result: Any, *, as_json: bool, render: Callable[[Any], str]) -> None:
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    else:  # names on a terminal: control characters escaped (JSON keeps them exact)
        text = render(printable_data(result))
        if text:
            print(text)


def run_remote(
    args: argparse.Namespace,
    verb: str,
    verb_args: dict[str, Any] | None = None,
    *,
    render: Callable[[Any], str],
    problem: Callable[[Any], bool] = lambda result: False,
    timeout_s: float = 5.0,
) -> int:
    """Run ``verb`` in the daemon, print its answer; the tagctl exit code.

    ``problem(result)`` True means the verb ran but found something wrong (exit 1).
    """
    socket_path = socket_path_fast(args.config)
    if socket_path is None:  # only the full settings can say (and explain what is wrong)
        from phototag.config import load_settings

        socket_path = load_settings(config_file=args.config).socket_path
    try:
        result = call(socket_path, verb, verb_args, timeout_s=timeout_s)
    except DaemonNotRunning as exc:
        return _fail(
            args,
            f"{exc}; start it with: systemctl --user start phototag",
            kind="not-running",
            code=EXIT_NOT_RUNNING,
        )
    except DaemonError as exc:
        return _fail(
            args, str(exc), kind=exc.kind, code=EXIT_USAGE if exc.kind == "usage" else EXIT_PROBLEM
        )
    emit(result, as_json=args.json, render=render)
    return EXIT_PROBLEM if problem(result) else EXIT_OK


def _fail(args: argparse.Namespace, message: str, *, kind: str, code: int) -> int:
    if args.json:
        print(json.dumps({"error": message, "kind": kind}))
    print(f"tagctl: {message}", file=sys.stderr)
    return code


def render_mapping(result: Any) -> str:
    """``key: value`` lines for a dict, the value itself otherwise."""
    if isinstance(result, dict):
        return "\n".join(f"{key}: {value}" for key, value in result.items())
    return "" if result is None else str(result)
