"""Write a tagger's output into a photo's metadata (or its XMP sidecar), never harming it.

The long-lived exiftool (:mod:`phototag.metadata.exiftool`) reads the photo and writes a
new copy of it beside it, committed atomically (:mod:`phototag.metadata.atomic`); what to
write is decided by the pure :func:`phototag.metadata.merge.plan_write`. JPEG, PNG, TIFF and
WebP are written in place (WebP, which exiftool 12.57 cannot write, by exiv2, and with no
IPTC); RAW and HEIC/HEIF get an XMP sidecar, merged if one exists.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult
from phototag.errors import FileChanged, FileGone, MetadataWriteError
from phototag.metadata.atomic import (
    TEMP_PREFIX,
    check_room,
    check_unchanged,
    create_exclusive,
    remove_stale_temp_files,
    replace_bytes,
)
from phototag.metadata.edits import person_edits
from phototag.metadata.exiftool import ExifTool, shared
from phototag.metadata.merge import (
    TAG_KEYS,
    TEXT_FIELDS,
    X_DEFAULT,
    Plan,
    plan_write,
)
from phototag.metadata.provenance import (
    NS_PREFIX,
    Provenance,
    Value,
    bag,
    from_tags,
    register_namespace,
    to_xmp,
)
from phototag.metadata.read import (
    CURRENT_DIGEST,
    STORED_DIGEST,
    IptcCharset,
    Person,
    Snapshot,
    read_snapshot,
    shown_with_sidecar,
)
from phototag.metadata.sidecar import needs_sidecar, sidecar_path

__all__ = [
    "TEMP_PREFIX",
    "WriteOutcome",
    "needs_sidecar",
    "remove_stale_temp_files",
    "sidecar_path",
    "write_tags",
]


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

    @classmethod
    def planned(cls, plan: Plan, *, target: Path, sidecar: bool, note: str) -> WriteOutcome:
        """What ``plan`` would write into ``target``, not written (yet)."""
        return cls(
            written=False,
            target=target,
            sidecar=sidecar,
            fields=plan.fields,
            keywords=plan.keywords,
            sig=None,
            sha256=None,
            note=note,
        )


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
            person=read_snapshot(path, tool=shared()).person,
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


def _write_in_place(
    path: Path,
    result: TagResult,
    *,
    settings: MetadataSettings,
    expected: FileSig,
    commit: bool,
    written_before: Sequence[str],
) -> WriteOutcome:
    tool = shared()
    snapshot = read_snapshot(path, tool=tool)
    check_unchanged(path, expected)  # what was read is the photo the daemon tagged
    webp = snapshot.tags.get("File:MIMEType") == "image/webp"
    plan = _plan(
        snapshot,
        result,
        iptc=not webp,
        source=None,
        settings=settings,
        written_before=written_before,
    )
    note = "WebP: no IPTC" if webp else ""
    outcome = WriteOutcome.planned(plan, target=path, sidecar=False, note=note)
    if not commit:
        return outcome
    try:
        # exiftool 12.57 cannot write RIFF: WebP (XMP only, no IPTC to re-serialise) is
        # written by exiv2
        if webp:
            new = _exiv2_xmp(path.read_bytes(), plan)
        else:
            tiff = snapshot.tags.get("File:MIMEType") == "image/tiff"
            png = snapshot.tags.get("File:MIMEType") == "image/png"
            with (
                named_for_exiftool(path, snapshot.tags) as source,
                _xmp_out_of_raw_profile(tool, source)
                if png
                else contextlib.nullcontext(source) as moved,
            ):
                new = _exiftool_bytes(
                    tool, moved, plan, like=source, settle_digest=tiff and plan.new_digest
                )
    except (MetadataWriteError, RuntimeError) as exc:
        if "XMP" not in str(exc):
            raise  # a damaged image, not another tool's XMP: nothing to fall back to
        # XMP another tool wrote so that it cannot be rewritten safely: the tags go to a
        # sidecar, with the reason in the record
        target = sidecar_path(path, naming=settings.sidecar_naming)
        reason = str(exc).removeprefix(f"exiftool cannot write {path.name}: ")
        return _write_sidecar(
            path,
            target,
            result,
            settings=settings,
            expected=expected,
            commit=commit,
            note=f"sidecar: the photo's metadata cannot be rewritten ({reason})",
            written_before=written_before,
            person=snapshot.person,
        )
    sig = replace_bytes(path, new, expected=expected, keep_mtime=settings.keep_mtime)
    return replace(outcome, written=True, sig=sig, sha256=hashlib.sha256(new).hexdigest())


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
    person: Person | None = None,
) -> WriteOutcome:
    """Merge into ``target``, an XMP sidecar; ``person`` is what an MWG reader shows in
    the photo itself (a HEIC's or RAW's own XMP, IPTC, EXIF), seeded into the sidecar
    where it has no such field yet: readers that take a field from the sidecar would
    otherwise no longer show the photo's."""
    reason = _read_only_reason(target) if target.exists() else _folder_read_only(target.parent)
    if commit and reason:
        raise MetadataWriteError(f"cannot write the sidecar {target.name}: {reason}")
    tool = shared()
    existing_sig = FileSig.of(target) if target.exists() else None
    snapshot = read_snapshot(target, tool=tool) if existing_sig else EMPTY_SNAPSHOT
    if person is not None:
        shown = shown_with_sidecar(snapshot, person)
        snapshot = Snapshot(tags=snapshot.tags, iptc_charset=snapshot.iptc_charset, person=shown)
    plan = _plan(
        snapshot,
        result,
        iptc=False,
        source=path.name,
        settings=settings,
        written_before=written_before,
    )
    outcome = WriteOutcome.planned(plan, target=target, sidecar=True, note=note)
    if not commit:
        return outcome
    new = _exiftool_bytes(tool, target if existing_sig else None, plan, like=target)
    check_unchanged(path, expected)
    if existing_sig is None:
        create_exclusive(target, new, mode=path.stat().st_mode & 0o666)
    else:
        replace_bytes(target, new, expected=existing_sig, keep_mtime=False)
    return replace(outcome, written=True)


EMPTY_SNAPSHOT = Snapshot(tags={}, iptc_charset=IptcCharset.ASCII, person=Person())


def _plan(
    snapshot: Snapshot,
    result: TagResult,
    *,
    iptc: bool,
    source: str | None,
    settings: MetadataSettings,
    written_before: Sequence[str] = (),
) -> Plan:
    previous = from_tags(snapshot.tags)
    edits = person_edits(snapshot.tags, previous, written_before=written_before)
    return plan_write(
        snapshot=snapshot,
        iptc=iptc,
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


def exiftool_args(
    changes: Mapping[str, Value], *, iptc_charset: str | None, new_digest: bool
) -> list[str]:
    """exiftool's arguments for ``changes``: ``-TAG=value`` (each item of a list; the
    first replaces what is there), ``-TAG=`` to delete; IPTC text in ``iptc_charset``."""
    args = ["-m", "-charset", f"iptc={iptc_charset}"] if iptc_charset else ["-m"]
    for tag, value in changes.items():
        if value is None:
            args.append(f"-{tag}=")
        elif isinstance(value, list):
            args.extend(f"-{tag}={item}" for item in value)
        else:
            args.append(f"-{tag}={value}")
    if new_digest:
        args.append("-Photoshop:IPTCDigest=new")
    return args


def _exiftool_bytes(
    tool: ExifTool,
    source: Path | None,
    plan: Plan,
    *,
    like: Path | None = None,
    settle_digest: bool = False,
) -> bytes:
    """The bytes exiftool makes of ``source`` (None: a new XMP file) with ``plan``; it
    writes them to a temporary file beside the photo (``-o``), read and removed here."""
    args = exiftool_args(plan.changes, iptc_charset=plan.iptc_charset, new_digest=plan.new_digest)
    return run_to_bytes(tool, args, source=source, like=like or source, settle_digest=settle_digest)


def run_to_bytes(
    tool: ExifTool,
    args: list[str],
    *,
    source: Path | None,
    like: Path | None,
    settle_digest: bool = False,
) -> bytes:
    """Run exiftool ``args`` on ``source`` into a fresh temporary file named like
    ``like``; its bytes. MetadataWriteError with exiftool's message if nothing came out.
    ``settle_digest``: make the stored IPTC digest that of the IPTC as written (TIFF)."""
    assert like is not None
    tmp = like.with_name(f"{TEMP_PREFIX}{secrets.token_hex(6)}{like.suffix or '.xmp'}")
    try:
        reply = tool.execute(*args, "-o", str(tmp), *([str(source)] if source else []))
        # a warning that is not "[minor]" means something asked was not written (an XMP
        # packet with an undeclared namespace: "1 image files copied", IPTC only)
        serious = [w for w in reply.warnings if not w.startswith("Warning: [minor]")]
        if not tmp.exists() or "created" not in reply.stdout or serious:
            problem = "; ".join(reply.errors or serious) or reply.stderr.strip()
            if "Error writing output file" in problem:  # a full disk, or another fault
                need = source.stat().st_size if source is not None else 0
                check_room(like.parent, name=like.name, need_bytes=need)
            raise MetadataWriteError(f"exiftool cannot write {like.name}: {problem}")
        if settle_digest:
            _settle_digest(tool, tmp)
        return tmp.read_bytes()
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


_SAME_EXTENSION = {"jpeg": "jpg", "tiff": "tif"}


@contextlib.contextmanager
def named_for_exiftool(path: Path, tags: Mapping[str, Any]) -> Iterator[Path]:
    """``path``, or a hard link to it named with the extension of what it really is:
    exiftool refuses to write a file whose name says another type ("Not a valid JPG
    (looks more like a PNG)"). The link is hidden and removed afterwards."""
    real = str(tags.get("File:FileTypeExtension") or "").lower()
    named = path.suffix.lower().lstrip(".")
    if not real or _SAME_EXTENSION.get(named, named) == _SAME_EXTENSION.get(real, real):
        yield path
        return
    link = path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(6)}.{real}")
    os.link(path, link)
    try:
        yield link
    finally:
        with contextlib.suppress(FileNotFoundError):
            link.unlink()


_RAW_PROFILE_XMP = b"Raw profile type xmp\0"


def png_raw_profile_xmp(data: bytes) -> bool:
    """Whether the PNG ``data`` holds its XMP the ImageMagick way: hex in a text chunk
    keyed "Raw profile type xmp" (exiftool reads it, but writes new XMP to an iTXt chunk
    beside it: two packets, "Duplicate XMP")."""
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind in (b"tEXt", b"zTXt", b"iTXt") and data[pos + 8 : pos + 8 + length].startswith(
            _RAW_PROFILE_XMP
        ):
            return True
        if kind == b"IEND":
            break
        pos += 12 + length
    return False


@contextlib.contextmanager
def _xmp_out_of_raw_profile(tool: ExifTool, path: Path) -> Iterator[Path]:
    """``path``, or a hidden copy of it whose XMP packet exiftool moved whole (every
    property, as it was) out of an ImageMagick raw-profile chunk into the iTXt chunk it
    writes, so the write that follows leaves one packet."""
    with path.open("rb") as f:
        head = f.read()
    if not png_raw_profile_xmp(head):
        yield path
        return
    moved = path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(6)}{path.suffix}")
    try:
        tool.execute("-m", "-XMP:all=", "-tagsfromfile", "@", "-XMP", "-o", str(moved), str(path))
        if not moved.exists():
            raise MetadataWriteError(f"exiftool cannot move the XMP of {path.name}")
        yield moved
    finally:
        with contextlib.suppress(FileNotFoundError):
            moved.unlink()


def _settle_digest(tool: ExifTool, path: Path) -> None:
    """Make the stored IPTC digest that of the IPTC block as written: exiftool 12.57
    computes a TIFF's before it pads the block (measured: every TIFF was "not current")."""
    tags = tool.read(path, "-File:CurrentIPTCDigest", "-Photoshop:IPTCDigest")
    current = tags.get(CURRENT_DIGEST)
    if current is None or tags.get(STORED_DIGEST) == current:
        return
    fixed = path.with_name(path.name + ".digest" + path.suffix)
    tool.execute("-m", f"-Photoshop:IPTCDigest={current}", "-o", str(fixed), str(path))
    if not fixed.exists():
        raise MetadataWriteError(f"exiftool cannot update the IPTC digest of {path.name}")
    os.replace(fixed, path)


def _exiv2_xmp(data: bytes, plan: Plan) -> bytes:
    """``data`` with the plan's XMP changes made by exiv2 (for WebP)."""
    return exiv2_xmp(data, plan.changes, record=plan.provenance)


def exiv2_xmp(
    data: bytes, changes: Mapping[str, Value], *, record: Provenance | None, clear: bool = False
) -> bytes:
    """``data`` with XMP ``changes`` (exiftool's names) made by exiv2, for WebP, which
    exiftool 12.57 cannot write. ``XMP-phototag:all`` None removes phototag's record;
    ``record`` writes a new one; ``clear`` removes the whole XMP block."""
    if clear:
        return webp_without_xmp(data)
    import pyexiv2  # only here: see register_namespace

    register_namespace()
    image = pyexiv2.ImageData(data)
    try:
        current = image.read_xmp()
        keys: dict[str, Any] = {}
        for tag, value in changes.items():
            if tag == "XMP-phototag:all":
                keys.update({k: None for k in current if k.startswith(f"Xmp.{NS_PREFIX}.")})
                continue
            key = TAG_KEYS.get(tag)  # phototag's record is written whole by to_xmp
            if key is None or not key.startswith("Xmp."):
                continue
            if isinstance(value, list):
                keys.update(bag(key, value))
            elif value is not None and key in LANG_ALT_KEYS:
                alt = current.get(key)
                keys[key] = {**(alt if isinstance(alt, dict) else {}), X_DEFAULT: value}
            else:
                keys[key] = value
        if record is not None:
            keys.update(to_xmp(record))
        image.modify_xmp(keys)
        return image.get_bytes()
    finally:
        image.close()


LANG_ALT_KEYS = {spec.xmp for spec in TEXT_FIELDS}
_VP8X_XMP_FLAG = 0x04


def webp_without_xmp(data: bytes) -> bytes:
    """``data`` (a WebP file) without its ``XMP `` chunk and with the VP8X flag saying
    so; every other chunk byte for byte. exiv2 keeps an emptied packet in place (measured:
    deleting every XMP key of a WebP left the packet as it was)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise MetadataWriteError("not a WebP file")
    chunks: list[bytes] = []
    at = 12
    while at + 8 <= len(data):
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        chunk = data[at : at + 8 + size + (size & 1)]
        if chunk[:4] == b"VP8X":
            chunk = chunk[:8] + bytes([chunk[8] & ~_VP8X_XMP_FLAG & 0xFF]) + chunk[9:]
        if chunk[:4] != b"XMP ":
            chunks.append(chunk)
        at += len(chunk)
    kinds = [chunk[:4] for chunk in chunks]
    if kinds in ([b"VP8X", b"VP8 "], [b"VP8X", b"VP8L"]) and chunks[0][8] == 0:
        # nothing extended is left (exiv2 had made a simple WebP extended): simple again
        chunks = chunks[1:]
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body
