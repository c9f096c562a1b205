"""The one walk (``intake.scan``) and what each scan makes of it: the catch-up's candidates,
``tagctl scan``'s report, the folder count for inotify, the queue-or-settle rule."""

from __future__ import annotations

import os
import queue
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from watchdog.observers.polling import PollingObserver

from phototag.config import Settings
from phototag.domain import FileSig
from phototag.intake.discovery import Discovery, Reason
from phototag.intake.intake import Intake
from phototag.intake.scan import Handoff, Kind, handoff, walk
from phototag.intake.selection import Selection
from phototag.intake.watch import (
    count_folders,
    inotify_watches_in_use,
    start_observers,
    stop_observers,
)
from phototag.store.queue import Index

OLD_NS = time.time_ns() - 3600 * 10**9  # an hour ago: quiet, queued at once by a scan


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    idx = Index(tmp_path / "state" / "index.sqlite3")
    yield idx
    idx.close()


def write(path: Path, data: bytes = b"jpeg", *, mtime_ns: int = OLD_NS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def listing(top: Path, **options: bool) -> list[tuple[str, Kind]]:
    """(path relative to ``top``, kind) for each entry of the walk, sorted; and each one
    after the folder it is in, as the walk gives them."""
    settings = {"recursive": True, "follow_symlinks": False, **options}
    found = [
        (os.path.relpath(os.fsdecode(raw), top), kind)
        for raw, kind, _st, _error in walk(top, **settings)
    ]
    order = [path for path, _ in found]
    for n, path in enumerate(order[1:], 1):
        assert order.index(os.path.dirname(path) or ".") < n, found
    return sorted(found)


def make_intake(index: Index, root: Path, **settings: object) -> Intake:
    return Intake(
        index=index,
        selection=Selection.from_settings(Settings(roots=[root], **settings)),
        debounce_s=2.0,
        writer_quiet_s=30.0,
        on_queued=lambda: None,
    )


def put(index: Index, path: Path, status: str) -> None:
    """Give ``path`` a record with ``status``, as it looks on disk now."""
    st = path.stat()
    index.enqueue(path, FileSig(size=st.st_size, mtime_ns=st.st_mtime_ns))
    db = sqlite3.connect(index.path)
    with db:
        db.execute("UPDATE files SET status=? WHERE path=?", (status, os.fsencode(path)))
    db.close()


# -- the walk -------------------------------------------------------------------------------


def test_the_walk_names_every_entry_each_after_its_folder(tmp_path: Path) -> None:
    root = tmp_path / "in"
    write(root / "b.jpg")
    write(root / "a" / "z.jpg")
    write(root / "a" / "deeper" / "x.jpg")
    write(root / "c.txt")
    write(root / ".cache" / "thumb.jpg")
    os.mkfifo(root / "pipe.jpg")
    (root / "link.jpg").symlink_to(root / "b.jpg")
    (root / "linked").symlink_to(tmp_path, target_is_directory=True)
    assert listing(root) == [
        (".", Kind.FOLDER),
        (".cache", Kind.HIDDEN_FOLDER),
        ("a", Kind.FOLDER),
        ("a/deeper", Kind.FOLDER),
        ("a/deeper/x.jpg", Kind.FILE),
        ("a/z.jpg", Kind.FILE),
        ("b.jpg", Kind.FILE),
        ("c.txt", Kind.FILE),  # names are for the callers
        ("link.jpg", Kind.LINK),
        ("linked", Kind.LINK),
        ("pipe.jpg", Kind.SPECIAL),
    ]
    assert listing(root, recursive=False)[:4] == [
        (".", Kind.FOLDER),
        (".cache", Kind.HIDDEN_FOLDER),
        ("a", Kind.SUBFOLDER),
        ("b.jpg", Kind.FILE),
    ]
    assert (".cache/thumb.jpg", Kind.FILE) in listing(root, hidden_folders=True)


def test_followed_links_enter_a_folder_once_and_a_broken_one_is_unstatable(
    tmp_path: Path,
) -> None:
    root = tmp_path / "in"
    write(root / "a.jpg")
    write(tmp_path / "elsewhere" / "b.jpg")
    (root / "more").symlink_to(tmp_path / "elsewhere")
    (root / "loop").symlink_to(root)  # the root again: not entered a second time
    (root / "broken.jpg").symlink_to(tmp_path / "missing.jpg")
    found = listing(root, follow_symlinks=True)
    assert found == [
        (".", Kind.FOLDER),
        ("a.jpg", Kind.FILE),
        ("broken.jpg", Kind.UNSTATABLE),
        ("more", Kind.FOLDER),
        ("more/b.jpg", Kind.FILE),
    ]
    (error,) = [e for _, kind, _, e in walk(root, recursive=True, follow_symlinks=True) if e]
    assert isinstance(error, FileNotFoundError)


def test_the_top_may_be_a_file_a_link_or_missing(tmp_path: Path) -> None:
    photo = write(tmp_path / "in" / "a.jpg")
    (tmp_path / "in" / "root-link").symlink_to(tmp_path / "in")
    assert listing(photo) == [(".", Kind.FILE)]
    assert listing(tmp_path / "in" / "root-link") == [
        (".", Kind.FOLDER),  # a root may be a link: it is followed
        ("a.jpg", Kind.FILE),
        ("root-link", Kind.LINK),
    ]
    assert listing(tmp_path / "gone") == [(".", Kind.UNSTATABLE)]


@pytest.mark.skipif(os.geteuid() == 0, reason="root lists any folder")
def test_an_unreadable_folder_is_named_not_entered(tmp_path: Path) -> None:
    root = tmp_path / "in"
    write(root / "locked" / "a.jpg")
    (root / "locked").chmod(0)
    try:
        assert listing(root) == [(".", Kind.FOLDER), ("locked", Kind.UNREADABLE)]
    finally:
        (root / "locked").chmod(0o755)


# -- the folder count: what watchdog watches ----------------------------------------------


def test_the_folder_count_is_what_watchdog_watches(tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "a" / "b").mkdir(parents=True)
    (root / ".hidden" / "c").mkdir(parents=True)  # watchdog watches hidden folders too
    (tmp_path / "elsewhere" / "d").mkdir(parents=True)
    (root / "outside").symlink_to(tmp_path / "elsewhere")  # and never a link
    (root / "loop").symlink_to(root)
    assert count_folders([root], recursive=True) == 5  # in, a, a/b, .hidden, .hidden/c
    assert count_folders([root], recursive=False) == 1
    before = inotify_watches_in_use()
    sink: queue.SimpleQueue[object] = queue.SimpleQueue()
    observers = start_observers([root], recursive=True, mode="inotify", sink=sink)  # type: ignore[arg-type]
    try:
        # a count above what watchdog watches read as "the watch limit was reached"
        assert not any(isinstance(o, PollingObserver) for o in observers)
        assert inotify_watches_in_use() - before == 5
    finally:
        stop_observers(observers)


# -- queue or settle ------------------------------------------------------------------------


def test_handoff_queues_what_has_been_quiet_for_debounce_s() -> None:
    now_ns = 100 * 10**9
    assert handoff(FileSig(1, now_ns - 2 * 10**9), now_ns=now_ns, debounce_s=2.0) is Handoff.QUEUE
    late = FileSig(1, now_ns - 2 * 10**9 + 1)
    assert handoff(late, now_ns=now_ns, debounce_s=2.0) is Handoff.SETTLE
    assert handoff(FileSig(1, now_ns + 10**9), now_ns=now_ns, debounce_s=0) is Handoff.SETTLE


def test_a_scan_of_one_file_queues_it_once(index: Index, tmp_path: Path) -> None:
    """tagctl rescan FILE, tagctl backfill FILE: the file itself is the top of the walk."""
    root = tmp_path / "in"
    photo = write(root / "a.jpg")
    other = write(root / "b.jpg")
    intake = make_intake(index, root)
    assert intake.scan(photo) == 1
    assert index.get(photo).status == "queued" and index.get(other) is None
    assert intake.scan(photo) == 0  # in flight: not found again
    put(index, photo, "done")
    assert intake.scan(photo) == 0  # done and unchanged
    write(photo, b"changed")
    assert intake.scan(photo) == 1


@pytest.mark.parametrize(
    ("status", "changed"),
    [
        (None, False),
        ("done", False),
        ("done", True),
        ("failed", False),
        ("failed", True),
        ("skipped", False),
        ("skipped", True),
        ("deleted", False),
        ("queued", True),
        ("processing", False),
        ("undone", False),
        ("undone", True),  # a person took phototag's tags out: only tagctl retag asks again
    ],
)
def test_the_report_says_process_for_exactly_what_a_scan_hands_on(
    index: Index, tmp_path: Path, status: str | None, changed: bool
) -> None:
    root = tmp_path / "in"
    photo = write(root / "a.jpg")
    if status is not None:
        put(index, photo, status)
    if changed:
        write(photo, b"new bytes")
    settings = Settings(roots=[root])
    (finding,) = Discovery.from_settings(settings, index.get).findings([root])
    reported = finding.action == "process" and finding.reason is not Reason.ALREADY_QUEUED
    assert make_intake(index, root).scan() == int(reported), finding


def test_the_report_names_what_the_walk_passes_over(tmp_path: Path) -> None:
    root = tmp_path / "in"
    write(root / "a.jpg")
    write(root / "sub" / "b.jpg")
    write(root / ".cache" / "c.jpg")
    write(root / "notes.txt")
    os.mkfifo(root / "pipe.jpg")
    os.mkfifo(root / "pipe.txt")
    (root / "link.jpg").symlink_to(root / "a.jpg")
    (root / "broken.jpg").symlink_to(tmp_path / "missing.jpg")

    def report(*tops: Path, **settings: object) -> list[tuple[str, str, str]]:
        discovery = Discovery.from_settings(Settings(roots=[root], **settings), lambda _: None)
        return [
            (os.path.relpath(f.path, root), f.action, f.reason) for f in discovery.findings(tops)
        ]

    symlink = "symbolic link, not followed (follow_symlinks is off)"
    assert report(root) == [  # sorted by path
        (".cache", "skip", "hidden folder"),
        ("a.jpg", "process", "new"),
        ("broken.jpg", "skip", symlink),
        ("link.jpg", "skip", symlink),
        ("notes.txt", "skip", "extension not handled"),
        ("pipe.jpg", "skip", "not a regular file"),
        ("pipe.txt", "skip", "extension not handled"),  # the name is judged first
        ("sub/b.jpg", "process", "new"),
    ]
    followed = dict((p, r) for p, _, r in report(root, follow_symlinks=True))
    assert followed["broken.jpg"] == "cannot stat: No such file or directory"
    assert followed["link.jpg"] == "new"
    assert ("sub", "skip", "subfolder (recursive is off)") in report(root, recursive=False)
    assert report(root / "sub" / "b.jpg", root / "gone.jpg", tmp_path / "x.jpg") == [
        ("sub/b.jpg", "process", "new"),
        ("gone.jpg", "skip", "not found"),
        ("../x.jpg", "skip", "outside the roots"),
    ]
