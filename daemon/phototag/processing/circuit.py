"""The backend circuit: preflight at start and on a schedule; pause the workers while the
backend is unhealthy, resume by itself when a preflight passes. Nothing is failed meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from loguru import logger

from phototag.domain import Health
from phototag.errors import BackendUnavailable
from phototag.taggers import Tagger

RETRY_WHILE_OPEN_S = (2.0, 5.0, 10.0, 30.0)  # preflight again sooner while unhealthy


class Circuit:
    """Closed (healthy): workers run. Open (unhealthy): workers wait, a preflight retries."""

    def __init__(
        self,
        *,
        tagger: Tagger,
        interval_s: float,
        failure_threshold: int = 3,
        on_change: Callable[[Health], None] | None = None,
    ) -> None:
        self._tagger = tagger
        self._interval_s = interval_s
        self._threshold = failure_threshold
        self._on_change = on_change
        self._lock = threading.Lock()
        self._healthy = threading.Event()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._failures = 0
        self._state = Health(ok=False, reason="not checked yet", checked_at=time.time())
        self._since = time.time()
        self._thread = threading.Thread(target=self._run, name="preflight", daemon=True)

    @property
    def state(self) -> Health:
        return self._state

    @property
    def since(self) -> float:
        """When the current state (healthy or not) began."""
        return self._since

    @property
    def healthy(self) -> bool:
        return self._healthy.is_set()

    def describe(self) -> str:
        if self.healthy:
            return "ok"
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self._since))
        return f"unhealthy since {when} ({self._state.reason})"

    def start(self) -> None:
        self.check_now()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def wait_healthy(self, timeout_s: float) -> bool:
        return self._healthy.wait(timeout_s)

    def check_now(self) -> Health:
        started = time.monotonic()
        try:
            health = self._tagger.preflight()
        except Exception as exc:  # a preflight must never take the daemon down
            health = Health(ok=False, reason=f"preflight crashed: {exc}", checked_at=time.time())
        logger.debug("preflight took {:.2f}s: {}", time.monotonic() - started, health)
        self._set(health)
        return health

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0

    def record_failure(self, exc: BackendUnavailable) -> None:
        """A request failed even after its retries: after a few, open the circuit."""
        with self._lock:
            self._failures += 1
            trip = exc.permanent or self._failures >= self._threshold
        if trip and self.healthy:
            self._set(
                Health(ok=False, reason=str(exc), checked_at=time.time(), permanent=exc.permanent)
            )
            self._wake.set()

    def _set(self, health: Health) -> None:
        with self._lock:
            changed = health.ok != self._healthy.is_set() or (
                not health.ok and health.reason != self._state.reason
            )
            if health.ok != self._healthy.is_set():
                self._since = time.time()
            self._state = health
            if health.ok:
                self._failures = 0
                self._healthy.set()
            else:
                self._healthy.clear()
        if changed:
            if health.ok:
                logger.info("backend healthy: {}", self._tagger.name)
            else:
                logger.error("backend unhealthy, pausing: {}", health.reason)
            if self._on_change is not None:
                self._on_change(health)

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            if self.healthy:
                attempt = 0
                wait_s = self._interval_s
            else:
                wait_s = RETRY_WHILE_OPEN_S[min(attempt, len(RETRY_WHILE_OPEN_S) - 1)]
                attempt += 1
            self._wake.wait(wait_s)
            self._wake.clear()
            if not self._stop.is_set():
                self.check_now()
