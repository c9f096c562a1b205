"""How a running daemon answers to systemd: READY, RELOADING, STOPPING, STATUS= and the
watchdog. It sees the daemon only through :class:`Controls` and two figures it is given."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from phototag.runtime.controls import Controls
from phototag.runtime.systemd import Watchdog, notify

MIN_STUCK_S = 300.0


def stuck_after_s(*, timeout_s: float, max_retries: int) -> float:
    """How long a job in flight may go without any finishing before the pipeline counts
    as stuck: one request with all its retries, and never under five minutes."""
    return max(MIN_STUCK_S, timeout_s * (max_retries + 1))


def status_line(status: Mapping[str, Any]) -> str:
    """systemd's STATUS= line, from :meth:`Controls.status`."""
    counts = status["counts"]
    parts = [f"{counts['done']} tagged", f"{counts['queued']} queued", f"{counts['failed']} failed"]
    if status["paused"]:
        parts.append("paused")
    parts += [f"watched folder missing: {root}" for root in status["vanished_roots"]]
    health = status["health"]
    parts.append("backend ok" if health["ok"] else f"backend down: {health['reason']}")
    return ", ".join(parts)


def is_alive(status: Mapping[str, Any], *, quiet_s: float, stuck_after_s: float) -> bool:
    """True while the pipeline makes progress or has good reason to wait: paused, the
    backend down, nothing in flight, or a job finished within ``stuck_after_s``
    (``quiet_s``: how long ago the last one did)."""
    if status["paused"] or not status["health"]["ok"] or status["in_flight"] == 0:
        return True
    return quiet_s < stuck_after_s


class Supervision:
    """The systemd side of a daemon.

    ``progress_at`` gives the ``time.monotonic()`` at which a job last finished;
    ``stuck_after`` how long a job in flight may take (the backend's settings, which a
    reload may change).
    """

    def __init__(
        self,
        controls: Controls,
        *,
        progress_at: Callable[[], float],
        stuck_after: Callable[[], float],
    ) -> None:
        self._controls = controls
        self._progress_at = progress_at
        self._stuck_after = stuck_after
        self._watchdog = Watchdog(is_alive=self.is_alive, status_line=self.status_line)

    def ready(self) -> None:
        """Tell systemd we are ready (the catch-up scan is queued, or a reload is done);
        the watchdog thread runs from the first time on."""
        notify(ready=True, status=self.status_line())
        self._watchdog.start()

    def reloading(self) -> None:
        notify(reloading=True, status="reloading the configuration")

    def stopping(self) -> None:
        notify(stopping=True, status="stopping: finishing the photos in flight")

    def stop(self) -> None:
        self._watchdog.stop()

    def status_line(self) -> str:
        return status_line(self._controls.status())

    def is_alive(self) -> bool:
        return is_alive(
            self._controls.status(),
            quiet_s=time.monotonic() - self._progress_at(),
            stuck_after_s=self._stuck_after(),
        )
