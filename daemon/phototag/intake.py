"""Intake: from raw changes to durable queue entries, on one thread of its own.

Changes from the watcher (and from scans) go through the stability tracker; a file that
has been quiet for ``debounce_s`` with the same size and mtime is compared with the index
and queued if it is new or changed. Moves and deletions update the index directly.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path

from loguru import logger

from phototag.models import FileSig
from phototag.selection import Selection
from phototag.stability import StabilityTracker
from phototag.state import Index, decide, display_path, encode_path
from phototag.watch import Change


class Intake:
    def __init__(
        self,
        *,
        index: Index,
        selection: Selection,
        debounce_s: float,
        on_queued: Callable[[], None],
    ) -> None:
        self.changes: queue.SimpleQueue[Change] = queue.SimpleQueue()
        self._index = index
        self._selection = selection
        self._tracker = StabilityTracker(debounce_s=debounce_s)
        self._on_queued = on_queued
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="intake", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.changes.put(Change("touched", Path("/")))  # wake the thread
        self._thread.join(timeout=5)

    @property
    def pending(self) -> int:
        """Files seen but not yet stable."""
        return len(self._tracker)

    def scan(self, top: Path | None = None) -> int:
        """Catch-up: hand new and changed files under ``top`` (default all roots) to the
        stability tracker. Stat only: unchanged files are skipped without being read.
        Runs on the caller's thread; returns how many files it found new or changed."""
        found = 0
        for root in (top,) if top is not None else self._selection.roots:
            known = self._index.known_under(root)
            for path, sig in self._selection.walk(root):
                seen = known.get(encode_path(path))
                if (
                    seen is not None
                    and seen[2] != "deleted"
                    and (
                        seen[2] in ("queued", "processing")
                        or (seen[0], seen[1]) == (sig.size, sig.mtime_ns)
                    )
                ):
                    continue
                self.changes.put(Change("touched", path))
                found += 1
        return found

    def _run(self) -> None:
        while not self._stop.is_set():
            wait_s = self._tracker.next_deadline_s()
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
            except Exception:  # never let one odd event stop the intake
                logger.exception("intake: unexpected error")

    def _apply(self, change: Change) -> None:
        if change.kind == "touched":
            if self._selection.skip_reason(change.path) is None:
                self._tracker.touch(change.path)
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

    def _touch_tree(self, folder: Path) -> None:
        if self._selection.skip_reason(folder / "x.jpg") == "outside the roots":
            return
        for path, _sig in self._selection.walk(folder):
            self._tracker.touch(path)

    def _admit(self, path: Path) -> None:
        try:
            sig = FileSig.of(path)
        except OSError:
            return
        verdict = decide(self._index.get(path), sig)
        if verdict == "queue" and self._index.enqueue(path, sig):
            logger.debug("queued: {}", display_path(path))
            self._on_queued()
