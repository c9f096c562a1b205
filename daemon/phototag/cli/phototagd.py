"""phototagd: watch folders and tag every photo that arrives.

Exit codes: 0 clean stop (or --once with no failures), 1 --once finished with failures,
2 invalid configuration or usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from loguru import logger

from phototag import __version__
from phototag.config import Settings, load_settings
from phototag.errors import ConfigError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="phototagd", description=__doc__.splitlines()[0])
    p.add_argument(
        "roots",
        nargs="*",
        type=Path,
        metavar="FOLDER",
        help="folders to watch (default: the config's roots, else ~/Pictures/Inbox)",
    )
    p.add_argument("--version", action="version", version=f"phototagd {__version__}")
    p.add_argument("--config", type=Path, help="config file (default: XDG config path)")
    p.add_argument("--backend", choices=("local", "openai"))
    p.add_argument("--workers", type=int)
    p.add_argument("--debounce-s", type=float, dest="debounce_s")
    p.add_argument("--state-dir", type=Path, dest="state_dir")
    p.add_argument(
        "--log-level",
        dest="log_level",
        choices=("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR"),
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        default=None,
        dest="dry_run",
        help="tag and record, but write nothing into any photo or sidecar",
    )
    p.add_argument(
        "--once", action="store_true", help="process everything pending under the roots, then exit"
    )
    p.add_argument(
        "--print-config",
        action="store_true",
        help="print the effective configuration (secrets redacted) and exit",
    )
    return p


def cli_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {
        "backend": args.backend,
        "workers": args.workers,
        "debounce_s": args.debounce_s,
        "state_dir": args.state_dir,
        "log_level": args.log_level,
        "dry_run": args.dry_run,
    }
    if args.roots:
        overrides["roots"] = args.roots
    return overrides


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(config_file=args.config, cli=cli_overrides(args))
    except ConfigError as exc:
        print(f"phototagd: {exc}", file=sys.stderr)
        return 2
    if args.print_config:
        print(json.dumps(settings.redacted(), indent=2, ensure_ascii=False))
        return 0
    return run(settings, once=args.once)


def run(settings: Settings, *, once: bool) -> int:
    from phototag.daemon import Daemon

    _setup_logging(settings.log_level)
    try:
        daemon = Daemon(settings, once=once)
    except ConfigError as exc:
        logger.error("{}", exc)
        return 2
    return daemon.run()


def _setup_logging(level: str) -> None:
    try:
        from phototag.logsetup import setup_logging
    except ImportError:
        logger.remove()
        logger.add(sys.stderr, level=level)
        return
    setup_logging(level=level)


if __name__ == "__main__":
    sys.exit(main())
