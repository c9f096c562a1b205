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
from pathlib import Path
from typing import Any, Literal

from phototag.config import Settings
from phototag.domain import FileSig
from phototag.intake.selection import Selection, entry_skip_reason, size_skip_reason
from phototag.intake.stability import is_settled
from phototag.store.records import FileRecord, decide, display_path

Action = Literal["process", "skip"]
ALREADY_QUEUED = "already queued"
SYMLINK_SKIPPED = "symbolic link, not followed (follow_symlinks is off)"
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
                yield Finding(top, "skip", "outside the roots")
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
                yield Finding(path, "skip", SYMLINK_SKIPPED)
            elif not is_dir:
                yield self._finding(path)
            elif entry.name.startswith("."):
                yield Finding(path, "skip", "hidden folder")
            elif not self.selection.recursive:
                yield Finding(path, "skip", "subfolder (recursive is off)")
            else:
                yield from self._walk(path, seen=seen)

    def _finding(self, path: Path) -> Finding:
        reason = self.selection.skip_reason(path) or entry_skip_reason(
            path, follow_symlinks=self.selection.follow_symlinks
        )
        if reason is not None:
            return Finding(path, "skip", reason)
        try:
            sig = FileSig.of(path)
        except OSError as exc:
            return Finding(path, "skip", f"cannot stat: {exc.strerror or exc}")
        reason = size_skip_reason(sig.size, max_file_bytes=self.max_file_bytes)
        if reason is not None:
            return Finding(path, "skip", reason, sig)
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
        if finding.action != "process" or finding.reason == ALREADY_QUEUED or not finding.sig:
            continue
        count += 1
        if is_settled(finding.sig, now_ns=now_ns, debounce_s=debounce_s):
            enqueue(finding.path, finding.sig)
        else:
            settle(finding.path)
    return count
