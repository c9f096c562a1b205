"""What the daemon reports about finished work: one JSONL line and one log line per photo,
the Markdown summary, metrics.json and (optionally) the Prometheus textfile."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from loguru import logger

from phototag.config import MetadataSettings, OutputSettings
from phototag.metadata.atomic import write_text
from phototag.processing.pipeline import Outcome
from phototag.reporting.history import HISTORY_NAME, append_run, previous_window, run_entry
from phototag.reporting.html import PersonKeywords, write_page
from phototag.reporting.jsonl import JsonlLog
from phototag.reporting.metrics import StageStats, metrics_snapshot
from phototag.reporting.prometheus import prom_metrics, write_prom
from phototag.reporting.summary import RUN_LIST_MAX, render_summary, run_item
from phototag.states import Ending, Status
from phototag.store.queue import Index
from phototag.store.reader import IndexReader
from phototag.store.records import display_path


class Outputs:
    """The files under ``state_dir`` that report on the work, written as ``settings`` say.

    ``metadata`` (the summary page reads a person's keywords with it) and
    ``writes_metadata`` (a dry run's records say so) come from the daemon's settings.
    """

    def __init__(
        self,
        *,
        settings: OutputSettings,
        state_dir: Path,
        metadata: MetadataSettings,
        writes_metadata: bool,
        index: Index,
        started_at: float,
    ) -> None:
        self._state_dir = state_dir
        self._index = index
        self._started_at = started_at
        self.jsonl = JsonlLog(
            folder=state_dir / "log",
            max_bytes=settings.jsonl_max_bytes,
            retention_days=settings.jsonl_retention_days,
        )
        self._stages = StageStats()
        # the rolling window goes on from the last run's metrics.json (restarts included)
        self._history: deque[dict[str, Any]] = deque(previous_window(state_dir / "metrics.json"))
        self.reconfigure(settings, metadata=metadata, writes_metadata=writes_metadata)
        self._counts_lock = threading.Lock()  # record() runs on every worker thread
        self.done_this_run = 0
        self.failed_this_run = 0

    def reconfigure(
        self, settings: OutputSettings, *, metadata: MetadataSettings, writes_metadata: bool
    ) -> None:
        """Write as these settings say from now on (a reload); the counts and the metrics
        window go on. Called on the daemon's main thread, which also writes the metrics."""
        self._settings = settings
        self._metadata = metadata
        self._person_keywords = PersonKeywords(metadata=metadata)
        self._writes_metadata = writes_metadata
        self.jsonl.set_limits(
            max_bytes=settings.jsonl_max_bytes, retention_days=settings.jsonl_retention_days
        )
        if self._history.maxlen != settings.metrics_history:
            self._history = deque(self._history, maxlen=settings.metrics_history)

    def record(self, outcome: Outcome, *, backend: str) -> None:
        """A job finished (or went back to the queue): the JSONL line and the log line."""
        path = display_path(outcome.job.path)
        if outcome.ending is Ending.REQUEUED:
            logger.debug("re-queued {}: {}", path, outcome.error)
            return
        dry_run = not self._writes_metadata
        self.jsonl.append(outcome.record(dry_run=dry_run))
        log = logger.bind(path=path, job_id=outcome.job.id, backend=backend)
        if outcome.ending.status is Status.DONE:  # tagged now, or adopted a tagged record
            with self._counts_lock:
                self.done_this_run += 1
            self._stages.add(outcome.durations_s)
            tags = outcome.result.tags if outcome.result else None
            log.info(
                "tagged {}: {!r}, {} keywords ({:.2f}s)",
                path,
                tags.title if tags else "",
                len(tags.keywords) if tags else 0,
                outcome.durations_s.get("total", 0),
            )
        elif outcome.ending is Ending.FAILED:
            with self._counts_lock:
                self.failed_this_run += 1
            log.warning("failed {}: {}", path, outcome.error)
        elif outcome.ending is Ending.DELETED:
            log.info("gone before it could be tagged: {}", path)

    def write_summary(self, *, backend: str, health: str) -> None:
        reader = self._index.reader()
        failures = [
            {"path": display_path(r.path), "error": r.last_error, "at": r.finished_at}
            for r in reader.records(status=Status.FAILED, limit=50)
        ]
        recent = [
            {
                "path": display_path(r.path),
                "title": (r.result or {}).get("title", ""),
                "keywords": (r.result or {}).get("keywords", []),
                "at": r.finished_at,
            }
            for r in reader.records(status=Status.DONE, limit=self._settings.recent_count)
        ]
        this_run = reader.finished_since(self._started_at, limit=RUN_LIST_MAX)
        text = render_summary(
            this_run=[run_item(r) for r in this_run],
            this_run_total=self.done_this_run + self.failed_this_run,
            generated_at=datetime.now().astimezone(),
            started_at=datetime.fromtimestamp(self._started_at).astimezone(),
            totals=reader.counts(),
            keyword_counts=reader.top_keywords(50),
            failures=failures,
            recent=recent,
            backend=backend,
            health=health,
        )
        _safe_write(self._state_dir / "summary.md", text)
        self._write_summary_page(reader)

    def _write_summary_page(self, reader: IndexReader) -> None:
        """summary.html: the recent photos and failures with their thumbnails."""
        count = self._settings.recent_count
        records = [*reader.records(status=Status.FAILED, limit=count)]
        records += reader.records(status=Status.DONE, limit=count)
        try:
            write_page(
                self._state_dir / "summary.html",
                records,
                heading="phototag: recent photos",
                totals=reader.counts(),
                keyword_counts=reader.top_keywords(50),
                metadata=self._metadata,
                prune=True,
                keywords=self._person_keywords,
            )
        except OSError as exc:
            logger.error("cannot write summary.html: {}", exc)

    def write_metrics(
        self,
        *,
        in_flight: int,
        healthy: bool,
        paused: bool,
        concurrency: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        reader = self._index.reader()
        counts = reader.counts()
        snapshot = metrics_snapshot(
            now=time.time(),
            started_at=self._started_at,
            done_total=counts[Status.DONE],
            done_last_hour=reader.done_since(time.time() - 3600),
            queue_depth=counts[Status.QUEUED],
            in_flight=in_flight,
            stages=self._stages,
            history=self._history,
            concurrency=concurrency,
        )
        _safe_write(self._state_dir / "metrics.json", json.dumps(snapshot, indent=2))
        if self._settings.prometheus:
            metrics = prom_metrics(
                counts=counts,
                queue_depth=counts[Status.QUEUED],
                in_flight=in_flight,
                healthy=healthy,
                paused=paused,
                concurrency=concurrency,
            )
            try:
                write_prom(self._state_dir / "phototag.prom", metrics)
            except OSError as exc:
                logger.error("cannot write phototag.prom: {}", exc)

    def record_run(
        self, *, backend: str, model: str, profile: str | None, mode: str, gave_up: str | None
    ) -> None:
        """The run's line in history.jsonl (``tagctl history``), at its end."""
        entry = run_entry(
            started_at=self._started_at,
            ended_at=time.time(),
            backend=backend,
            model=model,
            profile=profile,
            tagged=self.done_this_run,
            failed=self.failed_this_run,
            stages=self._stages.percentiles(),
            mode=mode,
            gave_up=gave_up,
        )
        try:
            append_run(self._state_dir / HISTORY_NAME, entry)
        except OSError as exc:
            logger.error("cannot record the run in {}: {}", HISTORY_NAME, exc)

    def close(self) -> None:
        self.jsonl.close()


def _safe_write(path: Path, text: str) -> None:
    try:
        write_text(path, text)
    except OSError as exc:
        logger.error("cannot write {}: {}", path, exc)
