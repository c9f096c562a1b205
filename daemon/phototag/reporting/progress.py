"""Backlog progress: how much of a catch-up is done, how fast, and when it will end.

:class:`BacklogTracker` turns the daemon's running totals into a :class:`Backlog` (pure,
clock passed in); :func:`render_bar` draws one terminal line from it and
:class:`ProgressBar` redraws that line on a terminal's stderr, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TextIO

BAR_WIDTH_CHARS = 28
MIN_RATE_SAMPLE_S = 1.0  # no rate (nor ETA) before this much time has passed


@dataclass(frozen=True, slots=True)
class Backlog:
    """One stretch of work: from the moment something was pending until nothing is."""

    finished: int  # files finished (tagged, failed or gone) since the backlog began
    remaining: int  # queued, in flight or settling
    elapsed_s: float

    @property
    def total(self) -> int:
        return self.finished + self.remaining

    @property
    def rate_per_s(self) -> float | None:
        if self.elapsed_s < MIN_RATE_SAMPLE_S or not self.finished:
            return None
        return self.finished / self.elapsed_s

    @property
    def eta_s(self) -> float | None:
        rate = self.rate_per_s
        return self.remaining / rate if rate else None

    def as_json(self) -> dict[str, Any]:
        rate, eta = self.rate_per_s, self.eta_s
        return {
            "done": self.finished,
            "total": self.total,
            "remaining": self.remaining,
            "elapsed_s": round(self.elapsed_s, 1),
            "rate_per_s": round(rate, 3) if rate is not None else None,
            "eta_s": round(eta, 1) if eta is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Waiting:
    """A one-shot run waiting for an unavailable backend: since when, until when, why."""

    waited_s: float
    max_wait_s: float
    reason: str

    def render(self) -> str:
        waited, limit = format_duration(self.waited_s), format_duration(self.max_wait_s)
        return f"waiting for the backend {waited} of {limit}: {self.reason}"


class BacklogTracker:
    """Feeds on (time, files finished so far, files remaining). A backlog is what was
    finished since the daemon was last seen idle, plus what remains; it ends when nothing
    remains, so a daemon idle for hours shows no stale rate."""

    def __init__(self) -> None:
        self._idle_at_s: float | None = None  # last observation with nothing remaining
        self._began_at_s: float | None = None
        self._finished_before = 0

    def observe(self, *, now_s: float, finished_total: int, remaining: int) -> Backlog:
        """The backlog now; the observation that finds nothing remaining shows it complete."""
        began = self._began_at_s
        if began is None:
            began = now_s if self._idle_at_s is None else self._idle_at_s
        backlog = Backlog(
            finished=finished_total - self._finished_before,
            remaining=remaining,
            elapsed_s=now_s - began,
        )
        if remaining:
            self._began_at_s = began
        else:
            self._idle_at_s, self._began_at_s = now_s, None
            self._finished_before = finished_total
        return backlog


def format_duration(seconds: float) -> str:
    """``1:02:03``, ``2:03``: hours only when needed."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def render_bar(
    backlog: Backlog,
    *,
    failed: int = 0,
    waiting: Waiting | None = None,
    width_chars: int = BAR_WIDTH_CHARS,
) -> str:
    """``[#########.........] 45/100  45%  3.2/s  ETA 0:17  (2 failed)``, and while the
    backend is unavailable ``waiting for the backend 0:12 of 5:00: <reason>`` after it."""
    total = backlog.total
    share = backlog.finished / total if total else 1.0
    filled = int(share * width_chars)
    rate, eta = backlog.rate_per_s, backlog.eta_s
    parts = [
        f"[{'#' * filled}{'.' * (width_chars - filled)}] {backlog.finished}/{total}",
        f"{share:4.0%}",
        f"{rate:.1f}/s" if rate is not None else "-.-/s",
        f"ETA {format_duration(eta)}" if eta is not None else "ETA --:--",
    ]
    if failed:
        parts.append(f"({failed} failed)")
    if waiting is not None:
        parts.append(waiting.render())
    return "  ".join(parts)


def render_backlog(backlog: dict[str, Any]) -> str:
    """The ``tagctl status`` line: ``120 of 5000 (2 %), 3.1/s, ETA 26:14``."""
    total = backlog["total"] or 1
    text = f"{backlog['done']} of {backlog['total']} ({backlog['done'] / total:.0%})"
    if backlog.get("rate_per_s") is not None:
        text += f", {backlog['rate_per_s']:.1f}/s"
    if backlog.get("eta_s") is not None:
        text += f", ETA {format_duration(backlog['eta_s'])}"
    return text


class ProgressBar:
    """Redraws one line on ``stream`` if it is a terminal; does nothing otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._enabled = stream.isatty()
        self._drawn = False

    def update(self, backlog: Backlog, *, failed: int, waiting: Waiting | None = None) -> None:
        if not self._enabled or backlog.total == 0:
            return
        self._stream.write("\r\x1b[K" + render_bar(backlog, failed=failed, waiting=waiting))
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False


def summary_line(summary: dict[str, Any]) -> str:
    """``phototag: 98 tagged, 2 failed in 0:35 (2.8/s)`` for the end of a one-shot run."""
    finished = summary["tagged"] + summary["failed"]
    elapsed = summary["elapsed_s"]
    text = f"phototag: {summary['tagged']} tagged, {summary['failed']} failed"
    text += f" in {format_duration(elapsed)}"
    if finished and elapsed > 0:
        text += f" ({finished / elapsed:.1f}/s)"
    if summary.get("gave_up"):
        text += f"; stopped early, {summary['gave_up']}"
    return text
