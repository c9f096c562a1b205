"""The stability tracker on real files, with a fake clock (nothing sleeps)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from phototag.domain import FileSig
from phototag.intake.stability import StabilityTracker, stat_or_none


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        self.now_s += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _tracker(clock: FakeClock, debounce_s: float = 2.0) -> StabilityTracker:
    return StabilityTracker(debounce_s=debounce_s, writer_quiet_s=30.0, clock=clock)


def _append(path: Path, data: bytes, *, mtime_ns: int) -> None:
    """Write more bytes and set a distinct mtime (a fast disk may not tick between writes)."""
    with path.open("ab") as fh:
        fh.write(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_a_quiet_unchanged_file_is_due_once(tmp_path: Path, clock: FakeClock) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x" * 100)
    tracker = _tracker(clock)
    tracker.touch(photo)
    assert tracker.due() == []
    clock.advance(1.9)
    assert tracker.due() == []
    clock.advance(0.1)
    assert tracker.due() == [photo]
    assert tracker.due() == []
    assert len(tracker) == 0


def test_a_burst_of_events_yields_the_path_once(tmp_path: Path, clock: FakeClock) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    tracker = _tracker(clock)
    for _ in range(100):
        tracker.touch(photo)
        clock.advance(0.01)
    assert len(tracker) == 1
    clock.advance(2.0)
    assert tracker.due() == [photo]
    clock.advance(10.0)
    assert tracker.due() == []


def test_each_event_restarts_the_quiet_timer(tmp_path: Path, clock: FakeClock) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    tracker = _tracker(clock)
    tracker.touch(photo)
    clock.advance(1.5)
    tracker.touch(photo)
    clock.advance(1.5)  # 3 s after the first event, 1.5 s after the last
    assert tracker.due() == []
    clock.advance(0.5)
    assert tracker.due() == [photo]


def test_a_growing_file_is_due_only_after_it_stops_changing(
    tmp_path: Path, clock: FakeClock
) -> None:
    photo = tmp_path / "slow.jpg"
    photo.write_bytes(b"")
    tracker = _tracker(clock)
    tracker.touch(photo)
    mtime_ns = 1_000_000_000_000_000_000
    # the writer adds a chunk every 3 s - slower than the debounce - and sends no events
    # (as over NFS, or with the polling observer): only the second stat can tell
    for chunk in range(1, 6):
        clock.advance(3.0)
        _append(photo, b"y" * 4096, mtime_ns=mtime_ns + chunk)
        assert tracker.due() == [], f"due while still growing, after chunk {chunk}"
    clock.advance(2.0)
    assert tracker.due() == [photo]
    assert photo.stat().st_size == 5 * 4096


def test_same_size_but_new_mtime_is_a_change(tmp_path: Path, clock: FakeClock) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"aaaa")
    os.utime(photo, ns=(1, 1))
    tracker = _tracker(clock)
    tracker.touch(photo)
    photo.write_bytes(b"bbbb")
    os.utime(photo, ns=(2, 2))
    clock.advance(2.0)
    assert tracker.due() == []
    clock.advance(2.0)
    assert tracker.due() == [photo]


def test_a_vanished_file_is_dropped(tmp_path: Path, clock: FakeClock) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    never = tmp_path / "never.jpg"
    tracker = _tracker(clock)
    tracker.touch(photo)
    tracker.touch(never)
    photo.unlink()
    clock.advance(5.0)
    assert tracker.due() == []
    assert len(tracker) == 0


def test_forget_stops_tracking(tmp_path: Path, clock: FakeClock) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    tracker = _tracker(clock)
    tracker.touch(photo)
    assert photo in tracker
    tracker.forget(photo)
    tracker.forget(tmp_path / "unknown.jpg")
    assert photo not in tracker
    clock.advance(5.0)
    assert tracker.due() == []


def test_due_paths_come_oldest_first(tmp_path: Path, clock: FakeClock) -> None:
    paths = [tmp_path / f"{name}.jpg" for name in ("c", "a", "b")]
    tracker = _tracker(clock)
    for path in paths:
        path.write_bytes(b"x")
        tracker.touch(path)
        clock.advance(0.1)
    clock.advance(2.0)
    assert tracker.due() == paths


def test_next_deadline(tmp_path: Path, clock: FakeClock) -> None:
    tracker = _tracker(clock)
    assert tracker.next_deadline_s() is None
    first, second = tmp_path / "1.jpg", tmp_path / "2.jpg"
    for path in (first, second):
        path.write_bytes(b"x")
    tracker.touch(first)
    clock.advance(0.5)
    tracker.touch(second)
    assert tracker.next_deadline_s() == pytest.approx(1.5)
    clock.advance(3.0)
    assert tracker.next_deadline_s() == 0.0
    assert tracker.due() == [first, second]
    assert tracker.next_deadline_s() is None


def test_a_change_found_at_the_deadline_restarts_the_deadline(
    tmp_path: Path, clock: FakeClock
) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    tracker = _tracker(clock)
    tracker.touch(photo)
    _append(photo, b"more", mtime_ns=5)
    clock.advance(2.0)
    assert tracker.due() == []
    assert tracker.next_deadline_s() == pytest.approx(2.0)


def test_zero_debounce_still_compares_two_stats(tmp_path: Path, clock: FakeClock) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    tracker = _tracker(clock, debounce_s=0.0)
    tracker.touch(photo)
    _append(photo, b"y", mtime_ns=7)
    assert tracker.due() == []
    assert tracker.due() == [photo]


def test_negative_debounce_is_refused(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="debounce_s"):
        _tracker(clock, debounce_s=-1.0)


def test_stat_or_none(tmp_path: Path) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"abc")
    assert stat_or_none(photo) == FileSig.of(photo)
    assert stat_or_none(tmp_path / "missing.jpg") is None
    assert stat_or_none(photo / "not-a-folder.jpg") is None


def test_a_file_written_and_not_closed_waits_for_its_close(
    clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "motion.jpg"
    path.write_bytes(b"first half")
    tracker = _tracker(clock)
    tracker.touch(path, writing=True)
    clock.advance(5)  # the writer paused longer than debounce_s, its file still open
    assert tracker.due() == []
    tracker.touch(path)  # an event that says nothing of the writer keeps it waiting
    clock.advance(5)
    assert tracker.due() == []
    tracker.touch(path, writing=False)  # closed after writing
    assert tracker.next_deadline_s() == 2.0
    clock.advance(2)
    assert tracker.due() == [path]


def test_a_writer_whose_close_is_never_seen_is_given_writer_quiet_s(
    clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "polled.jpg"
    path.write_bytes(b"all of it")
    tracker = _tracker(clock)
    tracker.touch(path, writing=True)  # polling: changes are seen, closes never
    assert tracker.next_deadline_s() == 30.0
    clock.advance(29.9)
    assert tracker.due() == []
    clock.advance(0.1)
    assert tracker.due() == [path]
