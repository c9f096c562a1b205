"""tagctl report --html FILE [--since DURATION|DATE] [--status S...] [PATH...]: a review page.

One self-contained HTML page (see :mod:`phototag.reporting.html`): totals, a keyword
chart, then each selected photo, failures first, with its thumbnail, title, caption,
description and keywords (the person's own marked apart from phototag's), notes and any
failure reason. Thumbnails go in ``<FILE stem>_files/`` beside the page; the originals are
never copied or changed. Reads the index read-only: the daemon may run or not.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from phototag.config import load_settings
from phototag.states import Status

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report", help="write a review page: each photo's thumbnail beside its tags"
    )
    parser.add_argument(
        "--html", type=Path, required=True, metavar="FILE", help="the page to write"
    )
    parser.add_argument(
        "--since",
        metavar="DURATION|DATE",
        help="only photos finished since then: 2h, 3d, 1w, or 2026-11-30[T08:00]",
    )
    parser.add_argument(
        "--status",
        action="extend",
        type=_statuses,
        metavar="S[,S...]",
        help=f"the states to include, repeatable ({', '.join(Status)}; default: done,failed)",
    )
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")
    parser.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="only photos at or under these"
    )
    parser.set_defaults(func=run)


def _statuses(text: str) -> list[Status]:
    """``--status failed`` or ``--status done,failed``: a list (not nargs, so a PATH after
    it stays a PATH)."""
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    known = {status.value for status in Status}
    unknown = [s for s in wanted if s not in known]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(
            f"not a status: {', '.join(unknown) or text!r} (known: {', '.join(Status)})"
        )
    return [Status(s) for s in wanted]


def parse_since(text: str, *, now_s: float) -> float:
    """A time as epoch seconds: ``now_s`` less a duration (``90m``, ``2h``, ``1d12h``,
    ``1w``), or a local ISO date or date-time. Pure; ValueError if it is neither."""
    spec = text.strip().lower()
    if spec and _DURATION.sub("", spec).strip() == "":
        return now_s - sum(float(n) * _UNIT_S[u] for n, u in _DURATION.findall(spec))
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ValueError(
            f"--since {text!r}: not a duration (2h, 3d, 1w) nor a date (2026-11-30)"
        ) from None


def run(args: argparse.Namespace) -> int:
    from phototag.reporting.html import write_page
    from phototag.store.reader import IndexReader

    settings = load_settings(config_file=args.config)
    try:
        since = parse_since(args.since, now_s=time.time()) if args.since else None
    except ValueError as exc:
        print(f"tagctl: {exc}", file=sys.stderr)
        return 2
    try:
        reader = IndexReader.open(settings.index_path)
    except FileNotFoundError:
        print(f"tagctl: no index yet at {settings.index_path}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        records = reader.select(
            statuses=args.status or (Status.DONE, Status.FAILED),
            since=since,
            under=[Path(os.path.abspath(p)) for p in args.paths],
        )
        totals, top = reader.counts(), reader.top_keywords(50)
    finally:
        reader.close()
    page = Path(os.path.abspath(args.html))
    stats = write_page(
        page,
        records,
        heading="phototag review",
        totals=totals,
        keyword_counts=top,
        metadata=settings.metadata,
    )
    if args.json:
        print(json.dumps({"page": str(page), **dataclasses.asdict(stats)}))
        return 0
    print(
        f"tagctl: wrote {page}: {stats.photos} photo(s), {stats.page_bytes / 1000:.0f} kB; "
        f"thumbnails in {page.stem}_files/ ({stats.thumbs_made} made, "
        f"{stats.thumbs_reused} reused) in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0
