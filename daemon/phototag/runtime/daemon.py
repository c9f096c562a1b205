"""The daemon: wires watcher, intake, queue, workers, backend circuit and outputs together.

Start order: index (re-queue what a crash left) -> control socket -> stale temp files
removed -> backend preflight -> watchers -> catch-up scan -> workers. Stop order is the
reverse, and flushes the summary and metrics on the way out. A SIGHUP reload applies what
:func:`phototag.runtime.reload.plan_reload` says can change while running.

Only ``cli/phototagd.py`` imports this module: the parts that control the daemon (the
control socket's verbs, systemd) see it as :class:`phototag.runtime.controls.Controls`.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from loguru import logger

from phototag import __version__
from phototag.config import Settings
from phototag.domain import Health
from phototag.errors import ConfigError, ControlSocketBusy
from phototag.intake.intake import Intake
from phototag.intake.mounts import SpaceGate
from phototag.intake.selection import Selection
from phototag.intake.watch import Watchers
from phototag.metadata.write import remove_stale_temp_files
from phototag.processing.heap import unmap_large_blocks
from phototag.processing.pipeline import Outcome
from phototag.processing.workers import WorkerPool
from phototag.reporting.outputs import Outputs
from phototag.reporting.progress import Backlog, BacklogTracker, ProgressBar, Waiting
from phototag.reporting.status import collect_status
from phototag.runtime.commands import Commands
from phototag.runtime.control import ControlServer
from phototag.runtime.core import Core
from phototag.runtime.lock import IndexLock
from phototag.runtime.logsetup import setup_logging
from phototag.runtime.reload import Part, ReloadPlan, plan_reload
from phototag.runtime.supervision import Supervision, stuck_after_s
from phototag.store.queue import Index
from phototag.store.records import Job, display_path
from phototag.taggers import Paced, Tagger

HEARTBEAT_S = 2.0  # how often the daemon's state record (its heartbeat) goes to the index


class Daemon:
    """One run of phototagd (a service, or ``--once``). Satisfies :class:`Controls`.

    ``reload`` loads the settings again (SIGHUP); None: a reload does nothing.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        once: bool = False,
        scope: Sequence[Path] = (),
        progress: ProgressBar | None = None,
        reload: Callable[[], Settings] | None = None,
        lock: IndexLock | None = None,
        max_wait_s: float = 300.0,
    ) -> None:
        """Takes the index's lock (or uses ``lock``, taken by the caller) first of all:
        :class:`IndexLocked` if another phototag works on this index."""
        unmap_large_blocks()  # before any model loads: what is freed goes back to the kernel
        self.settings = settings
        self.once = once
        self.scope = tuple(scope) or tuple(settings.roots)  # what the catch-up scans
        self._progress = progress
        self._backlog = BacklogTracker()
        self.backlog = Backlog(finished=0, remaining=0, elapsed_s=0.0)
        self.gave_up: str | None = None  # --once: why it stopped with work left
        self.max_wait_s = max_wait_s  # --once: how long a backend may stay unavailable
        self._stop = threading.Event()
        self._reload_requested = threading.Event()
        self._load_settings = reload
        self.restart_needed: tuple[str, ...] = ()  # changed settings a reload could not apply
        self._paused = threading.Event()
        # set once the watchers are up and the catch-up scan is done (systemd's READY=1): a
        # heartbeat before that (the preflight's, say) says the daemon is only starting
        self._started = threading.Event()
        self.started_at = time.time()
        self.exit_code = 0
        for folder in (settings.state_dir, settings.runtime_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        holder = "phototagd --once" if once else "phototagd"
        self.lock = lock or IndexLock.acquire(settings.index_path, holder=holder)
        try:
            self._build(settings)
        except BaseException:
            self.lock.release()
            raise

    def _build(self, settings: Settings) -> None:
        self.index = Index(settings.index_path)
        self.space = SpaceGate(
            folder=settings.state_dir, min_free_bytes=settings.min_free_state_bytes
        )
        self.selection = Selection.from_settings(settings)
        self.core = self._new_core(settings)
        self.outputs = Outputs(
            settings=settings.outputs,
            state_dir=settings.state_dir,
            metadata=settings.metadata,
            writes_metadata=settings.writes_metadata,
            index=self.index,
            started_at=self.started_at,
        )
        self.pool: WorkerPool  # created below, after the parts its callbacks use exist
        self.intake = Intake(
            index=self.index,
            selection=self.selection,
            debounce_s=settings.debounce_s,
            writer_quiet_s=settings.writer_quiet_s,
            on_queued=self._wake_pool,
        )
        threads = settings.workers
        if isinstance(self.tagger, Paced):
            # a worker holds its request slot only while it waits on the network: with
            # `workers` more threads, photos are hashed and decoded meanwhile; the
            # pipeline admits only as many as the current limit uses
            threads += self.tagger.most_concurrency
        self.pool = WorkerPool(
            index=self.index, process=self._process, threads=threads, may_run=self._may_run
        )
        self.watchers = Watchers(
            settings.roots,
            recursive=settings.recursive,
            mode=settings.watch_mode,
            sink=self.intake.changes,
            poll_interval_s=settings.poll_interval_s,
        )
        commands = Commands(
            controls=self, index=self.index, selection=self.selection, scan=self.intake.scan
        )
        self.control = ControlServer(path=settings.socket_path, handlers=commands.handlers())
        self.supervision = Supervision(
            self,
            progress_at=lambda: self.pool.last_progress,
            stuck_after=lambda: stuck_after_s(
                timeout_s=self.settings.vlm.timeout_s, max_retries=self.settings.vlm.max_retries
            ),
        )

    def _new_core(self, settings: Settings) -> Core:
        return Core(
            settings,
            index=self.index,
            on_health=self._on_health,
            on_outcome=lambda outcome, backend: self.outputs.record(outcome, backend=backend),
        )

    @property
    def tagger(self) -> Tagger:
        return self.core.tagger

    # -- lifecycle ----------------------------------------------------------------------

    def run(self) -> int:
        if not self.once:
            try:  # first: raises ControlSocketBusy if a daemon already runs
                self.control.start()
            except ControlSocketBusy as exc:
                logger.error("{}", exc)
                self.index.close()
                self.lock.release()
                return 1
        requeued, crashed = self.index.requeue_processing(max_attempts=self.settings.max_attempts)
        if requeued:
            logger.info("{} job(s) interrupted last time are queued again", requeued)
        for path, attempts in crashed:
            logger.error("failed {}: crashed the tagger {} times", display_path(path), attempts)
        if self.settings.writes_metadata:
            # within what this run looks at (tagctl apply PATH): their stored results are
            # written without asking the tagger again, unless their inputs changed
            redo = sum(self.index.requeue_done(under=top, dry_run_only=True) for top in self.scope)
            if redo:
                logger.info("{} file(s) tagged in a dry run are queued to be written", redo)
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
        self.core.start()
        self.intake.start()
        if not self.once:
            self.watchers.start()
        found = sum(self.intake.scan(top) for top in self.scope)
        logger.info("catch-up scan: {} new or changed file(s)", found)
        self.pool.start()
        self._started.set()
        self._heartbeat()
        self._install_signals()
        if not self.once:
            self.supervision.ready()
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
        signal.signal(signal.SIGHUP, lambda *_: self._reload_requested.set())

    def _reload(self) -> None:
        """SIGHUP: load the configuration again and apply what can change while running."""
        if self._load_settings is None:
            return
        self.supervision.reloading()
        try:
            self._apply(plan_reload(self.settings, self._load_settings()))
        except ConfigError as exc:
            logger.error("reload refused, keeping the running configuration: {}", exc)
        self.supervision.ready()

    def _apply(self, plan: ReloadPlan) -> None:
        """Rebuild or reconfigure each part whose settings changed; name the rest."""
        settings = plan.settings
        # built first: a new tagger that cannot start (a key file gone) refuses the reload
        core = self._new_core(settings) if Part.CORE in plan.parts else None
        self.settings = settings
        if Part.LOGGING in plan.parts:
            setup_logging(level=settings.log_level)
        if Part.SPACE in plan.parts:
            self.space = SpaceGate(
                folder=settings.state_dir, min_free_bytes=settings.min_free_state_bytes
            )
        if Part.OUTPUTS in plan.parts:
            self.outputs.reconfigure(
                settings.outputs,
                metadata=settings.metadata,
                writes_metadata=settings.writes_metadata,
            )
        if core is not None:
            core.start()  # its preflight; meanwhile the jobs go on with the old core
            old, self.core = self.core, core
            old.retire()
            self.wake()
        for name in plan.needs_restart:
            logger.warning("reload: {} changed; it takes effect at the next restart", name)
        self.restart_needed = plan.needs_restart
        if plan.applied:
            logger.info("reload applied: {}", ", ".join(plan.applied))
        else:
            logger.info("reload: no setting to apply changed")

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def pause(self) -> None:
        self._paused.set()
        logger.info("paused by request; nothing queued is lost")
        self._heartbeat()

    def resume(self) -> None:
        self._paused.clear()
        logger.info("resumed")
        self.wake()

    def wake(self) -> None:
        """Look at the queue now (something was queued, or the backend came back)."""
        self._wake_pool()

    def check_backend(self) -> Health:
        return self.core.circuit.check_now()

    def _process(self, job: Job) -> Outcome:
        core = self.core
        while not core.enter():  # retired by a reload meanwhile: its successor is in place
            core = self.core
        return core.process(job)

    def _loop(self) -> None:
        now = time.monotonic()
        next_summary = now + self.settings.outputs.summary_interval_s
        next_metrics = now + self.settings.outputs.metrics_interval_s
        next_reconcile = now + self.settings.reconcile_interval_s
        while not self._stop.wait(HEARTBEAT_S if not self.once else 0.2):
            now = time.monotonic()
            self._track_backlog(now)
            if not self.once:
                self.watchers.check_roots()
            self._heartbeat()
            if self._reload_requested.is_set():
                self._reload_requested.clear()
                self._reload()
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
            if self.once and (reason := self._give_up_reason()):
                self.gave_up = reason
                break

    def _waiting_s(self) -> float | None:
        """--once: how long the workers have waited for an unavailable backend, or None."""
        circuit = self.core.circuit
        if circuit.healthy or self.core.pipeline.has_fallback:
            return None
        return max(time.time() - circuit.since, 0.0)

    def _give_up_reason(self) -> str | None:
        """--once ends with work left when the backend is down for good, or for too long."""
        circuit = self.core.circuit
        if circuit.healthy:
            return None
        if circuit.state.permanent:
            return f"backend unhealthy: {circuit.state.reason}"
        waited_s = self._waiting_s()
        if waited_s is not None and waited_s >= self.max_wait_s:
            return (
                f"backend unavailable for {waited_s:.0f} s (--max-wait-s {self.max_wait_s:g}): "
                f"{circuit.state.reason}"
            )
        return None

    def _track_backlog(self, now_s: float) -> None:
        # queued or in flight; files still settling are not counted (that includes the
        # echoes of phototag's own writes, which settle into "unchanged")
        remaining = self.index.queue_depth() + self.pool.handed_out
        self.backlog = self._backlog.observe(
            now_s=now_s,
            finished_total=self.outputs.done_this_run + self.outputs.failed_this_run,
            remaining=remaining,
        )
        if self._progress is not None:
            waited_s = self._waiting_s() if self.once else None
            waiting = (
                None
                if waited_s is None
                else Waiting(
                    waited_s=waited_s,
                    max_wait_s=self.max_wait_s,
                    reason=self.core.circuit.state.reason,
                )
            )
            self._progress.update(
                self.backlog, failed=self.outputs.failed_this_run, waiting=waiting
            )

    def _idle(self) -> bool:
        return (
            self.intake.pending == 0
            and self.intake.changes.empty()
            and self.pool.handed_out == 0
            and self.index.queue_depth() == 0
        )

    def _shutdown(self) -> None:
        if self._progress is not None:
            self._track_backlog(time.monotonic())  # the last figures, complete
            self._progress.close()
        if self.gave_up:
            logger.error(
                "--once: giving up, {} file(s) left queued: {}",
                self.index.queue_depth(),
                self.gave_up,
            )
        logger.info("stopping: finishing the photos in flight")
        self.supervision.stopping()
        self.watchers.stop()
        self.intake.stop()
        self.pool.stop()
        self.core.circuit.stop()
        self.write_summary()
        self.write_metrics()
        self._record_run()
        self._heartbeat(stopped=True)
        self.control.stop()
        self.supervision.stop()
        self.outputs.close()
        self.core.close()
        self.index.close()
        self.lock.release()
        if self.once and (self.outputs.failed_this_run or self.gave_up):
            self.exit_code = 1
        logger.info(
            "stopped: {} tagged, {} failed this run",
            self.outputs.done_this_run,
            self.outputs.failed_this_run,
        )

    # -- gates and callbacks ------------------------------------------------------------

    def _may_run(self, timeout_s: float) -> bool:
        # paused, or no room for the index, or none to write a photo
        core = self.core
        if self._paused.is_set() or not self.space.ok() or not core.pipeline.full_disks.ok():
            time.sleep(timeout_s)
            return False
        if core.pipeline.has_fallback and not core.circuit.healthy:
            return True
        return core.circuit.wait_healthy(timeout_s)

    def _wake_pool(self) -> None:
        pool = getattr(self, "pool", None)
        if pool is not None:
            pool.notify()

    def _on_health(self, health: Health) -> None:
        if health.ok and self.core.pipeline.has_fallback:
            redo = self.index.requeue_fallback()
            if redo:
                logger.info("backend is back: {} fallback-tagged photo(s) queued again", redo)
                self.wake()
        self._heartbeat()

    def run_summary(self) -> dict[str, Any]:
        """What this run did; for --once's closing line."""
        return {
            "tagged": self.outputs.done_this_run,
            "failed": self.outputs.failed_this_run,
            "elapsed_s": round(time.time() - self.started_at, 1),
            "gave_up": self.gave_up,
        }

    # -- outputs ------------------------------------------------------------------------

    def live_state(self) -> dict[str, Any]:
        circuit = self.core.circuit
        health = circuit.state
        return {
            "pid": os.getpid(),
            "version": __version__,
            "started_at": self.started_at,
            "heartbeat_at": time.time(),
            "backend": self.tagger.name,
            "model": self.tagger.model,
            "health": {
                "ok": circuit.healthy,
                "reason": health.reason,
                "since": circuit.since,
                "description": circuit.describe(),
                "probes_s": health.probes_s,
            },
            "paused": self._paused.is_set(),
            "starting": not self._started.is_set(),
            "in_flight": self.pool.in_flight,
            "pending": self.intake.pending,
            "settled_unchanged": self.intake.settled_unchanged,
            "vanished_roots": [display_path(root) for root in self.watchers.vanished],
            "backlog": self.backlog.as_json() if self.backlog.remaining else None,
            "concurrency": self.concurrency(),
            "restart_needed": list(self.restart_needed),
        }

    def concurrency(self) -> dict[str, dict[str, Any]] | None:
        """Each VLM server's limit, requests in flight and latency; None for local."""
        if not isinstance(self.tagger, Paced):
            return None
        return {name: s.as_dict() for name, s in self.tagger.concurrency().items()}

    def _heartbeat(self, *, stopped: bool = False) -> None:
        """Record the daemon's state in the index (``tagctl status`` reads it; its age says
        whether the daemon still runs). Not systemd's watchdog: see ``runtime/systemd.py``."""
        state = self.live_state()
        if stopped:
            state["stopped_at"] = time.time()
        try:
            self.index.set_meta("daemon", state)
        except sqlite3.OperationalError as exc:  # e.g. disk full: the next beat tries again
            logger.debug("heartbeat not recorded: {}", exc)

    def _record_run(self) -> None:
        profile = None
        if isinstance(self.tagger, Paced):  # a VLM: its prompt profile is part of the run
            from phototag.taggers.vlm.split import profile_label  # loaded with the VLM tagger

            profile = profile_label(self.settings.vlm)
        dry = "" if self.settings.writes_metadata else "dry-run "
        self.outputs.record_run(
            backend=self.tagger.name,
            model=self.tagger.model,
            profile=profile,
            mode=dry + ("once" if self.once else "service"),
            gave_up=self.gave_up,
        )

    def write_summary(self) -> None:
        self.outputs.write_summary(
            backend=f"{self.tagger.name} ({self.tagger.model})",
            health=self.core.circuit.describe(),
        )

    def write_metrics(self) -> None:
        self.outputs.write_metrics(
            in_flight=self.pool.in_flight,
            healthy=self.core.circuit.healthy,
            paused=self.paused,
            concurrency=self.concurrency(),
        )

    def status(self) -> dict[str, Any]:
        """The index's view (as tagctl computes it with the daemon down) plus live figures."""
        status = collect_status(self.index.reader())
        live = self.live_state()
        status.update(
            running=True,
            pid=live["pid"],
            uptime_s=round(time.time() - self.started_at, 1),
            health=live["health"],
            paused=live["paused"],
            in_flight=live["in_flight"],
            waiting_to_settle=live["pending"],
            backend=live["backend"],
            model=live["model"],
            vanished_roots=live["vanished_roots"],
            concurrency=live["concurrency"],
            restart_needed=live["restart_needed"],
        )
        return status
