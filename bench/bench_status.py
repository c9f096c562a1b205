"""``tagctl status`` on an index of one million rows (target: under 0.3 s, wall).

    .venv/bin/python bench/bench_status.py [--quick] [--json FILE]

Fills a fresh index (schema from phototag.store.queue.Index) in one SQL transaction: 95 % done
with a short result, 2 % queued, 2 % failed, 1 % deleted, finished over the last year,
some in the last hour. Times the real command (``python -m phototag.cli.tagctl status``,
a new interpreter each run, median of 7), the bare interpreter start-up as reference, the
in-process ``collect_status`` and each query it makes.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import PYTHON, Report, median_time, parser
from phototag.reporting.status import collect_status
from phototag.store.queue import Index
from phototag.store.reader import IndexReader

RESULT = json.dumps(
    {
        "title": "A tabby cat",
        "caption": "A cat on a sofa.",
        "description": "",
        "alt_text": "",
        "keywords": ["cat", "sofa", "indoor"],
        "hierarchical": [],
    }
)


def fill(path: Path, rows: int) -> None:
    Index(path).close()
    rng = random.Random(7)
    now = time.time()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")

    def gen():  # type: ignore[no-untyped-def]
        for i in range(rows):
            r = rng.random()
            status = (
                "done"
                if r < 0.95
                else "queued"
                if r < 0.97
                else "failed"
                if r < 0.99
                else "deleted"
            )
            finished = now - (rng.random() * 3600 if i % 1000 == 0 else rng.random() * 3.15e7)
            yield (
                f"/home/u/Pictures/{i // 1000:04d}/IMG_{i:07d}.jpg".encode(),
                8_000_000 + i,
                1_700_000_000_000_000_000 + i,
                status,
                RESULT if status == "done" else None,
                "cannot decode the image" if status == "failed" else None,
                finished - 5,
                None if status == "queued" else finished,
                finished,
            )

    db.executemany(
        "INSERT INTO files (path, size, mtime_ns, status, result, last_error, queued_at, "
        "finished_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        gen(),
    )
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('daemon', ?)",
        (
            json.dumps(
                {
                    "pid": 1,
                    "heartbeat_at": now - 100,
                    "stopped_at": now - 100,
                    "started_at": now - 9000,
                    "backend": "local",
                    "model": "x",
                }
            ),
        ),
    )
    db.execute("COMMIT")
    db.close()


def timed_run(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    args = parser(__doc__).parse_args()
    rows = 100_000 if args.quick else 1_000_000
    report = Report(f"4. tagctl status on an index of {rows:,} rows")
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        index = state / "index.sqlite3"
        t0 = time.perf_counter()
        fill(index, rows)
        report.row(
            "setup",
            f"{rows:,} rows, {index.stat().st_size / 1e6:.0f} MB "
            f"({time.perf_counter() - t0:.0f} s)",
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PHOTOTAG_")},
            "PHOTOTAG_STATE_DIR": str(state),
            "XDG_CONFIG_HOME": str(Path(tmp) / "cfg"),
        }
        commands = {
            "python -c pass (interpreter start-up)": [PYTHON, "-c", "pass"],
            "python -c 'import phototag.cli.tagctl'": [PYTHON, "-c", "import phototag.cli.tagctl"],
            "tagctl status": [PYTHON, "-m", "phototag.cli.tagctl", "status"],
            "tagctl status --json": [PYTHON, "-m", "phototag.cli.tagctl", "status", "--json"],
        }
        timed_run(commands["tagctl status"], env)  # warm the page cache
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(7):
            for name, cmd in commands.items():
                times[name].append(timed_run(cmd, env))
        med = {name: statistics.median(v) for name, v in times.items()}
        for name, value in med.items():
            report.row(f"{name} (wall, median of 7)", f"{value * 1000:6.0f} ms")
        reader = IndexReader.open(index)
        report.row(
            "in-process collect_status (median of 7)",
            f"{median_time(lambda: collect_status(reader), repeat=7) * 1000:6.1f} ms",
        )
        now = time.time()
        for name, call in (
            ("  counts()", reader.counts),
            ("  done_since(last hour)", lambda: reader.done_since(now - 3600)),
            ("  records(failed, 5)", lambda: reader.records(status="failed", limit=5)),
        ):
            report.row(name, f"{median_time(call, repeat=7) * 1000:6.1f} ms")
        reader.close()
        report.target("tagctl status wall time", med["tagctl status"], 0.3, unit=" s")
    report.save(args.json)


if __name__ == "__main__":
    main()
