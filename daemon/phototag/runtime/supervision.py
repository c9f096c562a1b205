"""How a running daemon answers to the outside: systemd (READY, STATUS, WATCHDOG, STOPPING,
RELOADING), the control socket behind tagctl, and configuration reloads on SIGHUP."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from loguru import logger

from phototag.config import Settings
from phototag.errors import ConfigError
from phototag.runtime.commands import Commands
from phototag.runtime.control import ControlServer
from phototag.runtime.systemd import Heartbeat, notify

if TYPE_CHECKING:
    from phototag.runtime.daemon import Daemon

MIN_STUCK_S = 300.0
LIVE_SETTINGS = (
    "log_level",
    "dry_run",
    "max_keywords",
    "metadata",
    "outputs",
    "reconcile_interval_s",
)


class Supervision:
    def __init__(self, daemon: Daemon, *, reload: Callable[[], Settings] | None) -> None:
        self._d = daemon
        self._reload = reload
        self._control = ControlServer(
            path=daemon.settings.socket_path, handlers=Commands(daemon).handlers()
        )
        self._heartbeat = Heartbeat(is_alive=self.is_alive, status_line=self.status_line)

    def open(self) -> None:
        """Take the control socket first: raises ControlSocketBusy if a daemon already runs."""
        self._control.start()

    def ready(self) -> None:
        """Tell systemd we are ready (the catch-up scan is queued); start the heartbeat."""
        notify(ready=True, status=self.status_line())
        self._heartbeat.start()

    def stopping(self) -> None:
        notify(stopping=True, status="stopping: finishing the photos in flight")

    def stop(self) -> None:
        self._control.stop()
        self._heartbeat.stop()

    def status_line(self) -> str:
        counts = self._d.index.reader().counts()
        parts = [
            f"{counts['done']} tagged",
            f"{counts['queued']} queued",
            f"{counts['failed']} failed",
        ]
        if self._d.paused:
            parts.append("paused")
        parts += [f"watched folder missing: {root}" for root in self._d.watchers.vanished]
        circuit = self._d.circuit
        parts.append("backend ok" if circuit.healthy else f"backend down: {circuit.state.reason}")
        return ", ".join(parts)

    def is_alive(self) -> bool:
        """True while the pipeline makes progress or has good reason to wait."""
        d = self._d
        if d.paused or not d.circuit.healthy or d.pool.in_flight == 0:
            return True
        vlm = d.settings.vlm
        limit_s = max(MIN_STUCK_S, vlm.timeout_s * (vlm.max_retries + 1))
        return time.monotonic() - d.pool.last_progress < limit_s

    def reload(self) -> None:
        """SIGHUP: re-read the configuration; apply what can change while running."""
        if self._reload is None:
            return
        notify(reloading=True, status="reloading the configuration")
        try:
            new = self._reload()
        except ConfigError as exc:
            logger.error("reload refused, keeping the running configuration: {}", exc)
        else:
            self._apply(new)
        notify(ready=True, status=self.status_line())

    def _apply(self, new: Settings) -> None:
        current = self._d.settings
        for name in LIVE_SETTINGS:
            setattr(current, name, getattr(new, name))
        from phototag.runtime.logsetup import setup_logging

        setup_logging(level=current.log_level)
        fixed = [
            n
            for n in Settings.model_fields
            if n not in LIVE_SETTINGS and getattr(new, n) != getattr(current, n)
        ]
        if fixed:
            logger.warning("reloaded; these need a restart to change: {}", ", ".join(fixed))
        else:
            logger.info("configuration reloaded")
