"""Faults: the clock jumps years ahead; the JSONL history must survive the retention prune."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from phototag.reporting.jsonl import JsonlLog


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_forward_clock_jump_deletes_no_history(tmp_path: Path) -> None:
    history = [date(2026, 9, 1) + timedelta(days=n) for n in range(0, 91, 3)]
    for day in history:
        (tmp_path / f"phototag-{day.isoformat()}.jsonl").write_text('{"ok": 1}\n')
    names = {p.name for p in tmp_path.iterdir()}
    # the machine's clock comes up five years ahead (a bad RTC, a wrong NTP answer)
    clock = Clock(datetime(2031, 6, 1, 9, 0, tzinfo=UTC))
    log = JsonlLog(folder=tmp_path, max_bytes=1_000_000, retention_days=30, clock=clock)
    log.append({"after": "the jump"})
    for days in (1, 2, 45):  # day changes after the jump prune by the same rule
        clock.now += timedelta(days=days)
        log.append({"later": days})
    log.close()
    remaining = {p.name for p in tmp_path.iterdir()}
    assert names <= remaining  # every file from before the jump is still there
    # and after the jump, retention works as usual among the new files
    assert "phototag-2031-06-01.jsonl" not in remaining
    assert "phototag-2031-07-19.jsonl" in remaining


def test_retention_still_prunes_old_files_on_a_right_clock(tmp_path: Path) -> None:
    for day in (date(2026, 9, 1), date(2026, 11, 20), date(2026, 11, 30)):
        (tmp_path / f"phototag-{day.isoformat()}.jsonl").write_text("{}\n")
    clock = Clock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    JsonlLog(folder=tmp_path, max_bytes=1_000_000, retention_days=30, clock=clock).close()
    assert {p.name for p in tmp_path.iterdir()} == {
        "phototag-2026-11-20.jsonl",
        "phototag-2026-11-30.jsonl",
        "phototag-2026-12-01.jsonl",
    }
