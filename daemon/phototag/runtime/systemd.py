"""Talking to systemd: sd_notify messages and the thread that pets its watchdog.

("Heartbeat" means something else in phototag: the daemon's state record in the index,
which ``tagctl status`` reads.)

Messages go through systemd-python's ``systemd.daemon.notify`` when it is installed
(the ``systemd`` extra), else through a few lines of socket code, so the base install
needs no compiler. Outside systemd (no ``$NOTIFY_SOCKET``) every call is a cheap no-op
that returns False.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable

from loguru import logger

try:
    from systemd import daemon as _sd_daemon
except ImportError:  # the base install: no systemd-python
    _sd_daemon = None


def notify(
    *,
    ready: bool = False,
    status: str | None = None,
    watchdog: bool = False,
    stopping: bool = False,
    reloading: bool = False,
) -> bool:
    """Send one sd_notify message; True when systemd received it."""
    lines = []
    if ready:
        lines.append("READY=1")
    if reloading:
        lines.append("RELOADING=1")
        lines.append(f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")
    if stopping:
        lines.append("STOPPING=1")
    if watchdog:
        lines.append("WATCHDOG=1")
    if status is not None:
        lines.append("STATUS=" + " ".join(status.split()))
    if not lines or not os.environ.get("NOTIFY_SOCKET"):
        return False
    message = "\n".join(lines)
    try:
        if _sd_daemon is not None:
            return bool(_sd_daemon.notify(message))
        return _send(message)
    except OSError as exc:
        logger.debug("sd_notify failed: {}", exc)
        return False


def _send(message: str) -> bool:
    """The pure-socket sd_notify: one datagram to $NOTIFY_SOCKET ('@' = abstract name)."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address.startswith(("/", "@")):
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.sendto(message.encode(), address)
    return True


def watchdog_interval_s() -> float | None:
    """The watchdog timeout systemd expects us to beat, or None when there is none."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000


class Watchdog:
    """A thread that pets systemd's watchdog while the daemon is healthy and keeps STATUS= current.

    ``is_alive`` answers "has the pipeline made progress, or is it idle but healthy?";
    while it returns False (or raises) no ``WATCHDOG=1`` is sent, so systemd kills and
    restarts a stuck daemon after ``WatchdogSec``. ``status_line`` is sent whenever it
    changes.
    """

    def __init__(
        self,
        *,
        is_alive: Callable[[], bool],
        status_line: Callable[[], str],
        status_interval_s: float = 5.0,
    ) -> None:
        self._is_alive = is_alive
        self._status_line = status_line
        watchdog_s = watchdog_interval_s()
        self.beat_interval_s = watchdog_s / 2 if watchdog_s else None
        self.tick_s = min(status_interval_s, self.beat_interval_s or status_interval_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_status: str | None = None
        self._stuck = False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def beat(self) -> None:
        """One round: pet the watchdog if alive, send the status if it changed."""
        if self.beat_interval_s is not None:
            alive = self._check_alive()
            if alive:
                notify(watchdog=True)
            if alive == self._stuck:
                self._stuck = not alive
                if self._stuck:
                    logger.warning("pipeline made no progress: no longer petting the watchdog")
                else:
                    logger.info("pipeline is moving again: petting the watchdog")
        try:
            line = self._status_line()
        except Exception:
            logger.exception("status line failed")
            return
        if line != self._last_status and notify(status=line):
            self._last_status = line

    def _check_alive(self) -> bool:
        try:
            return bool(self._is_alive())
        except Exception:
            logger.exception("liveness check failed; treating the pipeline as stuck")
            return False

    def _run(self) -> None:
        while True:
            self.beat()
            if self._stop.wait(self.tick_s):
                return
