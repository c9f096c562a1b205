"""The watchdog side: an observer per root and a handler that only enqueues frozen events.

watchdog's dispatch thread is shared by every watch, so the handler does no work at all:
it turns each event into an immutable :class:`Change` and puts it on a queue that the
intake thread drains.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import time
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from loguru import logger
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
    FileSystemMovedEvent,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from phototag.intake.mounts import Mount, mount_of, mounts_under, polling_reason, read_mounts
from phototag.intake.scan import Kind, walk

# "written": a writer is at work (inotify IN_MODIFY, or polling saw the file change);
# "closed": it closed the file after writing (IN_CLOSE_WRITE; polling never sees one)
ChangeKind = Literal[
    "touched",
    "written",
    "closed",
    "deleted",
    "moved",
    "dir-added",
    "dir-deleted",
    "dir-moved",
    "rescan",
]


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    path: Path
    dest: Path | None = None


def _path(raw: str | bytes) -> Path:
    return Path(raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw)


class EnqueueHandler(FileSystemEventHandler):
    """Translates watchdog events into :class:`Change` items; nothing else."""

    def __init__(self, *, sink: queue.SimpleQueue[Change]) -> None:
        super().__init__()
        self._sink = sink

    def on_any_event(self, event: FileSystemEvent) -> None:
        change = _translate(event)
        if change is not None:
            self._sink.put(change)


# what each watchdog event means here; opens and reads (phototag's own included), folder
# modifications and anything else are not changes
_KINDS: dict[type[FileSystemEvent], ChangeKind] = {
    FileCreatedEvent: "touched",
    FileModifiedEvent: "written",
    FileClosedEvent: "closed",
    FileDeletedEvent: "deleted",
    FileMovedEvent: "moved",
    DirCreatedEvent: "dir-added",
    DirDeletedEvent: "dir-deleted",
    DirMovedEvent: "dir-moved",
}


def _translate(event: FileSystemEvent) -> Change | None:
    kind = _KINDS.get(type(event))
    if kind is None:
        return None
    dest = _path(event.dest_path) if isinstance(event, FileSystemMovedEvent) else None
    return Change(kind, _path(event.src_path), dest)


MAX_WATCHES_SYSCTL = Path("/proc/sys/fs/inotify/max_user_watches")
_OVERFLOW_LOGGERS = ("watchdog.observers.inotify_c", "watchdog.observers.inotify")


class _OverflowHandler(logging.Handler):
    """watchdog reports a kernel queue overflow only by logging it: turn that into a
    "rescan" change, so the intake reconciles the roots with what is on disk."""

    def __init__(self, sink: queue.SimpleQueue[Change]) -> None:
        super().__init__(level=logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.sink.put(Change("rescan", Path("/")))


def plan_watches(
    roots: list[Path], *, mode: str, mounts: list[Mount]
) -> tuple[list[Path], dict[Path, str]]:
    """Which trees inotify watches, and which are polled (with the reason). Pure.

    ``auto`` polls a root on a network share or FUSE filesystem, and any such mount inside
    a root (inotify there sees only this machine's changes); ``inotify`` and ``polling``
    force one way for every root.
    """
    if mode == "polling":
        return [], {root: "watch_mode is polling" for root in roots}
    native: list[Path] = []
    polled: dict[Path, str] = {}
    for root in roots:
        mount = mount_of(root, mounts)
        reason = polling_reason(mount) if mount is not None and mode == "auto" else None
        if reason:
            polled[root] = reason
            continue
        native.append(root)
        if mode == "auto":
            for inner in mounts_under(root, mounts):
                if inner_reason := polling_reason(inner):
                    polled[inner.mount_point] = inner_reason
    return native, polled


def inotify_watches_in_use() -> int:
    """Watches held by this process's inotify instances (from /proc/self/fdinfo)."""
    used = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}") as fh:
                used += sum(1 for line in fh if line.startswith("inotify wd:"))
        except OSError:
            continue
    return used


def wait_for_watches(expected: int, *, quiet_s: float = 1.0, timeout_s: float = 300.0) -> int:
    """watchdog adds its recursive watches on its own thread after ``start()``: wait until
    ``expected`` are in place, or until the count stops growing (the limit was hit)."""
    deadline = time.monotonic() + timeout_s
    last, last_change = -1, time.monotonic()
    while True:
        used = inotify_watches_in_use()
        now = time.monotonic()
        if used >= expected:
            return used
        if used != last:
            last, last_change = used, now
        elif now - last_change >= quiet_s or now >= deadline:
            return used
        time.sleep(0.05)


def count_folders(roots: list[Path], *, recursive: bool) -> int:
    """Folders inotify needs one watch each for: what watchdog watches, every folder it can
    list (hidden ones too), never through a symbolic link."""
    if not recursive:
        return len(roots)
    return sum(
        kind is Kind.FOLDER
        for root in roots
        for _, kind, _, _ in walk(root, recursive=True, follow_symlinks=False, hidden_folders=True)
    )


def start_observers(
    roots: list[Path],
    *,
    recursive: bool,
    mode: str,
    sink: queue.SimpleQueue[Change],
    poll_interval_s: float = 5.0,
) -> list[BaseObserver]:
    """One inotify observer for the local roots, one polling observer for network shares,
    FUSE mounts, and whatever inotify could not watch (its watch limit reached)."""
    handler = EnqueueHandler(sink=sink)
    native_roots, polled = plan_watches(roots, mode=mode, mounts=read_mounts())
    native: BaseObserver | None = Observer() if native_roots else None
    watched: list[Path] = []
    for root in native_roots:
        assert native is not None
        try:
            # only the events that are changes: without a filter inotify reports every
            # open and close of a photo (phototag's own reads, 6 or more a photo) and
            # watchdog parses and dispatches each
            native.schedule(handler, str(root), recursive=recursive, event_filter=[*_KINDS])
            watched.append(root)
        except OSError as exc:
            _warn_limit(exc)
            polled[root] = f"inotify failed: {exc}"
    if native is not None and native.emitters:
        native.daemon = True
        try:
            native.start()
        except OSError as exc:  # the root's own watch failed at start
            _warn_limit(exc)
            polled.update({root: f"inotify failed: {exc}" for root in watched})
            native, watched = None, []
    if (
        watched
        and (
            missing := (needed := count_folders(watched, recursive=recursive))
            - wait_for_watches(needed)
        )
        > 0
    ):
        _warn_limit(OSError(errno.ENOSPC, f"{missing} folder(s) left unwatched"))
        polled.update({root: "inotify watch limit reached" for root in watched})
    observers: list[BaseObserver] = [native] if native is not None and native.emitters else []
    if polled:
        polling = PollingObserver(timeout=poll_interval_s)
        for folder, reason in polled.items():
            logger.info("watching {} by polling every {}s: {}", folder, poll_interval_s, reason)
            polling.schedule(handler, str(folder), recursive=recursive)
        polling.daemon = True
        polling.start()
        observers.append(polling)
    for name in _OVERFLOW_LOGGERS:
        wd_logger = logging.getLogger(name)
        if not any(isinstance(h, _OverflowHandler) and h.sink is sink for h in wd_logger.handlers):
            wd_logger.addHandler(_OverflowHandler(sink))
    return observers


def _warn_limit(exc: OSError) -> None:
    if exc.errno != errno.ENOSPC:
        logger.warning("inotify failed ({}); polling instead", exc)
        return
    try:
        limit = MAX_WATCHES_SYSCTL.read_text().strip()
    except OSError:
        limit = "?"
    logger.warning(
        "inotify watch limit reached ({}; fs.inotify.max_user_watches = {}): polling instead. "
        "Raise it with: sudo sysctl fs.inotify.max_user_watches=524288 (persist it in "
        "/etc/sysctl.d/90-phototag.conf)",
        exc.strerror or exc,
        limit,
    )


def stop_observers(observers: list[BaseObserver]) -> None:
    for name in _OVERFLOW_LOGGERS:
        wd_logger = logging.getLogger(name)
        for handler in [h for h in wd_logger.handlers if isinstance(h, _OverflowHandler)]:
            wd_logger.removeHandler(handler)
    for observer in observers:
        observer.stop()
    for observer in observers:
        observer.join(timeout=5)


def root_changes(
    roots: Sequence[Path],
    *,
    vanished: AbstractSet[Path],
    dead: AbstractSet[Path],
    present: Callable[[Path], bool],
) -> tuple[list[Path], list[Path]]:
    """(roots gone since the last look, roots to watch again). Pure.

    ``vanished``: roots already known missing; ``dead``: roots whose watch has ended (the
    folder was deleted, maybe made again at once: ``rm -rf ROOT; mkdir ROOT``).
    """
    gone = [r for r in roots if r not in vanished and (r in dead or not present(r))]
    back = [r for r in roots if (r in vanished or r in dead) and present(r)]
    return gone, back


class Watchers:
    """The observers over the roots, and what happens when a root itself vanishes.

    ``rm -rf ROOT`` ends the watch on it: the kernel drops the inotify watch and watchdog's
    emitter stops (a polling emitter stops too), even when ``mkdir ROOT`` follows at once.
    So the daemon's loop calls :meth:`check_roots`: a root that is missing, or whose watch
    has ended, is reported (a warning, and :attr:`vanished` for the status and systemd's
    STATUS=) and its records of files no longer there are marked gone (a ``dir-deleted``
    change); as soon as the folder is there it is watched again and walked (a
    ``dir-added`` change), so photos copied in meanwhile are not left unseen. Roots are
    never created here: a missing one may be an unmounted disk.
    """

    def __init__(
        self,
        roots: Sequence[Path],
        *,
        recursive: bool,
        mode: str,
        sink: queue.SimpleQueue[Change],
        poll_interval_s: float,
    ) -> None:
        self._roots = tuple(roots)
        self._recursive, self._mode, self._poll_interval_s = recursive, mode, poll_interval_s
        self._sink = sink
        self._observers: list[BaseObserver] = []
        self._vanished: set[Path] = set()

    @property
    def vanished(self) -> tuple[Path, ...]:
        return tuple(root for root in self._roots if root in self._vanished)

    def start(self) -> None:
        self._vanished = {root for root in self._roots if not os.path.isdir(root)}
        for root in self._vanished:
            self._report_gone(root)
        self._watch([root for root in self._roots if root not in self._vanished])

    def check_roots(self) -> None:
        """Look at each root (a stat each): report the vanished, watch again the returned."""
        gone, back = root_changes(
            self._roots, vanished=self._vanished, dead=self._drop_dead(), present=os.path.isdir
        )
        for root in gone:
            self._vanished.add(root)
            self._report_gone(root)
        if not back:
            return
        self._watch(back)
        for root in back:
            logger.warning("watched folder {} is back: watching and scanning it", root)
            self._vanished.discard(root)
            self._sink.put(Change("dir-added", root))  # after the watch: nothing missed

    def stop(self) -> None:
        stop_observers(self._observers)
        self._observers = []

    def _watch(self, roots: list[Path]) -> None:
        if roots:
            self._observers += start_observers(
                roots,
                recursive=self._recursive,
                mode=self._mode,
                sink=self._sink,
                poll_interval_s=self._poll_interval_s,
            )

    def _drop_dead(self) -> set[Path]:
        """The roots whose emitter has stopped on its own; their watches are unscheduled."""
        dead: set[Path] = set()
        for observer in self._observers:
            for emitter in list(observer.emitters):
                root = _path(emitter.watch.path)
                if root in self._roots and not emitter.is_alive():
                    observer.unschedule(emitter.watch)
                    dead.add(root)
        return dead

    def _report_gone(self, root: Path) -> None:
        logger.warning(
            "watched folder {} has vanished: its photos are recorded as gone, and it is "
            "watched again as soon as it is back",
            root,
        )
        self._sink.put(Change("dir-deleted", root))
