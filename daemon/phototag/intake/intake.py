"""Intake: from raw changes to durable queue entries, on one thread of its own.

Changes from the watcher (and from scans) go through the stability tracker; a file that
has been quiet for ``debounce_s`` with the same size and mtime is compared with the index
and queued if it is new or changed. Moves and deletions update the index directly; a
folder that disappears (deleted, moved out of the roots) takes its records with it.

An inotify queue overflow means events were lost: the roots are reconciled with the disk.
watchdog reports each overflow (twice: once per observer and once per recursive watch),
and a burst brings dozens, so overflows are gathered for ``OVERFLOW_GATHER_S`` and answered
with one reconcile; overflows arriving while it walks earn one more after it.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from loguru import logger

from phototag.domain import FileSig
from phototag.intake.scan import Handoff, candidates, handoff
from phototag.intake.selection import Selection, entry_skip_reason
from phototag.intake.stability import StabilityTracker
from phototag.intake.watch import Change
from phototag.states import Status
from phototag.store.queue import Index
from phototag.store.records import Decision, decide, display_path

# a burst of overflows arrives within milliseconds, and a second gathers it into one walk
# (answered one by one, a burst walked a 40k-file tree 29 times)
OVERFLOW_GATHER_S = 1.0


class Intake:
    def __init__(
        self,
        *,
        index: Index,
        selection: Selection,
        debounce_s: float,
        writer_quiet_s: float,
        on_queued: Callable[[], None],
    ) -> None:
        self.changes: queue.SimpleQueue[Change] = queue.SimpleQueue()
        self._index = index
        self._selection = selection
        self._debounce_s = debounce_s
        self._tracker = StabilityTracker(
            debounce_s=debounce_s, writer_quiet_s=writer_quiet_s, stat=self._entry_sig
        )
        self._index_failing = False  # the index refused a write (e.g. its disk is full)
        self._on_queued = on_queued
        self._settled_unchanged = 0  # written by the intake thread only
        self._reconcile_at: float | None = None  # monotonic: when gathered overflows are answered
        self._overflows = 0  # overflows gathered for that reconcile
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="intake", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.changes.put(Change("touched", Path("/")))  # wake the thread
        self._thread.join(timeout=5)

    @property
    def settled_unchanged(self) -> int:
        """Files that settled after an event and needed no work (phototag's own writes, a
        touch): what "nothing happened" looks like from outside."""
        return self._settled_unchanged

    @property
    def pending(self) -> int:
        """Files seen but not yet stable."""
        return len(self._tracker)

    def scan(self, top: Path | None = None) -> int:
        """Catch-up: queue new and changed files at or under ``top`` (a folder or a file;
        default all roots). Stat only: unchanged files are skipped without being read. Each
        goes where :func:`handoff` says: to the queue, or through the stability tracker.
        The daemon's start and reconcile, ``tagctl rescan``, ``phototagd --once`` and
        ``tagctl backfill`` all scan here. Runs on the caller's thread; returns how many it
        found."""
        found = queued = 0
        now_ns = time.time_ns()
        for root in (top,) if top is not None else self._selection.roots:
            if not root.exists():
                continue  # a root not mounted, say: nothing to compare the index with
            known = self._index.known_under(root)
            for path, sig in candidates(self._selection, root, known=known):
                found += 1
                if handoff(sig, now_ns=now_ns, debounce_s=self._debounce_s) is Handoff.QUEUE:
                    try:
                        queued += self._index.enqueue(path, sig)
                        continue
                    except sqlite3.OperationalError:
                        pass  # e.g. the state disk is full: let the tracker retry it
                self.changes.put(Change("touched", path))
        if queued:
            self._on_queued()
        return found

    def _run(self) -> None:
        while not self._stop.is_set():
            wait_s = _earliest(self._tracker.next_deadline_s(), self._reconcile_wait_s())
            try:
                change = self.changes.get(timeout=0.5 if wait_s is None else max(0.01, wait_s))
            except queue.Empty:
                change = None
            if self._stop.is_set():
                return
            try:
                if change is not None:
                    self._apply(change)
                    while True:  # drain a burst before looking at deadlines
                        try:
                            self._apply(self.changes.get_nowait())
                        except queue.Empty:
                            break
                for path in self._tracker.due():
                    self._admit(path)
                if self._reconcile_at is not None and time.monotonic() >= self._reconcile_at:
                    self._reconcile()
            except Exception:  # never let one odd event stop the intake
                logger.exception("intake: unexpected error")

    def _reconcile_wait_s(self) -> float | None:
        if self._reconcile_at is None:
            return None
        return self._reconcile_at - time.monotonic()

    def _reconcile(self) -> None:
        logger.warning(
            "inotify queue overflowed ({} report(s)): events were lost, reconciling the roots",
            self._overflows,
        )
        self._reconcile_at, self._overflows = None, 0  # overflows from now on: one more walk
        self.scan()

    def _apply(self, change: Change) -> None:
        if change.kind == "dir-deleted":
            # a folder deleted, or moved out of the roots (inotify reports that as deleted),
            # or a root itself: every record under it whose file is not there is gone (the
            # folder may be back already: rm -rf ROOT; mkdir ROOT)
            gone = self._index.mark_gone(
                p for p in self._index.live_under(change.path) if not os.path.lexists(p)
            )
            if gone:
                logger.info("folder gone: {} ({} record(s) deleted)", change.path, gone)
            if os.path.isdir(change.path):
                self._touch_tree(change.path)
            return
        if change.kind in ("deleted", "moved") and os.path.lexists(change.path):
            # still there: polling reports an atomic replace (phototag's own write included)
            # as deleted + created, and a reused inode as a move; trust the disk, not the event
            self._apply(Change("touched", change.path))
            if change.dest is not None:
                self._apply(Change("touched", change.dest))
            return
        if change.kind in ("touched", "written", "closed"):
            if self._selection.skip_reason(change.path) is None:
                writing = {"written": True, "closed": False}.get(change.kind)
                self._tracker.touch(change.path, writing=writing)
        elif change.kind == "deleted":
            self._tracker.forget(change.path)
            if self._index.mark_deleted(change.path):
                logger.info("deleted: {}", display_path(change.path))
        elif change.kind == "moved" and change.dest is not None:
            self._tracker.forget(change.path)
            src_ok = self._selection.skip_reason(change.path) is None
            dest_ok = self._selection.skip_reason(change.dest) is None
            if src_ok and dest_ok and self._index.move(change.path, change.dest):
                logger.info("moved: {} -> {}", display_path(change.path), display_path(change.dest))
                self._tracker.touch(change.dest)  # unchanged content: the index check skips it
            elif dest_ok:
                if src_ok:
                    self._index.mark_deleted(change.path)
                self._tracker.touch(change.dest)  # e.g. "x.jpg.part" -> "x.jpg"
            elif src_ok:
                self._index.mark_deleted(change.path)
        elif change.kind == "dir-moved" and change.dest is not None:
            moved = self._index.move_tree(change.path, change.dest)
            if moved:
                logger.info("folder moved: {} -> {} ({} records)", change.path, change.dest, moved)
            self._touch_tree(change.dest)
        elif change.kind == "dir-added":
            self._touch_tree(change.path)
        elif change.kind == "rescan":
            self._overflows += 1
            if self._reconcile_at is None:
                self._reconcile_at = time.monotonic() + OVERFLOW_GATHER_S

    def _touch_tree(self, folder: Path) -> None:
        if self._selection.root_of(folder) is None:
            return
        for path, _sig in candidates(self._selection, folder):
            self._tracker.touch(path)

    def _entry_sig(self, path: Path) -> FileSig | None:
        """The signature of the entry itself: a link not followed is never stat'ed through
        (it may loop, or point outside the roots); None if it cannot be stat'ed at all."""
        try:
            if not self._selection.follow_symlinks and os.path.islink(path):
                st = path.lstat()
                return FileSig(size=st.st_size, mtime_ns=st.st_mtime_ns)
            return FileSig.of(path)
        except OSError:
            return None

    def _admit(self, path: Path) -> None:
        sig = self._entry_sig(path)
        if sig is None:
            return
        try:
            self._record(path, sig)
        except sqlite3.OperationalError as exc:  # e.g. the state folder's disk is full
            if not self._index_failing:
                logger.error("cannot record new files in the index ({}); retrying", exc)
            self._index_failing = True
            self._tracker.touch(path)  # try again after the next quiet period
            return
        if self._index_failing:
            logger.info("the index accepts writes again")
            self._index_failing = False

    def _record(self, path: Path, sig: FileSig) -> None:
        record = self._index.get(path)
        skip = entry_skip_reason(path, follow_symlinks=self._selection.follow_symlinks)
        if skip is not None:
            if (record is None or record.status is not Status.SKIPPED or record.sig != sig) and (
                self._index.skip(path, sig, reason=skip.message)
            ):
                logger.info("skipped {}: {}", display_path(path), skip.message)
            return
        decision = decide(record, sig)
        if decision is Decision.QUEUE and self._index.enqueue(path, sig):
            logger.debug("queued: {}", display_path(path))
            self._on_queued()
        elif decision is Decision.UNCHANGED:
            self._settled_unchanged += 1


def _earliest(*waits_s: float | None) -> float | None:
    known = [w for w in waits_s if w is not None]
    return min(known) if known else None
