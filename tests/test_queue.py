"""The queue's SQL on a real index: every ``requeue_*``, ``move_tree`` and
``find_tagged_copy``, over records in each status, prefix-sharing folders and odd bytes.

Records reach their status through the Index's own verbs (enqueue, claim, finish, skip,
mark_deleted, mark_undone), as the daemon's do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phototag.domain import FileSig
from phototag.store.queue import Index
from phototag.store.records import display_path

SIG = FileSig(size=100, mtime_ns=1_700_000_000_000_000_000)
STATUSES = ("queued", "processing", "done", "failed", "skipped", "deleted", "undone")


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    idx = Index(tmp_path / "state" / "index.sqlite3")
    yield idx
    idx.close()


def at(raw: bytes) -> Path:
    """A path from its bytes (not all of them UTF-8)."""
    return Path(os.fsdecode(raw))


def put(index: Index, path: Path, status: str, **finish: Any) -> None:
    """Give ``path`` a record in ``status``; ``finish`` goes to :meth:`Index.finish`."""
    if status == "skipped":
        assert index.skip(path, SIG, reason="not a regular file")
        return
    if status == "undone":
        index.mark_undone(path, SIG)
        return
    assert index.enqueue(path, SIG)
    if status == "queued":
        return
    jobs = index.claim(1000)
    for job in jobs:
        if job.path != path:
            index.requeue(job.id)  # the others go back as they were
    if status == "processing":
        return
    (mine,) = [job for job in jobs if job.path == path]
    ended = "done" if status == "deleted" else status
    defaults = {"result": {"keywords": ["cat"]}} if ended == "done" else {"error": "bad"}
    index.finish(mine.id, status=ended, **{**defaults, **finish})
    if status == "deleted":
        assert index.mark_deleted(path)


def statuses(index: Index) -> dict[Path, str]:
    return {r.path: r.status for r in index.reader().records(limit=1000)}


def one_in_each_status(index: Index, folder: Path) -> dict[str, Path]:
    paths = {status: folder / f"{status}.jpg" for status in STATUSES}
    for status in ("done", "failed", "deleted", "processing", "skipped", "undone", "queued"):
        put(index, paths[status], status)
    assert statuses(index) == {path: status for status, path in paths.items()}
    return paths


# folders whose names start like /r/b: each sorts on another side of "/r/b/" or "/r/b0"
NEIGHBOURS = (b"b!", b"b-x", b"b.d", b"b0", b"bc", b"b\xff")


def under_and_beside(index: Index, root: Path, status: str) -> tuple[list[Path], list[Path]]:
    """Records in ``status`` under ``root/b`` (a file named like a folder too) and in
    folders sharing its prefix; returns (inside, outside)."""
    base = os.fsencode(root)
    inside = [at(base + b"/b/" + n) for n in (b"x.jpg", b"deep/er/y.jpg", b"caf\xe9\n.jpg")]
    outside = [at(base + b"/" + n + b"/x.jpg") for n in NEIGHBOURS] + [at(base + b"/b.jpg")]
    for path in inside + outside:
        put(index, path, status)
    return inside, outside


# -- requeue_processing ---------------------------------------------------------------------


def test_requeue_processing_fails_what_crashed_max_attempts_times(
    index: Index, tmp_path: Path
) -> None:
    paths = one_in_each_status(index, tmp_path)
    again = tmp_path / "again.jpg"
    put(index, again, "processing")  # attempt 1
    assert index.requeue_processing(max_attempts=3) == (2, [])
    assert statuses(index)[paths["processing"]] == "queued"
    index.claim(1000)  # both at attempt 2 now, the queued one at 1
    index.requeue_processing(max_attempts=3)
    index.claim(1000)  # 3 crashes
    requeued, failed = index.requeue_processing(max_attempts=3)
    assert requeued == 1  # "queued.jpg", claimed twice only
    assert sorted(failed) == sorted([(paths["processing"], 3), (again, 3)])
    record = index.get(again)
    assert record is not None and record.status == "failed"
    assert record.last_error == "crashed the tagger 3 times"
    left = statuses(index)
    for status in ("done", "failed", "skipped", "deleted", "undone"):
        assert left[paths[status]] == status  # nothing else is touched


# -- requeue_where --------------------------------------------------------------------------


def test_requeue_where_takes_one_status_and_only_under_the_folder(
    index: Index, tmp_path: Path
) -> None:
    paths = one_in_each_status(index, tmp_path / "mixed")
    inside, outside = under_and_beside(index, tmp_path, "failed")
    assert index.requeue_where(status="failed", under=tmp_path / "b") == len(inside)
    now = statuses(index)
    assert {now[p] for p in inside} == {"queued"}
    assert {now[p] for p in outside} == {"failed"}
    assert all(index.get(p).attempts == 0 for p in inside)
    assert index.requeue_where(status="failed") == len(outside) + 1  # everywhere
    assert statuses(index)[paths["done"]] == "done"


# -- requeue_done ---------------------------------------------------------------------------


def test_requeue_done_takes_done_and_undone_and_forgets_the_image_hash(
    index: Index, tmp_path: Path
) -> None:
    paths = one_in_each_status(index, tmp_path)
    edited = tmp_path / "edited.jpg"
    put(index, edited, "done", image_sha256="pixels")
    assert index.requeue_done() == 3  # done, edited (done), undone
    now = statuses(index)
    assert now[paths["done"]] == now[edited] == now[paths["undone"]] == "queued"
    for status in ("failed", "skipped", "deleted", "processing"):
        assert now[paths[status]] == status
    record = index.get(edited)
    assert record is not None and record.image_sha256 is None and record.attempts == 0
    assert record.queued_at is not None


def test_requeue_done_under_a_file_or_a_folder(index: Index, tmp_path: Path) -> None:
    inside, outside = under_and_beside(index, tmp_path, "done")
    assert index.requeue_done(under=tmp_path / "b") == len(inside)
    now = statuses(index)
    assert {now[p] for p in inside} == {"queued"} and {now[p] for p in outside} == {"done"}
    one = tmp_path / "b.jpg"  # a file: itself only, not "b.jpg.xmp" nor "b.jpg/..."
    put(index, tmp_path / "b.jpg.xmp", "done")
    assert index.requeue_done(under=one) == 1
    assert statuses(index)[tmp_path / "b.jpg.xmp"] == "done"


def test_requeue_done_dry_run_only_takes_dry_runs_only(index: Index, tmp_path: Path) -> None:
    dry, written = tmp_path / "dry.jpg", tmp_path / "written.jpg"
    put(index, dry, "done", dry_run=True)
    put(index, written, "done")
    put(index, tmp_path / "undone.jpg", "undone")
    put(index, tmp_path / "failed.jpg", "failed", dry_run=True)
    assert index.requeue_done(dry_run_only=True) == 1
    assert statuses(index)[dry] == "queued" and statuses(index)[written] == "done"


# -- requeue_fallback and requeue_stale ------------------------------------------------------


def test_requeue_fallback_takes_what_the_fallback_tagged(index: Index, tmp_path: Path) -> None:
    by_fallback, by_vlm = tmp_path / "f.jpg", tmp_path / "v.jpg"
    put(index, by_fallback, "done", fallback=True)
    put(index, by_vlm, "done")
    put(index, tmp_path / "failed.jpg", "failed", fallback=True)
    assert index.requeue_fallback() == 1
    assert statuses(index)[by_fallback] == "queued" and statuses(index)[by_vlm] == "done"
    assert index.requeue_fallback() == 0


def test_requeue_stale_takes_another_backend_model_prompt_or_a_fallback(
    index: Index, tmp_path: Path
) -> None:
    now = {"backend": "openai", "model": "m", "prompt_digest": "p"}
    records = {
        "current": now,
        "other-backend": {**now, "backend": "local"},
        "other-model": {**now, "model": "m2"},
        "other-prompt": {**now, "prompt_digest": "q"},
        "no-prompt": {**now, "prompt_digest": None},
        "no-model": {**now, "model": None},
        "fallback": {**now, "fallback": True},
    }
    for name, finish in records.items():
        put(index, tmp_path / f"{name}.jpg", "done", **finish)
    put(index, tmp_path / "failed.jpg", "failed", backend="local")
    assert index.requeue_stale(**now) == len(records) - 1
    assert {p.stem for p, s in statuses(index).items() if s == "done"} == {"current"}
    assert statuses(index)[tmp_path / "failed.jpg"] == "failed"


def test_requeue_stale_with_no_prompt_keeps_records_without_one(
    index: Index, tmp_path: Path
) -> None:
    put(index, tmp_path / "a.jpg", "done", backend="local", model="m", prompt_digest=None)
    put(index, tmp_path / "b.jpg", "done", backend="local", model="m", prompt_digest="")
    assert index.requeue_stale(backend="local", model="m", prompt_digest="") == 0


# -- requeue (one claimed job) --------------------------------------------------------------


def test_requeue_one_job_gives_its_attempt_back_unless_it_counts(
    index: Index, tmp_path: Path
) -> None:
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    index.enqueue(a, SIG)
    index.enqueue(b, SIG)
    job_a, job_b = index.claim(2)
    index.requeue(job_a.id, sig=FileSig(7, 8), error="a writer is at work")
    index.requeue(job_b.id, count_attempt=True)
    record_a, record_b = index.get(a), index.get(b)
    assert record_a is not None and record_b is not None
    assert (record_a.status, record_a.attempts, record_a.sig) == ("queued", 0, FileSig(7, 8))
    assert record_a.last_error == "a writer is at work"
    assert (record_b.status, record_b.attempts) == ("queued", 1)
    index.requeue(job_a.id)  # no longer processing: nothing changes
    assert index.get(a) == record_a


# -- move_tree ------------------------------------------------------------------------------


def test_move_tree_moves_the_folder_not_its_neighbours(index: Index, tmp_path: Path) -> None:
    inside, outside = under_and_beside(index, tmp_path, "done")
    dest = tmp_path / "sorted" / "B"
    assert index.move_tree(tmp_path / "b", dest) == len(inside)
    now = statuses(index)
    base, new = os.fsencode(tmp_path / "b"), os.fsencode(dest)
    moved = [at(new + os.fsencode(p)[len(base) :]) for p in inside]
    assert {now.get(p) for p in moved} == {"done"}
    assert not any(p in now for p in inside)
    assert {now[p] for p in outside} == {"done"}
    assert at(new + b"/caf\xe9\n.jpg") in now  # odd bytes kept as they were


def test_move_tree_keeps_each_record_and_replaces_one_at_the_destination(
    index: Index, tmp_path: Path
) -> None:
    src, dest = tmp_path / "src", tmp_path / "dest"
    paths = one_in_each_status(index, src)
    put(index, dest / "done.jpg", "deleted")  # an old record where a moved file lands
    ids = {status: index.get(path).id for status, path in paths.items()}
    assert index.move_tree(src, dest) == len(STATUSES)
    for status, path in paths.items():
        record = index.get(dest / path.name)
        assert record is not None and (record.id, record.status) == (ids[status], status)
    assert statuses(index) == {dest / p.name: s for s, p in paths.items()}
    assert index.reader().counts()["deleted"] == 1  # the moved one, not the replaced one


def test_move_tree_of_an_empty_or_unknown_folder_moves_nothing(
    index: Index, tmp_path: Path
) -> None:
    put(index, tmp_path / "a.jpg", "done")
    assert index.move_tree(tmp_path / "nothing-here", tmp_path / "x") == 0
    assert statuses(index) == {tmp_path / "a.jpg": "done"}


# -- find_tagged_copy -----------------------------------------------------------------------


def test_find_tagged_copy_matches_input_or_output_bytes(index: Index, tmp_path: Path) -> None:
    put(index, tmp_path / "a.jpg", "done", sha256="in", out_sha256="out")
    assert index.find_tagged_copy("in").path == tmp_path / "a.jpg"
    assert index.find_tagged_copy("out").path == tmp_path / "a.jpg"
    assert index.find_tagged_copy("other") is None


@pytest.mark.parametrize(
    ("status", "finish", "found"),
    [
        ("done", {}, True),
        ("deleted", {}, True),  # moved while the daemon was down: its record is the donor
        ("done", {"dry_run": True}, False),  # nothing was written into it
        ("done", {"result": None}, False),
        ("failed", {}, False),
        ("processing", {}, False),
        ("queued", {}, False),
    ],
)
def test_find_tagged_copy_takes_only_a_finished_written_result(
    index: Index, tmp_path: Path, status: str, finish: dict[str, Any], found: bool
) -> None:
    if status in ("done", "deleted", "failed"):
        finish = {"sha256": "h", **finish}
    put(index, tmp_path / "a.jpg", status, **finish)
    if status in ("processing", "queued"):  # a record that never finished, same hash
        index._db.execute("UPDATE files SET sha256='h', result='{}'")
    assert (index.find_tagged_copy("h") is not None) is found


def test_find_tagged_copy_looks_up_the_hash_indexes(index: Index, tmp_path: Path) -> None:
    """One lookup a new photo: a plan that walks the done records (the status index, which
    SQLite picks without statistics) costs the whole library for every photo."""
    for i in range(50):
        put(index, tmp_path / f"{i}.jpg", "done", sha256=f"h{i}")
    sql: list[str] = []
    index._db.set_trace_callback(sql.append)
    index.find_tagged_copy("h1")
    index._db.set_trace_callback(None)
    (query,) = [s for s in sql if s.lstrip().startswith("SELECT")]
    plan = " ".join(row[-1] for row in index._db.execute(f"EXPLAIN QUERY PLAN {query}"))
    assert "files_sha256" in plan and "files_out" in plan, plan


def test_find_tagged_copy_prefers_a_live_record_then_the_newest(
    index: Index, tmp_path: Path
) -> None:
    old_done, new_done, gone = (tmp_path / n for n in ("old.jpg", "new.jpg", "gone.jpg"))
    put(index, gone, "deleted", sha256="h")
    put(index, old_done, "done", sha256="h")
    put(index, new_done, "done", sha256="h")
    index._db.execute(
        "UPDATE files SET finished_at = CASE path WHEN ? THEN 100 WHEN ? THEN 200 ELSE 300 END",
        (os.fsencode(old_done), os.fsencode(new_done)),
    )
    assert index.find_tagged_copy("h").path == new_done  # not the newer deleted one
    index.mark_gone([new_done, old_done])
    index._db.execute("UPDATE files SET finished_at = 100 WHERE path <> ?", (os.fsencode(gone),))
    assert index.find_tagged_copy("h").path == gone  # all deleted: the newest


def test_the_summary_lists_a_runs_finished_records_as_their_whole_rows_say(index: Index) -> None:
    import time

    from phototag.reporting.summary import run_item
    from phototag.states import Status

    put(index, at(b"/p/old.jpg"), "done")
    since = time.time()
    for i, status in enumerate(STATUSES):
        put(index, at(b"/p/%d-%s-\xff.jpg" % (i, status.encode())), status)
    reader = index.reader()
    found = reader.finished_since(since, limit=10)
    whole = reader.select(statuses=(Status.DONE, Status.FAILED), since=since, limit=10)
    assert [r.path for r in found] == ["/p/3-failed-\\xff.jpg", "/p/2-done-\\xff.jpg"]
    assert [run_item(r) for r in found] == [
        {
            "path": display_path(r.path),
            "status": r.status,
            "title": (r.result or {}).get("title", ""),
            "caption": (r.result or {}).get("caption", ""),
            "description": (r.result or {}).get("description", ""),
            "notes": list((r.result or {}).get("notes", ())),
            "error": r.last_error if r.status is not Status.DONE else None,
        }
        for r in whole
    ]
    assert len(reader.finished_since(since, limit=1)) == 1
