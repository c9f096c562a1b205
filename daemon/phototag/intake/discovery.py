"""What would be tagged now, and why everything else is not: a stat-only look at the roots.

``tagctl scan`` prints these findings; ``phototagd --once`` queues the ones to process.
The walk follows the same rules as :meth:`Selection.walk` (hidden folders, symlinks,
recursion) but reports what it passes over instead of staying silent about it.
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
from phototag.intake.selection import Selection, SkipReason, entry_skip_reason, size_skip_reason
from phototag.intake.stability import is_settled
from phototag.states import Status
from phototag.store.records import Decision, FileRecord, decide, display_path

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
    # a member of Reason, SkipReason or Reuse, which code compares by identity (``is``),
    # or the message of a reason with a variable part (a Skip's), which it never reads
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
    """The walk: the name rules, the index lookup and the run's mode."""

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
            elif (top.is_dir() and not top.is_symlink()) or top in selection.roots:
                yield from self._walk(top, seen=set())
            elif top.exists() or top.is_symlink():
                yield self._finding(top)
            else:
                yield Finding(top, "skip", "not found")

    def _walk(self, folder: Path, *, seen: set[tuple[int, int]]) -> Iterator[Finding]:
        follow = self.selection.follow_symlinks
        try:
            st = folder.stat()
            if (st.st_dev, st.st_ino) in seen:
                return  # a symlink loop
            seen.add((st.st_dev, st.st_ino))
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            yield Finding(folder, "skip", f"cannot read the folder: {exc.strerror or exc}")
            return
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=follow)
            except OSError:
                is_dir = False
            if entry.is_symlink() and not follow:
                yield Finding(path, "skip", SkipReason.SYMLINK)
            elif not is_dir:
                yield self._finding(path)
            elif entry.name.startswith("."):
                yield Finding(path, "skip", "hidden folder")
            elif not self.selection.recursive:
                yield Finding(path, "skip", "subfolder (recursive is off)")
            else:
                yield from self._walk(path, seen=seen)

    def _finding(self, path: Path) -> Finding:
        reason = self.selection.skip_reason(path)
        if reason is not None:
            return Finding(path, "skip", reason)
        skip = entry_skip_reason(path, follow_symlinks=self.selection.follow_symlinks)
        if skip is not None:
            return Finding(path, "skip", skip.message)
        try:
            sig = FileSig.of(path)
        except OSError as exc:
            return Finding(path, "skip", f"cannot stat: {exc.strerror or exc}")
        skip = size_skip_reason(sig.size, max_file_bytes=self.max_file_bytes)
        if skip is not None:
            return Finding(path, "skip", skip.message, sig)
        action, why = verdict(self.lookup(path), sig, dry_run=self.dry_run)
        return Finding(path, action, why, sig)


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


def queue_pending(
    findings: Iterable[Finding],
    *,
    now_ns: int,
    debounce_s: float,
    enqueue: Callable[[Path, FileSig], object],
    settle: Callable[[Path], None],
) -> int:
    """Hand each file to process on: a file already complete on disk goes straight to the
    queue (``enqueue``), a recently written one to the stability tracker (``settle``).
    Returns how many were handed on."""
    count = 0
    for finding in findings:
        if (
            finding.action != "process"
            or finding.reason is Reason.ALREADY_QUEUED
            or not finding.sig
        ):
            continue
        count += 1
        if is_settled(finding.sig, now_ns=now_ns, debounce_s=debounce_s):
            enqueue(finding.path, finding.sig)
        else:
            settle(finding.path)
    return count
