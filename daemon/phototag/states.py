"""The states a file and a job go through, as ``StrEnum``s: code decides on the members,
and their values are the very strings the index and the JSONL have always stored (an
index or a JSONL line from before this module reads back unchanged: no migration).

A module of its own, importing nothing: ``errors`` needs :class:`Ending` and is imported
by every ``tagctl`` verb, while ``domain`` pulls in Pillow (about 80 ms measured here).
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """A file's row in the index (``files.status``); the rows with QUEUED are the queue."""

    QUEUED = "queued"
    PROCESSING = "processing"  # claimed by a worker
    DONE = "done"
    FAILED = "failed"  # unchanged since: not tried again until tagctl retry
    SKIPPED = "skipped"  # never opened (a symbolic link, a FIFO): last_error says why
    DELETED = "deleted"  # gone from disk; kept so a copy or a return can adopt its result
    UNDONE = "undone"  # tagctl undo took phototag's writes out; not tagged again until
    # tagctl retag


class Ending(StrEnum):
    """How one job ended: the ``status`` of its JSONL line. :attr:`status` is the index
    row it leaves."""

    DONE = "done"
    ADOPTED = "adopted"  # a file moved while phototag was down took its old record
    REQUEUED = "queued"  # not finished now (changed, disk full, backend down): tried again
    FAILED = "failed"
    DELETED = "deleted"

    @property
    def status(self) -> Status:
        # an adopted file's row is the done row it took over: it counts, is searched and
        # is reused like any other tagged photo
        return _STATUS_AFTER[self]


_STATUS_AFTER = {
    Ending.DONE: Status.DONE,
    Ending.ADOPTED: Status.DONE,
    Ending.REQUEUED: Status.QUEUED,
    Ending.FAILED: Status.FAILED,
    Ending.DELETED: Status.DELETED,
}
