"""tagctl search QUERY...: find photos by keyword, title, caption or description.

Reads the index read-only (SQLite FTS5), so it answers whether the daemon runs or not.
QUERY is FTS5's query language: words (all must match), ``OR``, ``NOT``, ``AND``,
parentheses, ``"quoted phrases"`` (quote them from the shell too), ``prefix*`` and
``column:word`` for one of title, caption, description, keywords.

Output: matching paths one a line, the photo indexed last first; ``-0`` separates them with NUL for
``xargs -0``; ``--json`` prints one JSON record a line. Exit codes like grep: 0 something
matched, 1 nothing did, 2 a usage error (a query FTS5 cannot parse, no index yet).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from typing import Any

from phototag.paths import index_path_fast
from phototag.store.reader import IndexReader
from phototag.store.search import fts_query


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "search", help="find photos by keyword, title, caption or description (exit 1: none)"
    )
    parser.add_argument("query", nargs="+", metavar="QUERY", help='words, OR, NOT, "phrases"')
    out = parser.add_mutually_exclusive_group()
    out.add_argument("-0", "--null", action="store_true", help="NUL-separated paths")
    out.add_argument("--json", action="store_true", help="one JSON record a line")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N photos, the newest first")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        match = fts_query(args.query)
    except ValueError as exc:
        print(f"tagctl: {exc}", file=sys.stderr)
        return 2
    # as tagctl status: the full settings (pydantic, ~0.2 s to import) only when needed
    index_path = index_path_fast(args.config)
    if index_path is None:
        from phototag.config import load_settings

        index_path = load_settings(config_file=args.config).index_path
    try:
        reader = IndexReader.open(index_path)
    except FileNotFoundError:
        print(f"tagctl: no index yet at {index_path}", file=sys.stderr)
        return 2
    try:
        if args.json:
            found: list[Any] = reader.search(match, limit=args.limit)
            lines = [json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in found]
            sys.stdout.writelines(lines)
        else:
            found = reader.search_paths(match, limit=args.limit)
            end = b"\0" if args.null else b"\n"
            sys.stdout.flush()
            sys.stdout.buffer.write(b"".join(os.fsencode(p) + end for p in found))
            sys.stdout.buffer.flush()
    except sqlite3.OperationalError as exc:
        print(f"tagctl: cannot search for {match!r}: {exc}", file=sys.stderr)
        return 2
    finally:
        reader.close()
    return 0 if found else 1
