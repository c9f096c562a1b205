"""What one row of the index is, and the pure decisions made on it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from phototag.domain import FileSig
from phototag.states import Status


def encode_path(path: Path | str) -> bytes:
    return os.fsencode(path)


def decode_path(raw: bytes) -> Path:
    return Path(os.fsdecode(raw))


def display_path(path: Path | str) -> str:
    """A printable, JSON-safe form of a path (invalid bytes shown as \\xNN)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class FileRecord:
    id: int
    path: Path
    size: int
    mtime_ns: int
    sha256: str | None
    out_sha256: str | None
    status: Status
    attempts: int
    last_error: str | None
    result: dict[str, Any] | None
    backend: str | None
    model: str | None
    prompt_digest: str | None
    fallback: bool
    dry_run: bool
    queued_at: float | None
    started_at: float | None
    finished_at: float | None
    updated_at: float
    image_sha256: str | None = None  # the image data without metadata (metadata.imagehash)

    @property
    def sig(self) -> FileSig:
        return FileSig(size=self.size, mtime_ns=self.mtime_ns)

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> FileRecord:
        values = list(row)
        values[1] = decode_path(values[1])
        values[6] = Status(values[6])
        values[9] = json.loads(values[9]) if values[9] else None
        values[13] = bool(values[13])
        values[14] = bool(values[14])
        return cls(*values)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": display_path(self.path),
            "status": self.status,
            "size": self.size,
            "sha256": self.sha256,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "backend": self.backend,
            "model": self.model,
            "prompt_digest": self.prompt_digest,
            "fallback": self.fallback,
            "dry_run": self.dry_run,
            "queued_at": self.queued_at,
            "finished_at": self.finished_at,
            "result": self.result,
        }


@dataclass(frozen=True, slots=True)
class Finished:
    """A record as the summary lists it (:meth:`phototag.store.reader.IndexReader.
    finished_since`): its printable path, status, error and result."""

    path: str  # display_path of the record's path
    status: Status
    last_error: str | None
    result: dict[str, Any] | None


# The scan key: a file as the catch-up scan compares it, ``path/size mtime_ns`` in one bytes
# string (``SCAN_KEY % (raw_path, size, mtime_ns)``): exact (the signature part holds no
# "/"), and built alike by SQLite (``reader._SCAN_SETTLED``) and by the walk's side
# (``intake.scan.scan_keys``, in line: a call per file costs ~7 % of the walk), so the index
# side is a set of bytes filled in a few C calls.
SCAN_KEY = b"%b/%d %d"


def split_scan_key(key: bytes) -> tuple[bytes, FileSig]:
    raw_path, _, sig = key.rpartition(b"/")
    size, mtime_ns = sig.split(b" ")
    return raw_path, FileSig(size=int(size), mtime_ns=int(mtime_ns))


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed queue entry: the file as it looked when it was queued."""

    id: int
    path: Path
    sig: FileSig
    attempts: int


class Decision(StrEnum):
    """What to do with a file seen on disk, from what the index knows of it."""

    QUEUE = "queue"  # new, changed, or back after it was deleted
    IN_FLIGHT = "in-flight"  # queued or being tagged already
    FAILED = "failed"  # failed before and unchanged since: waits for tagctl retry
    UNCHANGED = "unchanged"


def decide(record: FileRecord | None, sig: FileSig) -> Decision:
    """What to do with a file seen on disk now that it looks like ``sig``.

    Pure: compares what the index knows with the file's size and mtime, never reads it.
    """
    if record is None or record.status is Status.DELETED:
        return Decision.QUEUE
    if record.status in (Status.QUEUED, Status.PROCESSING):
        return Decision.IN_FLIGHT
    if record.status is Status.UNDONE:
        # a person took phototag's tags out: only tagctl retag asks again
        return Decision.UNCHANGED
    if record.sig != sig:
        return Decision.QUEUE
    if record.status is Status.FAILED:
        return Decision.FAILED
    return Decision.UNCHANGED
