"""``tagctl search`` on the 1,000,000-row index of bench_status.py (target: under 0.5 s).

    .venv/bin/python bench/bench_search.py [--quick] [--json FILE]

The index is bench_status's (95 % done, every result "A tabby cat ... cat, sofa, indoor"),
so "cat" matches 950,000 rows; one row in a thousand is then re-tagged "A red car by the
sea" (its FTS row replaced by the trigger) for a selective query. Times the real command
(a new interpreter each run, median of 5) and the in-process query.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench_status import fill
from common import PYTHON, Report, median_time, parser
from phototag.store.reader import IndexReader
from phototag.store.search import fts_query

CAR = json.dumps(
    {"title": "A red car", "caption": "A red car by the sea.", "keywords": ["car", "sea"]}
)


def timed_run(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True)
    return time.perf_counter() - t0, out.stdout.count(b"\n")


def main() -> None:
    args = parser(__doc__).parse_args()
    rows = 100_000 if args.quick else 1_000_000
    report = Report(f"12. tagctl search on an index of {rows:,} rows")
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        index = state / "index.sqlite3"
        t0 = time.perf_counter()
        fill(index, rows)
        db = sqlite3.connect(index, isolation_level=None)
        db.execute("UPDATE files SET result=? WHERE id % 1000 = 7 AND status='done'", (CAR,))
        db.close()
        report.row(
            "setup (fill with FTS triggers, 0.1 % re-tagged)",
            f"{rows:,} rows, {index.stat().st_size / 1e6:.0f} MB "
            f"({time.perf_counter() - t0:.0f} s)",
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PHOTOTAG_")},
            "PHOTOTAG_STATE_DIR": str(state),
            "XDG_CONFIG_HOME": str(Path(tmp) / "cfg"),
        }
        tagctl = [PYTHON, "-m", "phototag.cli.tagctl", "search"]
        references = {
            "python -c pass (interpreter start-up)": [PYTHON, "-c", "pass"],
            "tagctl status (section 4's command)": [PYTHON, "-m", "phototag.cli.tagctl", "status"],
        }
        for name, cmd in references.items():
            spent = statistics.median(timed_run(cmd, env)[0] for _ in range(5))
            report.row(f"{name} (wall, median of 5)", f"{spent * 1000:6.0f} ms")
        queries = {
            "search giraffe (no match)": ["giraffe"],
            'search "red car" (phrase, ~950 matches)': ['"red car"'],
            "search sea* NOT cat (~950 matches)": ["sea*", "NOT", "cat"],
            "search cat --limit 20 (of ~950,000)": ["cat", "--limit", "20"],
            "search cat (all ~950,000 paths)": ["cat"],
        }
        timed_run([*tagctl, "cat"], env)  # warm the page cache
        med: dict[str, float] = {}
        for name, words in queries.items():
            runs = [timed_run([*tagctl, *words], env) for _ in range(5)]
            med[name] = statistics.median(t for t, _ in runs)
            report.row(
                f"{name} (wall, median of 5)", f"{med[name] * 1000:6.0f} ms, {runs[0][1]:,} lines"
            )
        reader = IndexReader.open(index)
        for label, words in (
            ("red car", ['"red car"']),
            ("cat LIMIT 20", ["cat"]),
            ("giraffe", ["giraffe"]),
        ):
            match, limit = fts_query(words), 20 if "LIMIT" in label else None

            def query(match: str = match, limit: int | None = limit) -> None:
                reader.search_paths(match, limit=limit)

            spent = median_time(query, repeat=5)
            report.row(f"  in-process search_paths({label})", f"{spent * 1000:6.1f} ms")
        reader.close()
        report.target(
            "tagctl search, selective phrase",
            med['search "red car" (phrase, ~950 matches)'],
            0.5,
            unit=" s",
        )
    report.save(args.json)


if __name__ == "__main__":
    main()
