"""Take out exactly what phototag wrote into a photo (or its sidecar), from its record.

The provenance record lists every tag phototag changed with its value before and the
value phototag wrote (:class:`~phototag.metadata.provenance.Undo`). :func:`plan_undo`
decides, purely: a tag still holding what phototag wrote gets its value before back; a
list a person edited since loses only phototag's items; a text a person changed since is
theirs and stays. A block phototag created (XMP, IPTC) goes whole when nothing of anyone
else's is left in it; a sidecar phototag created alone is deleted. The write is the same
atomic exiftool write as tagging.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from phototag.config import MetadataSettings
from phototag.errors import FileChanged, MetadataWriteError
from phototag.metadata.atomic import current_sig, fsync_dir, replace_bytes
from phototag.metadata.exiftool import shared
from phototag.metadata.provenance import Provenance, Value, from_tags
from phototag.metadata.read import STORED_DIGEST, IptcCharset, as_texts, read_snapshot
from phototag.metadata.sidecar import needs_sidecar, sidecar_path
from phototag.metadata.write import exiv2_xmp, named_for_exiftool, run_to_bytes

# tags that describe a block rather than hold anyone's value
_STRUCTURAL = ("XMP-x:XMPToolkit", "IPTC:EnvelopeRecordVersion", "IPTC:ApplicationRecordVersion")


class UndoAction(StrEnum):
    RESTORED = "restored"  # the tags phototag changed are back as they were
    SIDECAR_DELETED = "sidecar-deleted"  # phototag had created the sidecar alone
    NOTHING = "nothing"  # no phototag record there


@dataclass(frozen=True, slots=True)
class UndoPlan:
    changes: dict[str, Value] = field(default_factory=dict)  # exiftool assignments
    drop_blocks: tuple[str, ...] = ()  # whole groups to delete ("XMP", "IPTC")
    delete_file: bool = False  # the sidecar phototag created, nothing else in it
    iptc_charset: str = "utf8"  # the charset the person's IPTC text is written back in
    kept: tuple[str, ...] = ()  # tags a person changed since: left as they are


@dataclass(frozen=True, slots=True)
class UndoOutcome:
    path: Path
    target: Path | None
    action: UndoAction
    changes: dict[str, Value]
    kept: tuple[str, ...]
    done: bool  # False for a dry run
    dropped: tuple[str, ...] = ()  # blocks phototag had created, deleted whole

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "target": str(self.target) if self.target else None,
            "action": str(self.action),
            "changes": self.changes,
            "dropped": list(self.dropped),
            "kept": list(self.kept),
            "done": self.done,
        }


def plan_undo(
    tags: Mapping[str, Any],
    record: Provenance,
    *,
    sidecar: bool,
    seeded_from: Collection[str] = (),
) -> UndoPlan:
    """What puts ``tags`` (a file's, exiftool's names) back as they were before phototag.
    ``seeded_from``: for a sidecar, the keywords the photo itself shows (seeded into it)."""
    changes: dict[str, Value] = {}
    kept: list[str] = []
    # the person's keywords before phototag (IPTC, Windows' XPKeywords, or the photo's
    # own XMP for a sidecar): dc:subject phototag created was seeded with them, and they
    # stay the person's there, never phototag's
    persons = {
        *as_texts(record.undo.before("IPTC:Keywords")),
        *as_texts(tags.get("IFD0:XPKeywords")),
        *seeded_from,
    }
    for change in record.undo.changes:
        now = tags.get(change.tag)
        if change.tag == STORED_DIGEST or _same(now, change.after):
            changes[change.tag] = change.before
        elif isinstance(change.after, list):
            ours = set(change.after) - set(as_texts(change.before))
            if change.tag == "XMP-dc:Subject" and change.before is None:
                ours -= persons
            left = [v for v in as_texts(now) if v not in ours]
            changes[change.tag] = left or (None if change.before is None else [])
        else:
            kept.append(change.tag)
    changes["XMP-phototag:all"] = None
    after = {
        k: v for k, v in tags.items() if k not in changes and not k.startswith("XMP-phototag:")
    }
    after.update({k: v for k, v in changes.items() if v is not None and k != "XMP-phototag:all"})
    drop: list[str] = []
    if record.undo.created and not _holds_values(after, "XMP-"):
        if sidecar:
            return UndoPlan(delete_file=True, kept=tuple(kept))
        drop.append("XMP")
    created_iptc = all(
        c.before is None for c in record.undo.changes if c.tag.startswith("IPTC:")
    ) and any(c.tag.startswith("IPTC:") for c in record.undo.changes)
    if created_iptc and not _holds_values(after, "IPTC:"):
        drop.append("IPTC")
    for group in drop:
        prefix = "XMP-" if group == "XMP" else "IPTC:"
        changes = {k: v for k, v in changes.items() if not k.startswith(prefix)}
    if "IPTC" not in drop and changes.get(STORED_DIGEST) is not None:
        # the photo had a (current) digest: it describes the IPTC as it is after the undo,
        # which keeps a person's edit since; the old one would hide IPTC from MWG readers
        changes[STORED_DIGEST] = "new"
    charset = record.undo.iptc_charset
    return UndoPlan(
        changes=changes,
        drop_blocks=tuple(drop),
        iptc_charset="cp1252" if charset == IptcCharset.CP1252 else "utf8",
        kept=tuple(kept),
    )


def undo_file(path: Path, *, settings: MetadataSettings, dry_run: bool) -> UndoOutcome:
    """Undo phototag's writes into ``path`` or its sidecar. MetadataWriteError if exiftool
    cannot; FileChanged if the file changed while it was being undone."""
    tool = shared()
    for target, sidecar in _targets(path, settings=settings):
        sig = current_sig(target)
        snapshot = read_snapshot(target, tool=tool)
        record = from_tags(snapshot.tags)
        if record is None:
            continue
        if sidecar and record.sources and path.name not in record.sources:
            continue  # a shared sidecar's record about another photo
        photo_shows = sidecar and path.exists()
        seeded = read_snapshot(path, tool=tool).person.keywords if photo_shows else ()
        plan = plan_undo(snapshot.tags, record, sidecar=sidecar, seeded_from=seeded)
        action = UndoAction.SIDECAR_DELETED if plan.delete_file else UndoAction.RESTORED
        outcome = UndoOutcome(
            path, target, action, plan.changes, plan.kept, not dry_run, plan.drop_blocks
        )
        if dry_run:
            return outcome
        if plan.delete_file:
            if current_sig(target) != sig:
                raise FileChanged(f"{target.name} changed while it was being undone")
            target.unlink()
            fsync_dir(target.parent)
            return outcome
        if snapshot.tags.get("File:MIMEType") == "image/webp":
            new = exiv2_xmp(
                target.read_bytes(), plan.changes, record=None, clear="XMP" in plan.drop_blocks
            )
        else:
            with named_for_exiftool(target, snapshot.tags) as source:
                new = run_to_bytes(
                    tool,
                    undo_args(plan),
                    source=source,
                    like=source,
                    settle_digest=plan.changes.get(STORED_DIGEST) == "new",
                )
        replace_bytes(target, new, expected=sig, keep_mtime=settings.keep_mtime and not sidecar)
        return outcome
    return UndoOutcome(path, None, UndoAction.NOTHING, {}, (), done=False)


def undo_args(plan: UndoPlan) -> list[str]:
    """exiftool's arguments for ``plan`` (the IPTC text in its original charset)."""
    args = ["-m", "-charset", f"iptc={plan.iptc_charset}"]
    args += [f"-{group}:all=" for group in plan.drop_blocks]
    for tag, value in plan.changes.items():
        if value is None:
            args.append(f"-{tag}=")
        elif isinstance(value, list):
            args += [f"-{tag}={item}" for item in value] if value else [f"-{tag}="]
        else:
            args.append(f"-{tag}={value}")
    return args


def _targets(path: Path, *, settings: MetadataSettings) -> list[tuple[Path, bool]]:
    sidecar = sidecar_path(path, naming=settings.sidecar_naming)
    found = [] if needs_sidecar(path) else [(path, False)]
    with contextlib.suppress(OSError):
        if sidecar.exists():
            found.append((sidecar, True))
    if not found and not path.exists():
        raise MetadataWriteError(f"{path}: no such photo")
    return found


def _holds_values(tags: Mapping[str, Any], prefix: str) -> bool:
    return any(k.startswith(prefix) and k not in _STRUCTURAL for k in tags)


def _same(current: Any, value: Value) -> bool:
    if value is None:
        return current is None
    if isinstance(value, list):
        return as_texts(current) == value
    return current is not None and str(current) == value
