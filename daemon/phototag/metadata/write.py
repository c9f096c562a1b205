"""Write a tagger's output into a photo's metadata (or its XMP sidecar), never harming it.

The photo's bytes are read once, merged in memory by exiv2 (``pyexiv2.ImageData``),
and committed atomically (:mod:`phototag.metadata.atomic`); what to write is decided by the pure
:func:`phototag.metadata.merge.plan_write`. JPEG, PNG, TIFF and WebP are written in place
(WebP has no IPTC); RAW and HEIC/HEIF get an XMP sidecar, merged if one exists.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyexiv2
from PIL import Image

from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult
from phototag.errors import FileChanged, FileGone, MetadataWriteError
from phototag.keywords import fit_utf8
from phototag.metadata.atomic import (
    TEMP_PREFIX,
    check_unchanged,
    create_exclusive,
    remove_stale_temp_files,
    replace_bytes,
)
from phototag.metadata.edits import person_edits
from phototag.metadata.merge import (
    IPTC_CHARSET,
    IPTC_KEYWORDS,
    IPTC_UTF8,
    TEXT_FIELDS,
    XMP_HIERARCHY,
    XMP_SUBJECT,
    Plan,
    TextField,
    lang_alt_text,
    plan_write,
)
from phototag.metadata.provenance import NS_PREFIX, Provenance, as_list, from_xmp
from phototag.metadata.sidecar import EMPTY_XPACKET, needs_sidecar, sidecar_path

__all__ = [
    "TEMP_PREFIX",
    "WriteOutcome",
    "needs_sidecar",
    "read_tags",
    "remove_stale_temp_files",
    "sidecar_path",
    "write_tags",
]

_NO_IPTC = ("image/webp", "application/rdf+xml")  # WebP, and an XMP sidecar


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    written: bool  # False when dry_run or settings.write is False
    target: Path | None  # the photo itself or its sidecar
    sidecar: bool
    fields: tuple[str, ...]  # the metadata fields phototag wrote
    keywords: tuple[str, ...]  # the keywords phototag itself added (its own output)
    sig: FileSig | None  # the photo's size+mtime after the write; None if not touched
    sha256: str | None  # hex sha256 of the photo's bytes after an in-place write
    note: str = ""  # e.g. "WebP: no IPTC", "sidecar: RAW"


def write_tags(
    path: Path,
    result: TagResult,
    *,
    settings: MetadataSettings,
    expected: FileSig,
    dry_run: bool = False,
    written_before: Sequence[str] = (),
) -> WriteOutcome:
    """Merge ``result`` into ``path``'s metadata, or its sidecar.

    ``written_before`` are the keywords the index says phototag wrote there last time: if
    another tool dropped phototag's provenance record since, those now missing were
    removed by a person (:func:`phototag.metadata.edits.person_edits`).

    Raises FileGone if the photo is missing, FileChanged if it no longer matches
    ``expected`` (nothing written), MetadataWriteError for anything else (the photo and
    any existing sidecar are then exactly as they were).
    """
    check_unchanged(path, expected)
    target, note = _choose_target(path, settings=settings)
    try:
        if target == path:
            return _write_in_place(
                path,
                result,
                settings=settings,
                expected=expected,
                commit=settings.write and not dry_run,
                written_before=written_before,
            )
        return _write_sidecar(
            path,
            target,
            result,
            settings=settings,
            expected=expected,
            commit=settings.write and not dry_run,
            note=note,
            written_before=written_before,
        )
    except (FileGone, FileChanged, MetadataWriteError):
        raise
    except FileNotFoundError as exc:
        if not path.exists():
            raise FileGone(f"file disappeared: {path}") from exc
        raise MetadataWriteError(f"cannot write metadata for {path.name}: {exc}") from exc
    except PermissionError as exc:
        raise MetadataWriteError(
            f"cannot write metadata for {path.name}: permission denied ({exc.filename})"
        ) from exc
    except (OSError, RuntimeError, UnicodeError, ValueError) as exc:
        raise MetadataWriteError(f"cannot write metadata for {path.name}: {exc}") from exc


def read_tags(path: Path, *, settings: MetadataSettings) -> dict[str, Any]:
    """What phototag wrote into ``path`` (or its sidecar), when, and what else is there."""
    target = _read_target(path, settings=settings)
    report: dict[str, Any] = {
        "path": str(path),
        "target": str(target) if target else None,
        "sidecar": target is not None and target != path,
    }
    if target is None:
        return {**report, "provenance": None, "phototag": {}, "other": {}, "person": {}}
    try:
        xmp, iptc = _read_metadata(target.read_bytes())
    except FileNotFoundError as exc:
        raise FileGone(f"file disappeared: {target}") from exc
    except (OSError, RuntimeError, UnicodeError) as exc:
        raise MetadataWriteError(f"cannot read metadata of {target.name}: {exc}") from exc
    record = from_xmp(xmp)
    return {**report, **describe(xmp, iptc, record)}


def describe(
    xmp: dict[str, Any], iptc: dict[str, Any], record: Provenance | None
) -> dict[str, Any]:
    """Split parsed metadata into phototag's provenance, its own output, the rest, and
    what a person did to phototag's output (the keywords they removed, the texts they
    changed: :mod:`phototag.metadata.edits`)."""
    own_keywords = set(record.keywords) if record else set()
    own_hierarchy = set(record.hierarchical) if record else set()
    phototag: dict[str, Any] = {}
    if record:
        phototag = {
            "keywords": list(record.keywords),
            "hierarchical": list(record.hierarchical),
            **dict(record.texts),
        }
    other: dict[str, Any] = {}
    for key, value in {**xmp, **iptc}.items():
        if key.startswith(f"Xmp.{NS_PREFIX}.") or key == IPTC_CHARSET:
            continue
        if key in (XMP_SUBJECT, IPTC_KEYWORDS, XMP_HIERARCHY):
            own = own_hierarchy if key == XMP_HIERARCHY else own_keywords
            value = [k for k in as_list(value) if k not in own]
        elif record and any(_is_own_text(key, value, spec, record) for spec in TEXT_FIELDS):
            continue
        if value:
            other[key] = value
    provenance = None
    if record:
        provenance = {
            "generator": record.generator,
            "backend": record.backend,
            "model": record.model,
            "prompt_digest": record.prompt_digest,
            "time": record.time,
            "fields": list(record.fields),
            "sources": list(record.sources),
        }
    edits = person_edits(xmp, record)
    person = {"rejected": list(edits.rejected), "changed": list(edits.changed)}
    return {"provenance": provenance, "phototag": phototag, "other": other, "person": person}


def _is_own_text(key: str, value: Any, spec: TextField, record: Provenance) -> bool:
    own = record.text(spec.name)
    if not own:
        return False
    if key == spec.xmp:
        return lang_alt_text(value) == own
    return key == spec.iptc and value == fit_utf8(own, max_bytes=spec.iptc_max_bytes)


def _choose_target(path: Path, *, settings: MetadataSettings) -> tuple[Path, str]:
    if needs_sidecar(path):
        kind = "HEIC" if path.suffix.lower() in (".heic", ".heif", ".hif") else "RAW"
        return sidecar_path(path, naming=settings.sidecar_naming), f"sidecar: {kind}"
    links = path.stat().st_nlink  # a rename would split the links: only one gets the tags
    if links > 1 and settings.hardlinks == "sidecar":
        return sidecar_path(path, naming=settings.sidecar_naming), f"sidecar: {links} hard links"
    reason = _read_only_reason(path)
    if not reason:
        return path, ""
    if settings.readonly_fallback == "sidecar":
        return sidecar_path(path, naming=settings.sidecar_naming), f"sidecar: {reason}"
    raise MetadataWriteError(
        f"{path.name}: {reason}; nothing written "
        '(set metadata.readonly_fallback = "sidecar" to use a sidecar)'
    )


def _read_only_reason(path: Path) -> str:
    """Why ``path`` must not be rewritten in place ("" if it may be). Mode bits count even
    for root: a person who made a photo or folder read-only meant it."""
    if not path.stat().st_mode & 0o222 or not os.access(path, os.W_OK):
        return "the file is read-only"
    return _folder_read_only(path.parent)


def _folder_read_only(folder: Path) -> str:
    if not folder.stat().st_mode & 0o222 or not os.access(folder, os.W_OK | os.X_OK):
        return "the folder is read-only"
    return ""


def _read_target(path: Path, *, settings: MetadataSettings) -> Path | None:
    sidecar = sidecar_path(path, naming=settings.sidecar_naming)
    if needs_sidecar(path):
        return sidecar if sidecar.exists() else None
    if sidecar.exists():
        try:
            xmp, _ = _read_metadata(path.read_bytes())
        except (OSError, RuntimeError, UnicodeError):
            return sidecar
        if from_xmp(xmp) is None:
            return sidecar  # a read-only photo whose tags went to a sidecar
    return path


def _write_in_place(
    path: Path,
    result: TagResult,
    *,
    settings: MetadataSettings,
    expected: FileSig,
    commit: bool,
    written_before: Sequence[str],
) -> WriteOutcome:
    # exiv2 keeps its own copy of the file: the bytes read are freed as soon as it has
    # it, so a write holds three copies of a photo at its peak, not four
    image = pyexiv2.ImageData(path.read_bytes())
    try:
        check_unchanged(path, expected)  # the bytes read are the ones the daemon tagged
        new, plan, has_iptc = _merge(
            image, result, source=None, settings=settings, written_before=written_before
        )
    finally:
        image.close()
    note = "" if has_iptc else "WebP: no IPTC"
    if not commit:
        return WriteOutcome(
            written=False,
            target=path,
            sidecar=False,
            fields=plan.fields,
            keywords=plan.keywords,
            sig=None,
            sha256=None,
            note=note,
        )
    sig = replace_bytes(path, new, expected=expected, keep_mtime=settings.keep_mtime)
    return WriteOutcome(
        written=True,
        target=path,
        sidecar=False,
        fields=plan.fields,
        keywords=plan.keywords,
        sig=sig,
        sha256=hashlib.sha256(new).hexdigest(),
        note=note,
    )


def _write_sidecar(
    path: Path,
    target: Path,
    result: TagResult,
    *,
    settings: MetadataSettings,
    expected: FileSig,
    commit: bool,
    note: str,
    written_before: Sequence[str],
) -> WriteOutcome:
    reason = _read_only_reason(target) if target.exists() else _folder_read_only(target.parent)
    if commit and reason:
        raise MetadataWriteError(f"cannot write the sidecar {target.name}: {reason}")
    existing = target.read_bytes() if target.exists() else None
    existing_sig = FileSig.of(target) if existing is not None else None
    new, plan = _merge_sidecar(
        existing or EMPTY_XPACKET,
        result,
        source=path.name,
        settings=settings,
        written_before=written_before,
    )
    outcome = WriteOutcome(
        written=commit,
        target=target,
        sidecar=True,
        fields=plan.fields,
        keywords=plan.keywords,
        sig=None,
        sha256=None,
        note=note,
    )
    if not commit:
        return outcome
    check_unchanged(path, expected)
    if existing_sig is None:
        create_exclusive(target, new, mode=path.stat().st_mode & 0o666)
    else:
        replace_bytes(target, new, expected=existing_sig, keep_mtime=False)
    return outcome


def _merge_sidecar(
    packet: bytes,
    result: TagResult,
    *,
    source: str,
    settings: MetadataSettings,
    written_before: Sequence[str],
) -> tuple[bytes, Plan]:
    """Merge into an XMP sidecar's packet, carried inside a tiny PNG: exiv2's own sidecar
    writer fails to re-encode arrays it read ("Indexing applied to non-array") and drops
    properties whose key contains "iptc", while its image writers handle both. PNG, not
    JPEG: a JPEG's APP1 segment holds at most 64 KB, and a darktable history is larger."""
    carrier = pyexiv2.ImageData(_carrier_png())
    try:
        carrier.modify_raw_xmp(packet.decode("utf-8"))
        wrapped = carrier.get_bytes()
    finally:
        carrier.close()
    image = pyexiv2.ImageData(wrapped)
    try:
        merged, plan, _ = _merge(
            image,
            result,
            source=source,
            settings=settings,
            with_iptc=False,
            written_before=written_before,
        )
    finally:
        image.close()
    image = pyexiv2.ImageData(merged)
    try:
        return image.read_raw_xmp().strip().encode("utf-8") + b"\n", plan
    finally:
        image.close()


@functools.cache
def _carrier_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    return buffer.getvalue()


def _merge(
    image: pyexiv2.ImageData,
    result: TagResult,
    *,
    source: str | None,
    settings: MetadataSettings,
    with_iptc: bool = True,
    written_before: Sequence[str] = (),
) -> tuple[bytes, Plan, bool]:
    """(new bytes, the plan, whether the format has IPTC) for ``image`` with ``result``;
    the caller opens and closes ``image``."""
    has_iptc = with_iptc and image.get_mime_type() not in _NO_IPTC
    xmp = image.read_xmp()
    iptc, iptc_utf8 = _read_iptc(image) if has_iptc else ({}, True)
    previous = from_xmp(xmp)
    edits = person_edits(xmp, previous, written_before=written_before)
    plan = plan_write(
        xmp=xmp,
        iptc=iptc if has_iptc else None,
        iptc_utf8=iptc_utf8,
        result=result,
        previous=previous,
        overwrite=settings.overwrite,
        description_field=settings.description_field,
        source=source,
        time_iso=datetime.now(UTC).isoformat(timespec="seconds"),
        rejected=edits.rejected,
        changed=edits.changed,
        overwrite_edits=settings.overwrite_edits,
    )
    if plan.iptc:
        image.modify_iptc(plan.iptc)
    image.modify_xmp(plan.xmp)
    return image.get_bytes(), plan, has_iptc


def _read_metadata(data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    image = pyexiv2.ImageData(data)
    try:
        has_iptc = image.get_mime_type() not in _NO_IPTC
        return image.read_xmp(), _read_iptc(image)[0] if has_iptc else {}
    finally:
        image.close()


def _read_iptc(image: pyexiv2.ImageData) -> tuple[dict[str, Any], bool]:
    """(IPTC as text, whether it is UTF-8 as declared). IPTC with no UTF-8 declaration
    or with bytes that are not UTF-8 is read as Latin-1, as exiftool does."""
    try:
        iptc = image.read_iptc()
    except UnicodeDecodeError:
        return image.read_iptc(encoding="latin-1"), False
    return iptc, iptc.get(IPTC_CHARSET) == IPTC_UTF8
