"""The watchdog side: an observer per root and a handler that only enqueues frozen events.

watchdog's dispatch thread is shared by every watch, so the handler does no work at all:
it turns each event into an immutable :class:`Change` and puts it on a queue that the
intake thread drains.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from loguru import logger
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

ChangeKind = Literal["touched", "deleted", "moved", "dir-added", "dir-deleted", "dir-moved"]


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


def _translate(event: FileSystemEvent) -> Change | None:
    src = _path(event.src_path)
    if isinstance(event, (FileOpenedEvent, FileClosedNoWriteEvent)):
        return None  # reads, including phototag's own
    if isinstance(event, (FileCreatedEvent, FileModifiedEvent, FileClosedEvent)):
        return Change("touched", src)
    if isinstance(event, FileDeletedEvent):
        return Change("deleted", src)
    if isinstance(event, FileMovedEvent):
        return Change("moved", src, _path(event.dest_path))
    if isinstance(event, DirCreatedEvent):
        return Change("dir-added", src)
    if isinstance(event, DirDeletedEvent):
        return Change("dir-deleted", src)
    if isinstance(event, DirMovedEvent):
        return Change("dir-moved", src, _path(event.dest_path))
    return None


def start_observers(
    roots: list[Path], *, recursive: bool, mode: str, sink: queue.SimpleQueue[Change]
) -> list[BaseObserver]:
    """One inotify observer for all roots (polling where asked or where inotify fails)."""
    handler = EnqueueHandler(sink=sink)
    observers: list[BaseObserver] = []
    native: BaseObserver | None = Observer() if mode != "polling" else None
    polling: BaseObserver | None = None
    for root in roots:
        root.mkdir(parents=True, exist_ok=True)
        if native is not None:
            try:
                native.schedule(handler, str(root), recursive=recursive)
                continue
            except OSError as exc:
                logger.warning("cannot watch {} with inotify ({}); polling it instead", root, exc)
        polling = polling or PollingObserver(timeout=5)
        polling.schedule(handler, str(root), recursive=recursive)
    for observer in (native, polling):
        if observer is not None and observer.emitters:
            observer.daemon = True
            observer.start()
            observers.append(observer)
    return observers


def stop_observers(observers: list[BaseObserver]) -> None:
    for observer in observers:
        observer.stop()
    for observer in observers:
        observer.join(timeout=5)
