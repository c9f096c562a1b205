"""The index as sqlitedict (the listed dependency) against plain sqlite3 (what phototag uses).

    .venv/bin/python bench/bench_sqlitedict.py [--quick] [--json FILE]

The same records (path -> status, size, mtime, hash, a short result) are stored both
ways: phototag's ``files`` table (Index schema, one transaction) and a SqliteDict with
JSON values (its documented ``encode=json.dumps``). Measured: the fill; counting records
by status (``IndexReader.counts()`` against iterating the dict's values, and against SQL
on sqlitedict's blob with ``json_extract``, which bypasses the library); the rate of
single-record updates each committed (the daemon commits once per finished photo) under
each durability setting; and the synchronous level each actually runs with.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from sqlitedict import SqliteDict

from common import Report, median_time, parser
from phototag.store.queue import Index
from phototag.store.reader import IndexReader

STATUSES = ("done",) * 95 + ("queued", "queued", "failed", "failed", "deleted")
SYNC = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def records(n: int) -> Iterator[tuple[bytes, dict[str, object]]]:
    for i in range(n):
        yield (
            f"/home/u/Pictures/{i // 1000:04d}/IMG_{i:07d}.jpg".encode(),
            {
                "status": STATUSES[i % 100],
                "size": 8_000_000 + i,
                "mtime_ns": i,
                "sha256": f"{i:064x}",
                "result": {"title": "A tabby cat", "keywords": ["cat", "sofa"]},
            },
        )


def fill_sqlite3(path: Path, n: int) -> float:
    Index(path).close()
    t0 = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO files (path, size, mtime_ns, sha256, status, result, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, 0)",
        (
            (k, v["size"], v["mtime_ns"], v["sha256"], v["status"], json.dumps(v["result"]))
            for k, v in records(n)
        ),
    )
    db.execute("COMMIT")
    db.close()
    return time.perf_counter() - t0


def fill_sqlitedict(path: Path, n: int) -> float:
    t0 = time.perf_counter()
    with SqliteDict(str(path), encode=json.dumps, decode=json.loads) as d:
        d.update((k.decode(), v) for k, v in records(n))
        d.commit()
    return time.perf_counter() - t0


def commits_sqlite3(path: Path, n: int, *, synchronous: str) -> tuple[float, str]:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    level = SYNC[db.execute("PRAGMA synchronous").fetchone()[0]]
    t0 = time.perf_counter()
    for i in range(1, n + 1):
        db.execute("UPDATE files SET status='done', updated_at=? WHERE id=?", (time.time(), i))
    spent = time.perf_counter() - t0
    db.close()
    return n / spent, level


def commits_sqlitedict(path: Path, n: int, *, journal_mode: str) -> tuple[float, str]:
    keys = [k.decode() for k, _ in records(n)]
    with SqliteDict(
        str(path), encode=json.dumps, decode=json.loads, journal_mode=journal_mode
    ) as d:
        level = SYNC[d.conn.select_one("PRAGMA synchronous")[0]]
        t0 = time.perf_counter()
        for key in keys:
            value = d[key]
            value["status"] = "done"
            d[key] = value
            d.commit(blocking=True)
        spent = time.perf_counter() - t0
    return n / spent, level


def main() -> None:
    args = parser(__doc__).parse_args()
    n, updates = (100_000, 300) if args.quick else (1_000_000, 1000)
    report = Report(f"8. Index as sqlitedict vs plain sqlite3, {n:,} records")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ours, theirs = tmp / "index.sqlite3", tmp / "dict.sqlite"
        fill_a, fill_b = fill_sqlite3(ours, n), fill_sqlitedict(theirs, n)
        report.row(
            "fill, sqlite3 (phototag schema and indexes)",
            f"{fill_a:.1f} s, {ours.stat().st_size / 1e6:.0f} MB",
        )
        report.row(
            "fill, sqlitedict (json values)",
            f"{fill_b:.1f} s, {theirs.stat().st_size / 1e6:.0f} MB",
        )
        reader = IndexReader.open(ours)
        count_a = median_time(reader.counts, repeat=5)
        expected = reader.counts()
        reader.close()
        with SqliteDict(str(theirs), flag="r", encode=json.dumps, decode=json.loads) as d:
            t0 = time.perf_counter()
            found = Counter(v["status"] for v in d.values())
            count_b = time.perf_counter() - t0
        raw = sqlite3.connect(f"file:{theirs}?mode=ro", uri=True)
        sql = "SELECT json_extract(value, '$.status'), count(*) FROM unnamed GROUP BY 1"
        count_c = median_time(lambda: raw.execute(sql).fetchall(), repeat=3)
        raw.close()
        same = all(found.get(k, 0) == v for k, v in expected.items())
        report.row("count by status: sqlite3 IndexReader.counts()", f"{count_a * 1000:.0f} ms")
        report.row(
            "count by status: sqlitedict values() + Counter",
            f"{count_b * 1000:.0f} ms ({count_b / count_a:.0f}x slower; same counts: {same})",
        )
        report.row(
            "count by status: SQL json_extract on sqlitedict's table",
            f"{count_c * 1000:.0f} ms ({count_c / count_a:.0f}x slower)",
        )
        rates = {}
        for label, call in (
            (
                "sqlite3 WAL, synchronous=NORMAL (phototag)",
                lambda: commits_sqlite3(ours, updates, synchronous="NORMAL"),
            ),
            (
                "sqlite3 WAL, synchronous=FULL",
                lambda: commits_sqlite3(ours, updates, synchronous="FULL"),
            ),
            (
                "sqlitedict, journal DELETE (its default)",
                lambda: commits_sqlitedict(theirs, updates, journal_mode="DELETE"),
            ),
            (
                "sqlitedict, journal WAL",
                lambda: commits_sqlitedict(theirs, updates, journal_mode="WAL"),
            ),
        ):
            runs = [call() for _ in range(3)]
            rate, level = statistics.median(r[0] for r in runs), runs[0][1]
            rates[label] = rate
            report.row(f"committed updates/s: {label}", f"{rate:8.0f}/s (synchronous={level})")
    report.note(
        "sqlitedict forces synchronous=OFF: a committed update can be lost or the file "
        "corrupted by a power cut; phototag's WAL + NORMAL survives any process crash "
        "and loses at most the last commits on a power cut, never the file"
    )
    report.note(
        "sqlitedict keeps one opaque blob per key: every query other than by key reads "
        "and decodes every record in Python"
    )
    report.save(args.json)


if __name__ == "__main__":
    main()
