"""The catch-up scan (``Intake.scan``): what the index already knows is skipped, everything
new or changed on disk is found, whatever state its record is in."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from phototag.config import Settings
from phototag.domain import FileSig
from phototag.intake.intake import Intake
from phototag.intake.scan import scan_keys, walk
from phototag.intake.selection import Selection
from phototag.store import reader as state
from phototag.store.queue import Index
from phototag.store.records import SCAN_KEY, split_scan_key
from phototag.store.schema import MIGRATIONS

OLD_NS = time.time_ns() - 3600 * 10**9  # an hour ago: quiet, queued at once by the scan


@pytest.fixture
def root(inbox: Path) -> Path:
    """The scanned root: conftest's empty folder."""
    return inbox


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    idx = Index(tmp_path / "state" / "index.sqlite3")
    yield idx
    idx.close()


def make_intake(index: Index, root: Path, **settings: object) -> Intake:
    selection = Selection.from_settings(Settings(roots=[root], **settings))
    return Intake(
        index=index,
        selection=selection,
        debounce_s=2.0,
        writer_quiet_s=30.0,
        on_queued=lambda: None,
    )


def write(path: Path, data: bytes = b"jpeg", *, mtime_ns: int = OLD_NS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def record(index: Index, path: Path, status: str, sig: FileSig | None = None) -> None:
    """Put ``path`` in the index with ``status``, as it looks on disk unless ``sig``."""
    if sig is None:
        st = path.lstat()
        sig = FileSig(size=st.st_size, mtime_ns=st.st_mtime_ns)
    index.enqueue(path, sig)
    db = sqlite3.connect(index.path)
    with db:
        db.execute("UPDATE files SET status=? WHERE path=?", (status, os.fsencode(path)))
    db.close()


def status_of(index: Index, path: Path) -> str | None:
    found = index.get(path)
    return None if found is None else found.status


def test_an_unchanged_library_yields_nothing_and_new_files_are_queued(
    index: Index, root: Path
) -> None:
    old = [write(root / f"{y}" / f"IMG_{i}.jpg") for y in (2023, 2024) for i in range(20)]
    for path in old:
        record(index, path, "done")
    intake = make_intake(index, root)
    assert intake.scan() == 0
    new = write(root / "2024" / "new.jpg")
    assert intake.scan() == 1
    assert status_of(index, new) == "queued"
    assert {status_of(index, p) for p in old} == {"done"}


def test_a_change_of_size_or_of_mtime_alone_is_found(index: Index, root: Path) -> None:
    same_mtime = write(root / "a.jpg", b"12345")
    same_size = write(root / "b.jpg", b"12345")
    record(index, same_mtime, "done", FileSig(size=4, mtime_ns=OLD_NS))  # e.g. rsync -t
    record(index, same_size, "done", FileSig(size=5, mtime_ns=OLD_NS - 1))
    assert make_intake(index, root).scan() == 2
    assert status_of(index, same_mtime) == status_of(index, same_size) == "queued"
    assert index.get(same_mtime).sig == FileSig(size=5, mtime_ns=OLD_NS)


@pytest.mark.parametrize(
    ("status", "changed", "found"),
    [
        ("done", False, False),
        ("done", True, True),
        ("failed", False, False),  # retried by "tagctl retry", not by every scan
        ("failed", True, True),
        ("skipped", False, False),
        ("skipped", True, True),
        ("deleted", False, True),  # back on disk: tagged again (or adopted by its hash)
        ("queued", True, False),  # in flight: never queued twice
        ("processing", True, False),
    ],
)
def test_each_record_status(
    index: Index, root: Path, status: str, changed: bool, found: bool
) -> None:
    path = write(root / "x.jpg")
    record(index, path, status)
    if changed:
        write(path, b"new bytes")
    assert make_intake(index, root).scan() == int(found)
    if found:
        assert status_of(index, path) == "queued"


def test_a_file_moved_or_renamed_while_down_is_found_at_its_new_path(
    index: Index, root: Path
) -> None:
    before = write(root / "2024" / "a.jpg")
    record(index, before, "done")
    after = root / "sorted" / "cat.jpg"
    after.parent.mkdir()
    before.rename(after)  # same size and mtime, new path
    assert make_intake(index, root).scan() == 1
    assert status_of(index, after) == "queued" and status_of(index, before) == "done"


def test_names_and_entries_that_are_never_candidates(index: Index, root: Path) -> None:
    write(root / ".hidden.jpg")
    write(root / ".sync" / "a.jpg")
    write(root / "a.jpg.part")
    write(root / "notes.txt")
    write(root / "private" / "a.jpg")
    os.mkfifo(root / "pipe.jpg")
    (root / "folder.jpg").mkdir()
    outside = write(root.parent / "outside.jpg")
    (root / "link.jpg").symlink_to(outside)
    (root / "linked").symlink_to(root.parent)  # a folder link (and a loop) not followed
    wanted = write(root / "ok.jpg")
    assert make_intake(index, root, exclude=["private/*"]).scan() == 1
    assert status_of(index, wanted) == "queued"
    assert index.get(outside) is None and index.get(root / "link.jpg") is None


def test_followed_symlinks_and_loops(index: Index, root: Path, tmp_path: Path) -> None:
    elsewhere = write(tmp_path / "elsewhere" / "b.jpg").parent
    write(root / "a.jpg")
    (root / "more").symlink_to(elsewhere)
    (root / "loop").symlink_to(root)
    assert make_intake(index, root, follow_symlinks=True).scan() == 2
    assert status_of(index, root / "more" / "b.jpg") == "queued"


def test_recursive_off_stays_in_the_root(index: Index, root: Path) -> None:
    top = write(root / "a.jpg")
    write(root / "sub" / "b.jpg")
    assert make_intake(index, root, recursive=False).scan() == 1
    assert status_of(index, top) == "queued"


def test_names_that_are_not_utf8_are_found_once(index: Index, root: Path) -> None:
    odd = Path(os.fsdecode(os.fsencode(root) + b"/caf\xe9\n.jpg"))
    write(odd)
    intake = make_intake(index, root)
    assert intake.scan() == 1
    record(index, odd, "done")
    assert intake.scan() == 0


def test_a_scan_of_one_folder_leaves_the_rest(index: Index, root: Path) -> None:
    inside = write(root / "a" / "x.jpg")
    outside = write(root / "b" / "y.jpg")
    assert make_intake(index, root).scan(root / "a") == 1
    assert status_of(index, inside) == "queued" and index.get(outside) is None


def test_a_recent_file_goes_through_the_stability_tracker(index: Index, root: Path) -> None:
    recent = write(root / "a.jpg", mtime_ns=time.time_ns())
    intake = make_intake(index, root)
    assert intake.scan() == 1
    assert index.get(recent) is None  # not queued before it has been quiet for a while
    assert intake.changes.get_nowait().path == recent


def test_a_missing_root_is_skipped(index: Index, root: Path, tmp_path: Path) -> None:
    write(root / "a.jpg")
    selection = Selection.from_settings(Settings(roots=[tmp_path / "gone", root]))
    intake = Intake(
        index=index,
        selection=selection,
        debounce_s=2.0,
        writer_quiet_s=30.0,
        on_queued=lambda: None,
    )
    assert intake.scan() == 1


def test_known_under_reads_the_covering_index(index: Index, root: Path) -> None:
    done, failed, queued, gone, undone = (write(root / f"{n}.jpg") for n in "abcdf")
    record(index, done, "done")
    record(index, failed, "failed")
    record(index, queued, "queued")
    record(index, gone, "deleted")
    record(index, undone, "undone")
    record(index, write(root.parent / "other" / "e.jpg"), "done")
    settled, held = index.known_under(root).wait()
    assert {split_scan_key(k)[0] for k in settled} == {
        os.fsencode(p) for p in (done, failed, undone)
    }
    assert held == {os.fsencode(queued), os.fsencode(undone)}
    plan = index._db.execute(f"EXPLAIN QUERY PLAN {state._SCAN_SETTLED}", (b"/a/", b"/a0"))
    assert "COVERING INDEX files_scan" in str(plan.fetchall())  # no lookup in the table


@pytest.mark.parametrize(
    ("name", "size", "mtime_ns"),
    [
        (b"a.jpg", 0, 0),
        (b"with space\nand newline.jpg", 123, 1_700_000_000_123_456_789),
        (b"caf\xe9 \xff\xfe.jpg", 2**33, -1_000_000_001),  # not UTF-8; sparse; before 1970
        (b"12 34.jpg", 12, 34),
    ],
)
def test_sqlite_and_the_walk_build_the_same_scan_key(
    index: Index, root: Path, name: bytes, size: int, mtime_ns: int
) -> None:
    path = Path(os.fsdecode(os.fsencode(root) + b"/" + name))
    with path.open("wb") as f:
        f.truncate(size)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    record(index, path, "done")
    key = SCAN_KEY % (os.fsencode(path), size, mtime_ns)
    assert scan_keys(walk(root, recursive=True, follow_symlinks=False)) == [key]  # the walk's
    assert index.known_under(root).wait()[0] == {key}  # SQLite's side
    assert split_scan_key(key) == (os.fsencode(path), FileSig(size, mtime_ns))
    assert make_intake(index, root).scan() == 0


def test_the_index_is_read_in_chunks(
    index: Index, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state, "_SCAN_CHUNK", 3)
    paths = [write(root / f"{d}" / f"{i}.jpg") for d in "ab" for i in range(5)]
    for n, path in enumerate(paths):
        record(index, path, {3: "queued", 7: "deleted"}.get(n, "done"))
    settled, held = index.known_under(root).wait()
    assert len(settled) == 8 and held == {os.fsencode(paths[3])}
    assert make_intake(index, root).scan() == 1  # the deleted one, back on disk
    assert status_of(index, paths[7]) == "queued"


def test_an_unreadable_index_fails_the_scan(index: Index, root: Path) -> None:
    write(root / "a.jpg")
    known = state.Known(index.path.parent / "missing" / "index.sqlite3", root)
    with pytest.raises(sqlite3.OperationalError):
        known.wait()


def test_a_version_2_index_gains_the_scan_index(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    for step in MIGRATIONS[:2]:
        db.executescript(f"BEGIN;\n{step}\nCOMMIT;")
    db.execute("PRAGMA user_version=2")
    db.execute(
        "INSERT INTO files (path, size, mtime_ns, status, updated_at) VALUES (?, 4, ?, 'done', 0)",
        (b"/p/a.jpg", OLD_NS),
    )
    db.close()
    index = Index(path)
    names = {r[0] for r in index._db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "files_scan" in names
    assert index.known_under(Path("/p")).wait()[0] == {SCAN_KEY % (b"/p/a.jpg", 4, OLD_NS)}
    assert index.reader().counts()["done"] == 1
    index.close()
