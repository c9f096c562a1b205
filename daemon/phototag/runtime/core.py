"""The tagging core: the tagger, its health circuit and the pipeline, built together from
one ``Settings``.

A reload that changes what they read builds a new core and swaps it in; jobs already
running finish on the old one, which closes its tagger after the last of them. (While
both run, each pipeline bounds its own decoding to ``workers``; the worker threads, whose
number is fixed, bound the two together.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from phototag.config import Settings
from phototag.domain import Health
from phototag.processing.circuit import Circuit
from phototag.processing.pipeline import Outcome, Pipeline, PipelineOptions, companion_for
from phototag.store.queue import Index
from phototag.store.records import Job
from phototag.taggers import Paced, Tagger, make_tagger


class Core:
    """``on_outcome(outcome, backend)`` gets every finished job; ``on_health`` every change
    of the backend's health. Thread-safe."""

    def __init__(
        self,
        settings: Settings,
        *,
        index: Index,
        on_health: Callable[[Health], None],
        on_outcome: Callable[[Outcome, str], None],
    ) -> None:
        self.tagger: Tagger = make_tagger(settings)
        self.circuit = Circuit(
            tagger=self.tagger, interval_s=settings.vlm.preflight_interval_s, on_change=on_health
        )
        self.pipeline = Pipeline(
            options=PipelineOptions.from_settings(settings, paced=isinstance(self.tagger, Paced)),
            index=index,
            tagger=self.tagger,
            circuit=self.circuit,
            on_outcome=lambda outcome: on_outcome(outcome, self.tagger.name),
            companion=companion_for(settings, self.tagger),
        )
        self._lock = threading.Lock()
        self._running = 0  # jobs in this core's pipeline now
        self._retired = False
        self._closed = False

    def start(self) -> None:
        """Preflight the backend (on this thread), then keep checking it."""
        self.circuit.start()

    def enter(self) -> bool:
        """Count a job in; False once the core is retired (take the new one instead)."""
        with self._lock:
            if self._retired:
                return False
            self._running += 1
            return True

    def process(self, job: Job) -> Outcome:
        """Run one job that :meth:`enter` counted in."""
        try:
            return self.pipeline.process(job)
        finally:
            with self._lock:
                self._running -= 1
                last = self._retired and self._running == 0
            if last:
                self._close()

    def retire(self) -> None:
        """No new jobs: close now if none runs, else after the last one."""
        self.circuit.stop()
        with self._lock:
            self._retired = True
            idle = self._running == 0
        if idle:
            self._close()

    def close(self) -> None:
        """At the daemon's stop (the workers have stopped)."""
        self.circuit.stop()
        self._close()

    def _close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.tagger.close()
