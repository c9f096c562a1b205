"""What would be tagged now, and why everything else is not: a report on the one walk.

``tagctl scan`` prints these findings. They come from :func:`phototag.intake.scan.walk`, the
walk every scan makes, and name what it passes over (links, hidden folders, names and
entries never opened) instead of staying silent about it; a file is "process" when the
index says a scan would hand it on (:func:`verdict`, on ``records.decide``).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from phototag.config import Settings
from phototag.domain import FileSig
from phototag.intake.scan import Entry, Kind, walk
from phototag.intake.selection import Selection, SkipReason, size_skip_reason
from phototag.states import Status
from phototag.store.records import Decision, FileRecord, decide, decode_path, display_path

Action = Literal["process", "skip"]


class Reason(StrEnum):
    """Why a selected file is processed or not, from what the index knows (the value is
    the text shown)."""

    NEW = "new"
    CHANGED = "changed since it was last seen"
    ALREADY_QUEUED = "already queued"
    FAILED_BEFORE = "failed before and unchanged (tagctl retry)"
    DRY_RUN_ONLY = "tagged in a dry run only"
    ALREADY_DONE = "already done"
    UNCHANGED_SKIPPED = "unchanged since it was skipped"
    UNCHANGED_UNDONE = "unchanged since it was undone"


# decide() says UNCHANGED only of a record done (told apart first), skipped or undone
_UNCHANGED_SINCE = {
    Status.SKIPPED: Reason.UNCHANGED_SKIPPED,
    Status.UNDONE: Reason.UNCHANGED_UNDONE,
}


@dataclass(frozen=True, slots=True)
class Finding:
    path: Path
    action: Action
    reason: str
    sig: FileSig | None = None

    def as_json(self) -> dict[str, Any]:
        return {"path": display_path(self.path), "action": self.action, "reason": self.reason}


def verdict(record: FileRecord | None, sig: FileSig, *, dry_run: bool) -> tuple[Action, Reason]:
    """What the daemon would do with a selected file, from what the index knows. Pure.

    A record finished in a dry run counts as done only while the daemon still writes
    nothing (``dry_run``); otherwise the file is tagged again and written this time.
    """
    decision = decide(record, sig)
    if decision is Decision.QUEUE:
        if record is None or record.status is Status.DELETED:
            return "process", Reason.NEW
        return "process", Reason.CHANGED
    if decision is Decision.IN_FLIGHT:
        return "process", Reason.ALREADY_QUEUED
    assert record is not None
    if decision is Decision.FAILED:
        return "skip", Reason.FAILED_BEFORE
    if record.status is Status.DONE and record.dry_run and not dry_run:
        return "process", Reason.DRY_RUN_ONLY
    if record.status is Status.DONE:
        return "skip", Reason.ALREADY_DONE
    return "skip", _UNCHANGED_SINCE[record.status]


@dataclass(frozen=True, slots=True)
class Discovery:
    """The report's parts: the name rules, the index lookup and the run's mode."""

    selection: Selection
    lookup: Callable[[Path], FileRecord | None]
    dry_run: bool  # this run writes nothing: a dry-run record counts as done
    max_file_bytes: int

    @classmethod
    def from_settings(
        cls, settings: Settings, lookup: Callable[[Path], FileRecord | None]
    ) -> Discovery:
        return cls(
            selection=Selection.from_settings(settings),
            lookup=lookup,
            dry_run=not settings.writes_metadata,
            max_file_bytes=settings.max_file_bytes,
        )

    def findings(self, tops: Iterable[Path]) -> Iterator[Finding]:
        """A finding for every file (or passed-over folder) at or under each of ``tops``."""
        selection = self.selection
        for top in tops:
            if selection.root_of(top) is None:
                yield Finding(top, "skip", SkipReason.OUTSIDE_ROOTS)
            elif not os.path.lexists(top):
                yield Finding(top, "skip", "not found")
            else:
                entries = walk(
                    top, recursive=selection.recursive, follow_symlinks=selection.follow_symlinks
                )
                for raw, kind, st, error in sorted(entries, key=_path_of):  # as ls would
                    if kind is not Kind.FOLDER:
                        yield self._finding(decode_path(raw), kind, st, error)

    def _finding(
        self, path: Path, kind: Kind, st: os.stat_result | None, error: OSError | None
    ) -> Finding:
        if kind in _PASSED_OVER:
            return Finding(path, "skip", _PASSED_OVER[kind])
        if kind is Kind.UNREADABLE:
            return Finding(path, "skip", f"cannot read the folder: {_why(error)}")
        # a file, or what sits where one could: its name is judged first
        reason = self.selection.skip_reason(path) or _entry_reason(kind, error)
        if reason is not None:
            return Finding(path, "skip", reason)
        assert st is not None  # a FILE entry carries its stat
        sig = FileSig(size=st.st_size, mtime_ns=st.st_mtime_ns)
        skip = size_skip_reason(sig.size, max_file_bytes=self.max_file_bytes)
        if skip is not None:
            return Finding(path, "skip", skip.message, sig)
        action, why = verdict(self.lookup(path), sig, dry_run=self.dry_run)
        return Finding(path, action, why, sig)


# entries the walk does not enter or open, whatever their name
_PASSED_OVER = {
    Kind.LINK: SkipReason.SYMLINK,
    Kind.HIDDEN_FOLDER: "hidden folder",
    Kind.SUBFOLDER: "subfolder (recursive is off)",
}


def _path_of(entry: Entry) -> bytes:
    return entry[0]


def _entry_reason(kind: Kind, error: OSError | None) -> str | None:
    """Why an entry with a photo's name is never opened (``selection.entry_skip_reason``,
    from the walk's stat); None for a regular file."""
    if kind is Kind.SPECIAL:
        return SkipReason.NOT_REGULAR
    if kind is Kind.UNSTATABLE:
        return f"cannot stat: {_why(error)}"
    return None


def _why(error: OSError | None) -> str:
    return str(error.strerror or error) if error is not None else "unknown error"


def totals(findings: Iterable[Finding]) -> dict[str, Any]:
    """Counts by action, and by reason within each action."""
    by_action: Counter[str] = Counter()
    by_reason: dict[str, Counter[str]] = {"process": Counter(), "skip": Counter()}
    for finding in findings:
        by_action[finding.action] += 1
        by_reason[finding.action][finding.reason] += 1
    return {
        "process": by_action["process"],
        "skip": by_action["skip"],
        "reasons": {action: dict(counts.most_common()) for action, counts in by_reason.items()},
    }
