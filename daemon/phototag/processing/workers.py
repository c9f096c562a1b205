"""The worker pool: a feeder claims jobs from the durable queue into a bounded in-memory
queue; ``threads`` workers take them one at a time. A stop sentinel ends each worker.

Backpressure: the feeder claims only when the bounded queue has room, so memory holds at
most ``2 * threads`` jobs however long the durable queue is. Pausing (by a person or by
the circuit) stops the feeder; jobs already handed out finish.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from loguru import logger

from phototag.store.queue import Index
from phototag.store.records import Job

_STOP = object()


class WorkerPool:
    def __init__(
        self,
        *,
        index: Index,
        process: Callable[[Job], object],
        threads: int,
        may_run: Callable[[float], bool],
    ) -> None:
        """``may_run(timeout_s)`` blocks up to timeout_s and says whether work may start."""
        self._index = index
        self._process = process
        self._threads_n = threads
        self._may_run = may_run
        self._jobs: queue.Queue[object] = queue.Queue(maxsize=threads)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: dict[int, Job] = {}
        self._unrecorded: list[Job] = []  # failed to record (index unwritable): re-queue later
        self._workers = [
            threading.Thread(target=self._work, name=f"worker-{i}", daemon=True)
            for i in range(threads)
        ]
        self._feeder = threading.Thread(target=self._feed, name="feeder", daemon=True)
        self.last_progress = time.monotonic()

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._in_flight)

    @property
    def handed_out(self) -> int:
        """Jobs claimed from the index and not finished: running plus waiting in memory."""
        return self.in_flight + self._jobs.qsize()

    def start(self) -> None:
        for worker in self._workers:
            worker.start()
        self._feeder.start()

    def notify(self) -> None:
        """Something was queued: look at the index now instead of at the next poll."""
        self._wake.set()

    def stop(self, *, timeout_s: float = 8.0) -> None:
        """Stop taking work, finish what is in flight (up to ``timeout_s``), re-queue the rest."""
        self._stopping.set()
        self._wake.set()
        self._feeder.join(timeout=5)
        waiting = self._drain()
        for job in waiting:
            self._index.requeue(job.id)
        for _ in self._workers:
            self._jobs.put(_STOP)
        deadline = time.monotonic() + timeout_s
        for worker in self._workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:
            stuck = list(self._in_flight.values())
        if stuck:  # left as "processing": re-queued at the next start
            logger.warning("{} job(s) still running at shutdown; they will be redone", len(stuck))

    def _drain(self) -> list[Job]:
        drained: list[Job] = []
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                return drained
            if isinstance(item, Job):
                drained.append(item)

    def _feed(self) -> None:
        while not self._stopping.is_set():
            self._requeue_unrecorded()
            if not self._may_run(0.5):
                continue
            room = self._jobs.maxsize - self._jobs.qsize()
            jobs = self._index.claim(room) if room > 0 else []
            for job in jobs:
                self._jobs.put(job)
            if not jobs:  # nothing queued, or no room: until a job is queued or finishes
                self._wake.wait(0.5)
                self._wake.clear()

    def _requeue_unrecorded(self) -> None:
        """A job whose end could not be recorded (e.g. the index's disk was full) would stay
        "processing" until a restart: put it back in the queue once the index takes it."""
        with self._lock:
            jobs, self._unrecorded = self._unrecorded, []
        for i, job in enumerate(jobs):
            try:
                self._index.requeue(job.id)
            except Exception:
                with self._lock:
                    self._unrecorded += jobs[i:]
                return

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is _STOP:
                return
            assert isinstance(item, Job)
            with self._lock:
                self._in_flight[item.id] = item
            try:
                self._process(item)
            except Exception:  # process() records its own errors; this is a last resort
                logger.exception("worker: unexpected error on job {}", item.id)
                with self._lock:
                    self._unrecorded.append(item)
            finally:
                with self._lock:
                    self._in_flight.pop(item.id, None)
                self.last_progress = time.monotonic()
                self._wake.set()
