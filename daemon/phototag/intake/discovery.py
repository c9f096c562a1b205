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
from pathlib import Path
from typing import Any, Literal

from phototag.config import Settings
from phototag.domain import FileSig
from phototag.intake.scan import Entry, Kind, walk
from phototag.intake.selection import Selection, size_skip_reason
from phototag.store.records import FileRecord, decide, decode_path, display_path

Action = Literal["process", "skip"]
ALREADY_QUEUED = "already queued"
SYMLINK_SKIPPED = "symbolic link, not followed (follow_symlinks is off)"
NOT_REGULAR = "not a regular file"
CHANGED = "changed since it was last seen"
DRY_RUN_ONLY = "tagged in a dry run only"


@dataclass(frozen=True, slots=True)
class Finding:
    path: Path
    action: Action
    reason: str
    sig: FileSig | None = None

    def as_json(self) -> dict[str, Any]:
        return {"path": display_path(self.path), "action": self.action, "reason": self.reason}


def verdict(record: FileRecord | None, sig: FileSig, *, dry_run: bool) -> tuple[Action, str]:
    """What the daemon would do with a selected file, from what the index knows. Pure.

    A record finished in a dry run counts as done only while the daemon still writes
    nothing (``dry_run``); otherwise the file is tagged again and written this time.
    """
    decision = decide(record, sig)
    if decision == "queue":
        if record is None or record.status == "deleted":
            return "process", "new"
        return "process", CHANGED
    if decision == "in-flight":
        return "process", ALREADY_QUEUED
    assert record is not None
    if decision == "failed":
        return "skip", "failed before and unchanged (tagctl retry)"
    if record.status == "done" and record.dry_run and not dry_run:
        return "process", DRY_RUN_ONLY
    if record.status == "done":
        return "skip", "already done"
    return "skip", f"unchanged since it was {record.status}"


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
                yield Finding(top, "skip", "outside the roots")
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
        reason = size_skip_reason(sig.size, max_file_bytes=self.max_file_bytes)
        if reason is not None:
            return Finding(path, "skip", reason, sig)
        action, why = verdict(self.lookup(path), sig, dry_run=self.dry_run)
        return Finding(path, action, why, sig)


# entries the walk does not enter or open, whatever their name
_PASSED_OVER = {
    Kind.LINK: SYMLINK_SKIPPED,
    Kind.HIDDEN_FOLDER: "hidden folder",
    Kind.SUBFOLDER: "subfolder (recursive is off)",
}


def _path_of(entry: Entry) -> bytes:
    return entry[0]


def _entry_reason(kind: Kind, error: OSError | None) -> str | None:
    """Why an entry with a photo's name is never opened (``selection.entry_skip_reason``,
    from the walk's stat); None for a regular file."""
    if kind is Kind.SPECIAL:
        return NOT_REGULAR
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
