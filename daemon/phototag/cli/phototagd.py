"""phototagd: watch folders and tag every photo that arrives.

Exit codes: 0 clean stop (or --once with no failures), 1 --once finished with failures,
2 invalid configuration or usage, or another phototag already works on this index.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from loguru import logger

from phototag import __version__
from phototag.cli.oneoff import DEFAULT_MAX_WAIT_S, add_flags
from phototag.cli.oneoff import overrides as one_off_overrides
from phototag.config import Settings, load_settings
from phototag.errors import ConfigError, IndexLocked
from phototag.runtime.lock import IndexLock
from phototag.runtime.logsetup import setup_logging


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
    add_flags(p)
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
        "--overwrite",
        action="store_true",
        help="for this run, replace a title or description a person wrote, even one they "
        "changed after phototag wrote it",
    )
    p.add_argument(
        "--once",
        action="store_true",
        help="process everything pending under the roots, print a summary and exit "
        "(exit code 1 if anything failed)",
    )
    p.add_argument(
        "--print-config",
        action="store_true",
        help="print the effective configuration (secrets redacted) and exit",
    )
    return p


def cli_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {
        **one_off_overrides(args),
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
        settings = settings_from(args)
    except ConfigError as exc:
        print(f"phototagd: {exc}", file=sys.stderr)
        return 2
    if args.print_config:
        print(json.dumps(settings.redacted(), indent=2, ensure_ascii=False))
        return 0
    if args.once:
        return run_once(settings, max_wait_s=args.max_wait_s)
    return run(settings, reload=lambda: settings_from(args))


def settings_from(args: argparse.Namespace) -> Settings:
    """The effective settings for these arguments (again on SIGHUP: the file may change)."""
    settings = load_settings(config_file=args.config, cli=cli_overrides(args))
    if args.overwrite:
        settings = settings.overwrite_for_this_run()
    return settings


def run(settings: Settings, *, reload: Callable[[], Settings] | None = None) -> int:
    from phototag.runtime.daemon import Daemon

    setup_logging(level=settings.log_level)
    try:
        daemon = Daemon(settings, reload=reload)
    except (ConfigError, IndexLocked) as exc:
        logger.error("{}", exc)
        return 2
    return daemon.run()


def run_once(
    settings: Settings,
    *,
    scope: Sequence[Path] = (),
    lock: IndexLock | None = None,
    max_wait_s: float = DEFAULT_MAX_WAIT_S,
) -> int:
    """Process everything pending (under ``scope``, default the roots) and exit: a progress
    bar on a terminal, a summary line at the end; 1 if anything failed, or if the backend
    stayed unavailable for ``max_wait_s`` (what is left stays queued); 2 if another
    phototag holds the index (``lock``: the caller took it already)."""
    from phototag.reporting.progress import ProgressBar, summary_line
    from phototag.runtime.daemon import Daemon

    bar = ProgressBar(sys.stderr)
    quiet = sys.stderr.isatty() and settings.log_level == "INFO"  # let the bar be read
    setup_logging(level="WARNING" if quiet else settings.log_level)
    try:
        daemon = Daemon(
            settings, once=True, scope=scope, progress=bar, lock=lock, max_wait_s=max_wait_s
        )
    except IndexLocked as exc:
        print(f"phototagd: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        logger.error("{}", exc)
        return 2
    code = daemon.run()
    print(summary_line(daemon.run_summary()), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
