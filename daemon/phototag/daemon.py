"""The daemon: wires watcher, intake, queue, workers, backend circuit and outputs together.

Start order: index (re-queue what a crash left) -> stale temp files removed -> backend
preflight -> watchers -> catch-up scan -> workers. Stop order is the reverse, and flushes
the summary and metrics on the way out.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

from loguru import logger

from phototag import __version__
from phototag.config import Settings
from phototag.health import Circuit
from phototag.intake import Intake
from phototag.metadata import remove_stale_temp_files
from phototag.models import Health
from phototag.pipeline import Outcome, Pipeline
from phototag.reports import JsonlLog, StageStats, metrics_snapshot, render_summary, write_atomic
from phototag.selection import Selection
from phototag.state import Index, display_path
from phototag.status import collect_status
from phototag.taggers import Tagger, make_tagger
from phototag.watch import start_observers, stop_observers
from phototag.workers import WorkerPool

HEARTBEAT_S = 2.0


class Daemon:
    def __init__(self, settings: Settings, *, once: bool = False) -> None:
        self.settings = settings
        self.once = once
        self._stop = threading.Event()
        self._paused = threading.Event()
        self.started_at = time.time()
        self.exit_code = 0
        for folder in (settings.state_dir, settings.runtime_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.index = Index(settings.index_path)
        self.selection = Selection.from_settings(settings)
        self.tagger: Tagger = make_tagger(settings)
        self.circuit = Circuit(
            tagger=self.tagger,
            interval_s=settings.vlm.preflight_interval_s,
            on_change=self._on_health,
        )
        fallback = None
        if settings.backend != "local" and settings.local.fallback:
            from phototag.taggers.local import LocalTagger

            fallback = LocalTagger(settings=settings)
        self.jsonl = JsonlLog(
            folder=settings.state_dir / "log",
            max_bytes=settings.outputs.jsonl_max_bytes,
            retention_days=settings.outputs.jsonl_retention_days,
        )
        self.stages = StageStats()
        self.metrics_history: deque[dict[str, Any]] = deque(maxlen=settings.outputs.metrics_history)
        self.pool: WorkerPool  # created in run(), after the pipeline's parts exist
        self.pipeline = Pipeline(
            settings=settings,
            index=self.index,
            tagger=self.tagger,
            circuit=self.circuit,
            fallback=fallback,
            on_outcome=self._on_outcome,
        )
        self.intake = Intake(
            index=self.index,
            selection=self.selection,
            debounce_s=settings.debounce_s,
            on_queued=self._wake_pool,
        )
        threads = settings.workers
        if settings.backend == "openai":  # requests wait on the network: keep every slot busy
            threads = max(threads, settings.vlm.max_inflight)
        self.pool = WorkerPool(
            index=self.index, process=self.pipeline.process, threads=threads, may_run=self._may_run
        )
        self._observers: list[Any] = []
        self._failed_this_run = 0
        self._done_this_run = 0

    # -- lifecycle ----------------------------------------------------------------------

    def run(self) -> int:
        requeued = self.index.requeue_processing()
        if requeued:
            logger.info("{} job(s) interrupted last time are queued again", requeued)
        for root in self.settings.roots:
            root.mkdir(parents=True, exist_ok=True)
            removed = remove_stale_temp_files(root)
            if removed:
                logger.info("removed {} temporary file(s) left by a crash under {}", removed, root)
        logger.info(
            "phototag {} watching {} with backend {}",
            __version__,
            ", ".join(map(str, self.settings.roots)),
            self.tagger.name,
        )
        self.circuit.start()
        self.intake.start()
        if not self.once:
            self._observers = start_observers(
                list(self.settings.roots),
                recursive=self.settings.recursive,
                mode=self.settings.watch_mode,
                sink=self.intake.changes,
            )
        found = self.intake.scan()
        logger.info("catch-up scan: {} new or changed file(s)", found)
        self.pool.start()
        self._heartbeat()
        self._install_signals()
        self._loop()
        self._shutdown()
        return self.exit_code

    def request_stop(self) -> None:
        self._stop.set()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.request_stop())

    def _loop(self) -> None:
        now = time.monotonic()
        next_summary = now + self.settings.outputs.summary_interval_s
        next_metrics = now + self.settings.outputs.metrics_interval_s
        next_reconcile = now + self.settings.reconcile_interval_s
        while not self._stop.wait(HEARTBEAT_S if not self.once else 0.2):
            now = time.monotonic()
            self._heartbeat()
            if now >= next_metrics:
                self.write_metrics()
                next_metrics = now + self.settings.outputs.metrics_interval_s
            if now >= next_summary:
                self.write_summary()
                next_summary = now + self.settings.outputs.summary_interval_s
            if now >= next_reconcile and not self.once:
                self.intake.scan()
                next_reconcile = now + self.settings.reconcile_interval_s
            if self.once and self._idle():
                break

    def _idle(self) -> bool:
        return (
            self.intake.pending == 0
            and self.intake.changes.empty()
            and self.pool.handed_out == 0
            and self.index.queue_depth() == 0
        )

    def _shutdown(self) -> None:
        logger.info("stopping: finishing the photos in flight")
        stop_observers(self._observers)
        self.intake.stop()
        self.pool.stop()
        self.circuit.stop()
        self.write_summary()
        self.write_metrics()
        self._heartbeat(stopped=True)
        self.jsonl.close()
        self.tagger.close()
        self.index.close()
        if self.once and self._failed_this_run:
            self.exit_code = 1
        logger.info(
            "stopped: {} tagged, {} failed this run", self._done_this_run, self._failed_this_run
        )

    # -- gates and callbacks ------------------------------------------------------------

    def _may_run(self, timeout_s: float) -> bool:
        if self._paused.is_set():
            time.sleep(timeout_s)
            return False
        if self.pipeline_has_fallback and not self.circuit.healthy:
            return True
        return self.circuit.wait_healthy(timeout_s)

    @property
    def pipeline_has_fallback(self) -> bool:
        return self.settings.backend != "local" and self.settings.local.fallback

    def _wake_pool(self) -> None:
        pool = getattr(self, "pool", None)
        if pool is not None:
            pool.notify()

    def _on_health(self, health: Health) -> None:
        self._heartbeat()

    def _on_outcome(self, outcome: Outcome) -> None:
        path = display_path(outcome.job.path)
        if outcome.status == "queued":
            logger.debug("re-queued {}: {}", path, outcome.error)
            return
        dry_run = self.settings.dry_run or not self.settings.metadata.write
        self.jsonl.append(outcome.record(dry_run=dry_run))
        if outcome.status in ("done", "adopted"):
            self._done_this_run += 1
            self.stages.add(outcome.durations_s)
            tags = outcome.result.tags if outcome.result else None
            logger.bind(path=path, job_id=outcome.job.id, backend=self.tagger.name).info(
                "tagged {}: {!r}, {} keywords ({:.2f}s)",
                path,
                tags.title if tags else "",
                len(tags.keywords) if tags else 0,
                outcome.durations_s.get("total", 0),
            )
        elif outcome.status == "failed":
            self._failed_this_run += 1
            logger.bind(path=path, job_id=outcome.job.id).warning(
                "failed {}: {}", path, outcome.error
            )
        elif outcome.status == "deleted":
            logger.info("gone before it could be tagged: {}", path)

    # -- outputs ------------------------------------------------------------------------

    def live_state(self) -> dict[str, Any]:
        health = self.circuit.state
        return {
            "pid": os.getpid(),
            "version": __version__,
            "started_at": self.started_at,
            "heartbeat_at": time.time(),
            "backend": self.tagger.name,
            "model": self.tagger.model,
            "health": {
                "ok": self.circuit.healthy,
                "reason": health.reason,
                "since": self.circuit.since,
                "description": self.circuit.describe(),
                "probes_s": health.probes_s,
            },
            "paused": self._paused.is_set(),
            "in_flight": self.pool.in_flight,
            "pending": self.intake.pending,
        }

    def _heartbeat(self, *, stopped: bool = False) -> None:
        state = self.live_state()
        if stopped:
            state["stopped_at"] = time.time()
        self.index.set_meta("daemon", state)

    def status(self) -> dict[str, Any]:
        return collect_status(self.index.reader())

    def write_summary(self) -> None:
        reader = self.index.reader()
        failures = [
            {"path": display_path(r.path), "error": r.last_error, "at": r.finished_at}
            for r in reader.records(status="failed", limit=50)
        ]
        recent = [
            {
                "path": display_path(r.path),
                "title": (r.result or {}).get("title", ""),
                "keywords": (r.result or {}).get("keywords", []),
                "at": r.finished_at,
            }
            for r in reader.records(status="done", limit=self.settings.outputs.recent_count)
        ]
        text = render_summary(
            generated_at=datetime.now().astimezone(),
            started_at=datetime.fromtimestamp(self.started_at).astimezone(),
            totals=reader.counts(),
            keyword_counts=reader.top_keywords(50),
            failures=failures,
            recent=recent,
            backend=f"{self.tagger.name} ({self.tagger.model})",
            health=self.circuit.describe(),
        )
        _safe_write(self.settings.state_dir / "summary.md", text)

    def write_metrics(self) -> None:
        import json

        reader = self.index.reader()
        counts = reader.counts()
        snapshot = metrics_snapshot(
            now=time.time(),
            started_at=self.started_at,
            done_total=counts["done"],
            done_last_hour=reader.done_since(time.time() - 3600),
            queue_depth=counts["queued"],
            in_flight=self.pool.in_flight,
            stages=self.stages,
            history=self.metrics_history,
        )
        _safe_write(self.settings.state_dir / "metrics.json", json.dumps(snapshot, indent=2))


def _safe_write(path: Path, text: str) -> None:
    try:
        write_atomic(path, text)
    except OSError as exc:
        logger.error("cannot write {}: {}", path, exc)
