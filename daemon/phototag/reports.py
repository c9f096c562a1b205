"""What the daemon leaves in its state folder: a rolling JSONL log, a Markdown summary and
a metrics JSON.

* :class:`JsonlLog` appends one line per finished image and makes it durable before
  returning, so a crash loses nothing that was reported; files roll by day and by size
  and old ones are removed after ``retention_days``.
* :func:`render_summary` and :func:`metrics_snapshot` are pure; the caller writes their
  output with :func:`phototag.atomic.write_text`, so a reader never sees a half-written file.
* :class:`StageStats` keeps a bounded window of per-stage durations for the p50/p95.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import unicodedata
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from phototag.atomic import fsync_dir

JSONL_PREFIX = "phototag-"
_JSONL_NAME = re.compile(r"phototag-(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.jsonl")


def _local_now() -> datetime:
    return datetime.now().astimezone()


def _json_default(value: object) -> object:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_line(record: Mapping[str, Any]) -> bytes:
    """One JSON line, UTF-8. A path's undecodable bytes (lone surrogates from
    ``os.fsdecode``) become ``\\udcXX`` escapes, which ``json.loads`` turns back into them."""
    text = json.dumps(record, ensure_ascii=False, default=_json_default, separators=(",", ":"))
    return (text + "\n").encode("utf-8", "backslashreplace")


class JsonlLog:
    """``phototag-YYYY-MM-DD.jsonl``, then ``phototag-YYYY-MM-DD.1.jsonl``, ... (thread-safe)."""

    def __init__(
        self,
        *,
        folder: Path,
        max_bytes: int,
        retention_days: int,
        clock: Callable[[], datetime] = _local_now,
    ) -> None:
        self._folder = folder
        self._max_bytes = max_bytes
        self._retention_days = retention_days
        self._clock = clock
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)
        self._day = clock().date()
        self._prune()
        self._index = self._last_index(self._day)
        self._fd: int | None = None
        self._open()

    @property
    def current_path(self) -> Path:
        return self._folder / _jsonl_name(self._day, self._index)

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one line and fsync it; it is on disk when this returns."""
        line = json_line(record)
        with self._lock:
            if self._fd is None:
                raise ValueError("the JSONL log is closed")
            day = self._clock().date()
            if day != self._day:
                self._day, self._index = day, self._last_index(day)
                self._prune()
                self._reopen()
            size = os.fstat(self._fd).st_size
            if size and size + len(line) > self._max_bytes:
                self._index += 1
                self._reopen()
            _write_all(self._fd, line)
            os.fsync(self._fd)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _open(self) -> None:
        path = self.current_path
        created = not path.exists()
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        if created:
            fsync_dir(self._folder)

    def _reopen(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._open()

    def _last_index(self, day: date) -> int:
        """The highest roll number already used for ``day`` (0 if none)."""
        indexes = [index for found, index, _ in self._files() if found == day]
        return max(indexes, default=0)

    def _files(self) -> list[tuple[date, int, Path]]:
        found = []
        for path in self._folder.iterdir():
            match = _JSONL_NAME.fullmatch(path.name)
            if match is None:
                continue
            try:
                day = date.fromisoformat(match[1])
            except ValueError:
                continue
            found.append((day, int(match[2] or 0), path))
        return found

    def _prune(self) -> None:
        """Remove log files more than ``retention_days`` older than today."""
        oldest_kept = self._day - timedelta(days=self._retention_days)
        for day, _index, path in self._files():
            if day < oldest_kept:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()


def _jsonl_name(day: date, index: int) -> str:
    roll = f".{index}" if index else ""
    return f"{JSONL_PREFIX}{day.isoformat()}{roll}.jsonl"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class StageStats:
    """The last ``window`` durations of each stage; p50/p95 by linear interpolation."""

    def __init__(self, *, window: int = 1000) -> None:
        self._window = window
        self._lock = threading.Lock()
        self._samples: dict[str, deque[float]] = {}

    def add(self, durations_s: Mapping[str, float]) -> None:
        with self._lock:
            for stage, seconds in durations_s.items():
                self._samples.setdefault(stage, deque(maxlen=self._window)).append(seconds)

    def percentiles(self) -> dict[str, dict[str, float]]:
        with self._lock:
            snapshot = {stage: sorted(values) for stage, values in self._samples.items()}
        return {
            stage: {"p50": _quantile(values, 0.50), "p95": _quantile(values, 0.95),
                    "count": len(values)}
            for stage, values in snapshot.items()
        }


def _quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, interpolated between closest ranks (numpy's default)."""
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def metrics_snapshot(
    *,
    now: float,
    started_at: float,
    done_total: int,
    done_last_hour: int,
    queue_depth: int,
    in_flight: int,
    stages: StageStats,
    history: deque[dict[str, Any]],
) -> dict[str, Any]:
    """The metrics file's content; appends a point to ``history`` (bounded by its maxlen).

    Times are ``time.time()`` seconds. The last-hour rate divides by the time actually run
    when the daemon is younger than an hour.
    """
    uptime_s = max(0.0, now - started_at)
    hour_s = min(uptime_s, 3600.0)
    per_min_hour = done_last_hour * 60.0 / hour_s if hour_s else 0.0
    per_min_start = done_total * 60.0 / uptime_s if uptime_s else 0.0
    history.append({"t": now, "done_total": done_total, "queue_depth": queue_depth,
                    "in_flight": in_flight, "per_min": round(per_min_hour, 3)})
    return {
        "schema": 1,
        "generated_at": now,
        "started_at": started_at,
        "uptime_s": uptime_s,
        "throughput": {
            "last_hour_per_min": per_min_hour,
            "since_start_per_min": per_min_start,
            "done_total": done_total,
            "done_last_hour": done_last_hour,
        },
        "queue_depth": queue_depth,
        "in_flight": in_flight,
        "stages": stages.percentiles(),
        "history": list(history),
    }


def render_summary(
    *,
    generated_at: datetime,
    started_at: datetime | None,
    totals: Mapping[str, int],
    keyword_counts: Sequence[tuple[str, int]],
    failures: Sequence[Mapping[str, Any]],
    recent: Sequence[Mapping[str, Any]],
    backend: str,
    health: str,
) -> str:
    """The Markdown summary. A failure has "path" and "reason" (or "error"), optionally
    "at"; a recent image has "path", "title" and "keywords"."""
    running = started_at.isoformat(timespec="seconds") if started_at else "not running"
    lines = [
        "# phototag summary",
        "",
        f"Generated {generated_at.isoformat(timespec='seconds')} · running since {running} · "
        f"backend {_text(backend)} ({_text(health)})",
        "",
        "## Totals",
        "",
        *_table(("status", "images"), [
            *((status, str(n)) for status, n in totals.items()),
            ("**total**", f"**{sum(totals.values())}**"),
        ]),
        "",
        "## Keywords",
        "",
        *_table(("keyword", "images"), [(word, str(n)) for word, n in keyword_counts]),
        "",
        "## Failures",
        "",
        *_table(("file", "reason", "when"), [
            (str(f.get("path", "")), str(f.get("reason") or f.get("error") or ""),
             str(f.get("at", ""))) for f in failures
        ]),
        "",
        "## Recent images",
        "",
        *_table(("file", "title", "keywords"), [
            (str(r.get("path", "")), str(r.get("title", "")), ", ".join(r.get("keywords") or ()))
            for r in recent
        ]),
        "",
    ]
    return "\n".join(lines)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    if not rows:
        return ["(none)"]
    out = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    out.extend("| " + " | ".join(_cell(value) for value in row) + " |" for row in rows)
    return out


def _cell(value: str) -> str:
    """Table-safe text: pipes and backslashes escaped, breaks and controls made visible."""
    return _text(value.replace("\\", "\\\\")).replace("|", "\\|")


def _text(value: str) -> str:
    """Single-line text: line breaks, control characters and lone surrogates as escapes."""
    out = []
    for ch in value:
        category = unicodedata.category(ch)
        if ch in _VISIBLE:
            out.append(_VISIBLE[ch])
        elif category == "Cc":
            out.append(f"\\x{ord(ch):02x}")
        elif category in ("Cs", "Zl", "Zp"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


_VISIBLE = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
