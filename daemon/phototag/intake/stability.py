"""Is this file finished arriving? A thread-free tracker keyed by path, clock injected.

Every event for a path (re)starts its quiet timer and records the file's size and mtime.
A path is due once it has been quiet for ``debounce_s`` *and* a second look at the file
finds the same size and mtime as at its last event. A changed file restarts its timer; a
vanished one is dropped. One path is tracked once, so a burst of events yields one job.

A path last seen being written (``writing=True``) and not closed since is still open in
its writer, who may only have paused (a phone sync, a network copy): it waits for the
close (``writing=False``), or, where closes are never seen (polling), ``writer_quiet_s``.

The owner calls :meth:`StabilityTracker.touch` from its event loop and :meth:`due` after
waiting :meth:`next_deadline_s`; the tracker itself never sleeps nor locks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from phototag.domain import FileSig


def stat_or_none(path: Path) -> FileSig | None:
    """The file's signature now, or None if it is not there."""
    try:
        return FileSig.of(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


@dataclass(frozen=True, slots=True)
class _Pending:
    sig: FileSig | None  # as seen at the last event or check
    since_s: float  # clock time of that event or check
    writing: bool = False  # written to and not closed since


class StabilityTracker:
    def __init__(
        self,
        *,
        debounce_s: float,
        writer_quiet_s: float,
        clock: Callable[[], float] = time.monotonic,
        stat: Callable[[Path], FileSig | None] = stat_or_none,
    ) -> None:
        if debounce_s < 0 or writer_quiet_s < 0:
            raise ValueError("debounce_s and writer_quiet_s must not be negative")
        self._debounce_s = debounce_s
        self._writer_quiet_s = max(writer_quiet_s, debounce_s)
        self._clock = clock
        self._stat = stat
        self._pending: dict[Path, _Pending] = {}

    def touch(self, path: Path, *, writing: bool | None = None) -> None:
        """An event was seen for ``path``: restart its quiet timer from a fresh stat.

        ``writing`` is True for a write, False for a close after writing, None for an
        event that says neither (created, moved in, a scan): the last known state stays.
        """
        if writing is None:
            previous = self._pending.get(path)
            writing = previous is not None and previous.writing
        self._pending[path] = _Pending(sig=self._stat(path), since_s=self._clock(), writing=writing)

    def forget(self, path: Path) -> None:
        """``path`` was deleted or moved away; stop tracking it."""
        self._pending.pop(path, None)

    def due(self) -> list[Path]:
        """Paths quiet for ``debounce_s`` and unchanged since their last event, oldest first.

        They stop being tracked. A path that changed meanwhile starts a new quiet period;
        one that vanished is dropped.
        """
        now = self._clock()
        ready: list[Path] = []
        for path, pending in sorted(self._pending.items(), key=lambda item: item[1].since_s):
            if now < self._deadline_s(pending):
                continue
            sig = self._stat(path)
            if sig is None:
                del self._pending[path]
            elif sig == pending.sig:
                del self._pending[path]
                ready.append(path)
            else:
                self._pending[path] = _Pending(sig=sig, since_s=now, writing=pending.writing)
        return ready

    def next_deadline_s(self) -> float | None:
        """Seconds until the earliest path may be due (0 if one is), None if none is tracked."""
        if not self._pending:
            return None
        earliest = min(self._deadline_s(pending) for pending in self._pending.values())
        return max(0.0, earliest - self._clock())

    def _deadline_s(self, pending: _Pending) -> float:
        quiet_s = self._writer_quiet_s if pending.writing else self._debounce_s
        return pending.since_s + quiet_s

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, path: object) -> bool:
        return path in self._pending
