"""The rolling JSONL log: one durable line per finished image."""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from loguru import logger

from phototag.metadata.atomic import fsync_dir

JSONL_PREFIX = "phototag-"
# a longer gap between two days' logs is taken for a clock that jumped forward (a year
# without one photo tagged is rarer than a wrong clock): history before it is never pruned
CLOCK_JUMP_DAYS = 366


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

    def set_limits(self, *, max_bytes: int, retention_days: int) -> None:
        """Roll and prune by these limits from the next line on (a reload)."""
        with self._lock:
            self._max_bytes = max_bytes
            self._retention_days = retention_days

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
        os.fchmod(self._fd, 0o600)  # a file an older phototag (or a person) left wider too
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
        """Remove log files more than ``retention_days`` older than today, counting back
        through the files' own dates (see :func:`days_to_prune`)."""
        files = self._files()
        doomed, kept_before = days_to_prune(
            [day for day, _index, _path in files],
            today=self._day,
            retention_days=self._retention_days,
        )
        if kept_before:
            logger.warning(
                "JSONL logs up to {} are kept: the next one is more than {} days later, so "
                "the clock has probably jumped forward; remove them by hand if not",
                max(kept_before),
                CLOCK_JUMP_DAYS,
            )
        for day, _index, path in files:
            if day in doomed:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()


def days_to_prune(
    days: Iterable[date], *, today: date, retention_days: int
) -> tuple[set[date], set[date]]:
    """(log days to remove, days kept because they lie before a clock jump). Pure.

    Days are counted back from today through the dates the files carry; a gap of more than
    ``CLOCK_JUMP_DAYS`` ends the count. A clock set years ahead would otherwise make all
    of the history "older than retention_days" at once; what lies before such a gap is
    kept and reported instead. Files dated after today (the clock went back) are kept.
    """
    oldest_kept = today - timedelta(days=retention_days)
    doomed: set[date] = set()
    newer = today
    for day in sorted({d for d in days if d <= today}, reverse=True):
        if (newer - day).days > CLOCK_JUMP_DAYS:
            return doomed, {d for d in days if d <= day}
        if day < oldest_kept:
            doomed.add(day)
        newer = day
    return doomed, set()


def _jsonl_name(day: date, index: int) -> str:
    roll = f".{index}" if index else ""
    return f"{JSONL_PREFIX}{day.isoformat()}{roll}.jsonl"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
