"""tagctl: ask phototag what it is doing, and tell it what to do.

The thin verbs, one call to the daemon each, are rows of ``phototag.cli.verbs.THIN``; every
other verb lives in its own module ``phototag.cli.cmd_<verb>`` exposing
``register(subparsers)``. The parser a verb adds sets ``func(args) -> int``.

Exit codes: 0 success, 1 the verb ran and found a problem (failed files, unhealthy
backend), 2 usage or configuration error, 3 the daemon is not running (for verbs that
need it).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from phototag import __version__
from phototag.cli.verbs import THIN
from phototag.cli.verbs import register as register_thin
from phototag.errors import ConfigError

VERBS = (
    "status",
    "pause",
    "resume",
    "rescan",
    "retry",
    "retag",
    "preflight",
    "tag",
    "list",
    "service",
    "show",
    "scan",
    "backfill",
    "apply",
    "search",
    "report",
    "history",
    "undo",
)


def build_parser(verbs: tuple[str, ...] = VERBS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tagctl", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tagctl {__version__}")
    parser.add_argument("--config", type=Path, help="config file (default: XDG config path)")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb in verbs:
        if verb in THIN:
            register_thin(sub, verb)
        else:
            importlib.import_module(f"phototag.cli.cmd_{verb}").register(sub)
    return parser


def verbs_needed(argv: list[str]) -> tuple[str, ...]:
    """Only the verb being run is imported (tagctl status stays fast); all for help."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif word in VERBS:
            return (word,)
        elif not word.startswith("--config="):
            break
    return VERBS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(verbs_needed(argv)).parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"tagctl: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
