"""Outputs: the JSONL log on real files with an injected clock, atomic writes, the summary
and the metrics."""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from phototag.metadata.atomic import write_text
from phototag.reporting.jsonl import JsonlLog
from phototag.reporting.metrics import StageStats, metrics_snapshot
from phototag.reporting.summary import render_summary


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


DAY = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _log(folder: Path, clock: FakeClock, **options: int) -> JsonlLog:
    settings = {"max_bytes": 1_000_000, "retention_days": 30} | options
    return JsonlLog(folder=folder, clock=clock, **settings)


# --- JSONL -------------------------------------------------------------------------------


def test_each_line_is_readable_as_soon_as_append_returns(tmp_path: Path) -> None:
    log = _log(tmp_path, FakeClock(DAY))
    path = log.current_path
    assert path.name == "phototag-2026-05-10.jsonl"
    for n in range(3):
        log.append({"n": n, "path": f"/photos/{n}.jpg"})
        # a fresh reader, as after a crash: the log was never closed
        assert [record["n"] for record in _lines(path)] == list(range(n + 1))
    log.close()


def test_unicode_and_undecodable_paths_round_trip(tmp_path: Path) -> None:
    log = _log(tmp_path, FakeClock(DAY))
    raw_name = os.fsdecode(b"/photos/caf\xe9.jpg")  # Latin-1 byte: a lone surrogate
    record = {
        "path": raw_name,
        "keywords": ["été", "日本語", "🐱"],
        "where": tmp_path,
        "at": DAY,
        "tags": {"b"},
    }
    log.append(record)
    log.close()
    text = log.current_path.read_bytes().decode("utf-8")  # strict UTF-8
    assert "été" in text and "🐱" in text  # not \\u-escaped
    (back,) = _lines(log.current_path)
    assert os.fsencode(back["path"]) == b"/photos/caf\xe9.jpg"
    assert back["where"] == str(tmp_path)
    assert back["at"] == DAY.isoformat()
    assert back["tags"] == ["b"]


def test_a_record_that_cannot_be_serialised_writes_nothing(tmp_path: Path) -> None:
    log = _log(tmp_path, FakeClock(DAY))
    with pytest.raises(TypeError):
        log.append({"bad": object()})
    log.append({"ok": 1})
    log.close()
    assert _lines(log.current_path) == [{"ok": 1}]


def test_rolls_by_size_without_splitting_lines(tmp_path: Path) -> None:
    log = _log(tmp_path, FakeClock(DAY), max_bytes=10_000)
    record = {"pad": "x" * 900}  # about 911 bytes a line: 10 lines a file
    for _ in range(25):
        log.append(record)
    log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "phototag-2026-05-10.1.jsonl",
        "phototag-2026-05-10.2.jsonl",
        "phototag-2026-05-10.jsonl",
    ]
    sizes = [(tmp_path / name).stat().st_size for name in names]
    assert all(size <= 10_000 for size in sizes)
    assert sum(len(_lines(tmp_path / name)) for name in names) == 25


def test_reopening_continues_the_last_roll(tmp_path: Path) -> None:
    clock = FakeClock(DAY)
    log = _log(tmp_path, clock, max_bytes=10_000)
    for _ in range(12):
        log.append({"pad": "x" * 900})
    log.close()
    again = _log(tmp_path, clock, max_bytes=10_000)
    assert again.current_path.name == "phototag-2026-05-10.1.jsonl"
    again.append({"after": "restart"})
    again.close()
    assert _lines(again.current_path)[-1] == {"after": "restart"}
    assert len(_lines(again.current_path)) == 3


def test_rolls_by_day(tmp_path: Path) -> None:
    clock = FakeClock(DAY)
    log = _log(tmp_path, clock)
    log.append({"day": 1})
    clock.now = DAY + timedelta(days=1)
    log.append({"day": 2})
    log.close()
    assert _lines(tmp_path / "phototag-2026-05-10.jsonl") == [{"day": 1}]
    assert _lines(tmp_path / "phototag-2026-05-11.jsonl") == [{"day": 2}]
    assert log.current_path.name == "phototag-2026-05-11.jsonl"


def test_retention_deletes_old_log_files_only(tmp_path: Path) -> None:
    old = ["phototag-2026-04-01.jsonl", "phototag-2026-04-01.3.jsonl", "phototag-2026-05-02.jsonl"]
    kept = [
        "phototag-2026-05-03.jsonl",
        "phototag-2026-05-09.2.jsonl",
        "notes.txt",
        "phototag-summary.md",
        "phototag-2026-13-01.jsonl",
    ]
    for name in old + kept:
        (tmp_path / name).write_text("{}\n")
    clock = FakeClock(DAY)
    log = _log(tmp_path, clock, retention_days=7)  # keeps 2026-05-03 .. 2026-05-10
    remaining = {p.name for p in tmp_path.iterdir()}
    assert remaining == {*kept, "phototag-2026-05-10.jsonl"}
    # and at the next day change
    clock.now = DAY + timedelta(days=1)
    log.append({"x": 1})
    log.close()
    assert not (tmp_path / "phototag-2026-05-03.jsonl").exists()
    assert (tmp_path / "phototag-2026-05-09.2.jsonl").exists()


def test_appends_from_many_threads_never_interleave(tmp_path: Path) -> None:
    log = _log(tmp_path, FakeClock(DAY), max_bytes=20_000)

    def worker(n: int) -> None:
        for i in range(50):
            log.append({"worker": n, "i": i, "pad": "y" * 200})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    records = [r for path in tmp_path.glob("*.jsonl") for r in _lines(path)]
    assert sorted((r["worker"], r["i"]) for r in records) == [
        (n, i) for n in range(4) for i in range(50)
    ]


def test_append_after_close_is_refused(tmp_path: Path) -> None:
    log = _log(tmp_path, FakeClock(DAY))
    log.close()
    log.close()
    with pytest.raises(ValueError, match="closed"):
        log.append({"late": True})


# --- write_text (phototag.metadata.atomic) ------------------------------------------------------


def test_write_text_replaces_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    write_text(target, "first")
    write_text(target, "second · été")
    assert target.read_text(encoding="utf-8") == "second · été"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]


def test_a_failed_write_text_keeps_the_old_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "metrics.json"
    target.write_text("old")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        write_text(target, "new")
    monkeypatch.undo()
    with pytest.raises(UnicodeEncodeError):
        write_text(target, "bad \udcff")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


# --- StageStats --------------------------------------------------------------------------


def test_percentiles_on_known_inputs() -> None:
    stats = StageStats()
    for n in range(1, 101):
        stats.add({"tag": float(n), "write": 0.5})
    stats.add({"hash": 2.0})
    result = stats.percentiles()
    assert result["tag"] == {"p50": pytest.approx(50.5), "p95": pytest.approx(95.05), "count": 100}
    assert result["write"] == {"p50": 0.5, "p95": 0.5, "count": 100}
    assert result["hash"] == {"p50": 2.0, "p95": 2.0, "count": 1}


def test_percentiles_match_numpy_and_keep_a_bounded_window() -> None:
    rng = np.random.default_rng(7)
    values = rng.exponential(0.3, size=500)
    stats = StageStats(window=200)
    for value in values:
        stats.add({"total": float(value)})
    window = values[-200:]
    result = stats.percentiles()["total"]
    assert result["count"] == 200
    assert result["p50"] == pytest.approx(np.percentile(window, 50))
    assert result["p95"] == pytest.approx(np.percentile(window, 95))


# --- summary -----------------------------------------------------------------------------


def test_summary_contains_the_numbers_and_escapes_cells() -> None:
    text = render_summary(
        generated_at=DAY,
        started_at=DAY - timedelta(hours=2),
        totals={"done": 12, "failed": 2, "queued": 3},
        keyword_counts=[("cat", 7), ("R|B", 2)],
        failures=[
            {"path": "/in/bad|name\nx.jpg", "reason": "truncated JPEG", "at": "12:00"},
            {"path": "/in/empty.jpg", "error": "zero bytes"},
        ],
        recent=[{"path": "/in/cat.jpg", "title": "A cat | sleeping", "keywords": ["cat", "sofa"]}],
        backend="local",
        health="healthy",
    )
    assert "| done | 12 |" in text
    assert "| **total** | **17** |" in text
    assert "| cat | 7 |" in text
    assert "| R\\|B | 2 |" in text
    assert "| /in/bad\\|name\\nx.jpg | truncated JPEG | 12:00 |" in text
    assert "| /in/empty.jpg | zero bytes |  |" in text
    assert "| /in/cat.jpg | A cat \\| sleeping | cat, sofa |" in text
    assert "backend local (healthy)" in text
    for line in text.splitlines():
        if line.startswith("|"):
            unescaped = line.replace("\\|", "")
            assert unescaped.count("|") in (3, 4), line


def test_summary_with_nothing_yet() -> None:
    text = render_summary(
        generated_at=DAY,
        started_at=None,
        totals={},
        keyword_counts=[],
        failures=[],
        recent=[],
        backend="openai",
        health="circuit open",
    )
    assert "not running" in text
    assert "| **total** | **0** |" in text
    assert text.count("(none)") == 3
    text.encode("utf-8")


def test_summary_path_with_undecodable_bytes_is_writable(tmp_path: Path) -> None:
    text = render_summary(
        generated_at=DAY,
        started_at=DAY,
        totals={"done": 1},
        keyword_counts=[],
        failures=[{"path": os.fsdecode(b"/a\xff.jpg"), "reason": "x"}],
        recent=[],
        backend="local",
        health="ok",
    )
    assert "/a\\udcff.jpg" in text
    write_text(tmp_path / "summary.md", text)


# --- metrics -----------------------------------------------------------------------------


def test_metrics_snapshot_rates_and_bounded_history() -> None:
    stats = StageStats()
    stats.add({"tag": 1.0, "total": 2.0})
    history: deque[dict] = deque(maxlen=3)
    start = 1_000_000.0
    for minute in range(1, 6):
        snap = metrics_snapshot(
            now=start + 7200 + minute * 60,
            started_at=start,
            done_total=240 + minute,
            done_last_hour=120,
            queue_depth=4,
            in_flight=2,
            stages=stats,
            history=history,
        )
    assert snap["throughput"]["last_hour_per_min"] == pytest.approx(2.0)
    assert snap["throughput"]["since_start_per_min"] == pytest.approx(245 / 125)
    assert snap["queue_depth"] == 4 and snap["in_flight"] == 2
    assert snap["stages"]["tag"]["p50"] == 1.0
    assert len(history) == 3 and len(snap["history"]) == 3
    assert snap["history"][-1]["done_total"] == 245
    json.dumps(snap)


def test_metrics_of_a_young_daemon_use_the_time_run() -> None:
    history: deque[dict] = deque(maxlen=10)
    snap = metrics_snapshot(
        now=600.0,
        started_at=0.0,
        done_total=30,
        done_last_hour=30,
        queue_depth=0,
        in_flight=0,
        stages=StageStats(),
        history=history,
    )
    assert snap["throughput"]["last_hour_per_min"] == pytest.approx(3.0)
    zero = metrics_snapshot(
        now=5.0,
        started_at=5.0,
        done_total=0,
        done_last_hour=0,
        queue_depth=0,
        in_flight=0,
        stages=StageStats(),
        history=history,
    )
    assert zero["throughput"]["last_hour_per_min"] == 0.0
    assert zero["stages"] == {}


def test_the_summary_escapes_the_same_characters_on_its_fast_path() -> None:
    # text with none of them is returned as it is, without a look at each character
    import unicodedata

    from phototag.reporting import summary

    for code in range(0x110000):
        ch = chr(code)
        escaped = ch in "\n\r\t" or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")
        assert bool(summary._ESCAPED.search(ch)) is escaped, hex(code)
        if not escaped:
            assert summary._text(f"a{ch}b") == f"a{ch}b"
    assert summary._text("a\nb\x00\u2028\udcff") == "a\\nb\\x00\\u2028\\udcff"
