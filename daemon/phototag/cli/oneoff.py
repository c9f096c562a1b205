"""The one-off flags ``phototagd`` and ``tagctl backfill`` share: this run's backend,
model, server, prompt profile, keyword cap and language, and how long a one-shot run
waits for a backend that is down.

They are the highest layer of the documented precedence (defaults < config file <
``PHOTOTAG_*`` environment < command line) and hold for this run only; ``--print-config``
shows the result.
"""

from __future__ import annotations

import argparse
from typing import Any

DEFAULT_MAX_WAIT_S = 300.0


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Add the one-off flags (``--backend`` too) to a command's parser."""
    parser.add_argument("--backend", choices=("local", "openai"), help="tagging backend")
    parser.add_argument("--model", help="the VLM model ([vlm] model)")
    parser.add_argument("--base-url", dest="base_url", help="the VLM server ([vlm] base_url)")
    parser.add_argument("--profile", help="the prompt profile ([vlm] profile)")
    parser.add_argument(
        "--max-keywords", dest="max_keywords", type=int, help="keywords at most (max_keywords)"
    )
    parser.add_argument("--language", help="language of the tags ([vlm] language)")
    parser.add_argument(
        "--max-wait-s",
        dest="max_wait_s",
        type=float,
        default=DEFAULT_MAX_WAIT_S,
        help="one-shot runs: give up (exit 1, photos stay queued) when the backend has "
        f"been unavailable this long (default {DEFAULT_MAX_WAIT_S:.0f})",
    )


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings these flags give, nested as the config file is (None: not given)."""
    vlm = {
        "model": args.model,
        "base_url": args.base_url,
        "profile": args.profile,
        "language": args.language,
    }
    return {
        "backend": args.backend,
        "max_keywords": args.max_keywords,
        "vlm": {k: v for k, v in vlm.items() if v is not None} or None,
    }
