"""tagctl undo's work, the same whether the daemon runs (control socket) or not (direct).

Each photo under the given paths has phototag's writes taken out
(:func:`phototag.metadata.undo.undo_file`) and its index record marked ``undone`` before
the write, so the watcher, seeing the file change, does not queue it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from phototag.config import Settings
from phototag.domain import FileSig
from phototag.errors import JobError
from phototag.intake.scan import candidates
from phototag.intake.selection import Selection
from phototag.metadata.undo import UndoAction, undo_file
from phototag.store.queue import Index
from phototag.store.records import display_path


def undo_paths(
    paths: Iterable[Path], *, settings: Settings, index: Index, dry_run: bool
) -> dict[str, Any]:
    """Undo every photo at or under ``paths``; a JSON-able report. ValueError for a path
    outside the watched roots."""
    selection = Selection.from_settings(settings)
    report: dict[str, Any] = {"dry_run": dry_run, "undone": 0, "files": [], "errors": []}
    for path in _photos(paths, selection=selection):
        try:
            if not dry_run:
                index.mark_undone(path, FileSig.of(path))
            outcome = undo_file(path, settings=settings.metadata, dry_run=dry_run)
            if not dry_run:
                index.mark_undone(path, FileSig.of(path))
        except (JobError, OSError) as exc:
            report["errors"].append({"path": display_path(path), "error": str(exc)})
            continue
        if outcome.action != UndoAction.NOTHING:
            report["undone"] += 1
            report["files"].append(outcome.to_json())
    return report


def _photos(paths: Iterable[Path], *, selection: Selection) -> Iterator[Path]:
    for given in paths:
        path = selection.locate(given)  # OutsideRoots (a ValueError): outside, or by a link
        if path.is_dir():
            yield from sorted(p for p, _sig in candidates(selection, path))
        else:
            yield path
