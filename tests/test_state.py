"""The SQLite index and queue on a real database file."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from phototag.domain import FileSig
from phototag.store.queue import Index
from phototag.store.reader import IndexReader
from phototag.store.records import decide
from phototag.store.schema import MIGRATIONS, SCHEMA_VERSION


@pytest.fixture
def index(tmp_path: Path) -> Index:
    idx = Index(tmp_path / "state" / "index.sqlite3")
    yield idx
    idx.close()


def test_wal_and_schema(index: Index) -> None:
    db = sqlite3.connect(index.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_queue_claim_finish_and_no_double_queue(index: Index, tmp_path: Path) -> None:
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    assert index.enqueue(a, FileSig(10, 1)) is True
    assert index.enqueue(a, FileSig(10, 1)) is False  # already queued: the in-flight rule
    assert index.enqueue(b, FileSig(20, 2)) is True
    jobs = index.claim(5)
    assert [j.path for j in jobs] == [a, b] and all(j.attempts == 1 for j in jobs)
    assert index.enqueue(a, FileSig(11, 3)) is False  # processing: not queued twice
    index.finish(
        jobs[0].id,
        status="done",
        sig=FileSig(15, 1),
        sha256="h1",
        out_sha256="h2",
        result={"title": "t", "keywords": ["cat", "tree"]},
        backend="local",
        model="m",
    )
    index.finish(jobs[1].id, status="failed", error="cannot decode")
    reader = index.reader()
    assert reader.counts()["done"] == 1 and reader.counts()["failed"] == 1
    assert reader.top_keywords(10) == [("cat", 1), ("tree", 1)]
    record = index.get(a)
    assert record is not None and record.sig == FileSig(15, 1)
    assert decide(record, FileSig(15, 1)) == "unchanged"
    assert decide(record, FileSig(16, 1)) == "queue"
    assert decide(index.get(b), FileSig(20, 2)) == "failed"
    assert decide(None, FileSig(1, 1)) == "queue"


def test_crash_leaves_processing_which_is_requeued(index: Index, tmp_path: Path) -> None:
    index.enqueue(tmp_path / "a.jpg", FileSig(1, 1))
    index.claim(1)
    assert index.requeue_processing(max_attempts=3) == (1, [])
    assert index.reader().counts()["queued"] == 1


def test_retag_replaces_keyword_counts_and_delete_and_move(index: Index, tmp_path: Path) -> None:
    a = tmp_path / "a.jpg"
    index.enqueue(a, FileSig(1, 1))
    (job,) = index.claim(1)
    index.finish(job.id, status="done", result={"keywords": ["cat"]})
    index.enqueue(a, FileSig(2, 2))
    (job,) = index.claim(1)
    index.finish(job.id, status="done", result={"keywords": ["dog"]})
    assert index.reader().top_keywords(10) == [("dog", 1)]
    dest = tmp_path / "sub" / "b.jpg"
    assert index.move(a, dest) is True
    assert index.get(a) is None and index.get(dest) is not None
    assert index.mark_deleted(dest) is True
    assert index.reader().top_keywords(10) == []
    assert index.get(dest).status == "deleted"


def test_paths_with_invalid_utf8_round_trip(index: Index, tmp_path: Path) -> None:
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/bad\xff\nname.jpg"))
    index.enqueue(odd, FileSig(1, 1))
    (job,) = index.claim(1)
    assert job.path == odd and os.fsencode(job.path).endswith(b"bad\xff\nname.jpg")


def test_read_only_reader_sees_writes(index: Index, tmp_path: Path) -> None:
    index.enqueue(tmp_path / "a.jpg", FileSig(1, 1))
    reader = IndexReader.open(index.path)
    assert reader.counts()["queued"] == 1
    with pytest.raises(sqlite3.OperationalError):
        reader._db.execute("DELETE FROM files")
    reader.close()


def test_delayed_requeue_is_not_claimed_early(index: Index, tmp_path: Path) -> None:
    index.enqueue(tmp_path / "a.jpg", FileSig(1, 1))
    (job,) = index.claim(1)
    index.requeue(job.id, sig=FileSig(2, 2), delay_s=60)
    assert index.claim(1) == []
    assert index.reader().counts()["queued"] == 1


def _grouped(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    return dict(db.execute("SELECT status, count(*) FROM files GROUP BY status").fetchall())


def test_counts_by_status_stay_exact_through_every_change(index: Index, tmp_path: Path) -> None:
    for i in range(6):
        index.enqueue(tmp_path / f"{i}.jpg", FileSig(i, i))
    jobs = index.claim(4)
    index.finish(jobs[0].id, status="done", result={"keywords": ["a"]})
    index.finish(jobs[1].id, status="failed", error="x")
    index.requeue(jobs[2].id)
    index.mark_deleted(tmp_path / "0.jpg")
    index.move(tmp_path / "5.jpg", tmp_path / "moved.jpg")
    index.requeue_where(status="failed")
    index.requeue_processing(max_attempts=3)
    expected = _grouped(index.path)
    counts = index.reader().counts()
    assert {k: v for k, v in counts.items() if v} == expected


def test_a_version_1_index_is_migrated_with_its_counts(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version=1")
    for i, status in enumerate(["done", "done", "failed", "queued"]):
        db.execute(
            "INSERT INTO files (path, size, mtime_ns, status, updated_at) VALUES (?, 1, 1, ?, 0)",
            (f"/p/{i}.jpg".encode(), status),
        )
    db.close()
    index = Index(path)
    assert index.reader().counts()["done"] == 2 and index.reader().counts()["failed"] == 1
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    index.close()
