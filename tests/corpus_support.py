"""The exiftool diff: what changed in a photo's metadata, and whether phototag may touch it.

A photo's state is everything ``exiftool -j -a -G1 -struct -b -ee -use MWG`` reports about
the photo and its XMP sidecar (the sidecar's tags prefixed ``sidecar/``), keyed by
``Group:Tag`` (exiftool's JSON shows a property an XMP packet repeats once, so repairing
a duplicate property changes nothing here). :func:`diff` compares two states;
:meth:`Diff.outside` keeps only what a named allow-list does not cover, so a test can say
"the diff shows only what phototag may touch"::

    before = read_states(photos)
    ...  # tag
    after = read_states(photos)
    for photo in photos:
        changes = diff(before[photo], after[photo])
        assert not changes.outside(phototag_may_touch(before[photo])), changes
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

State = dict[str, Any]
Allowed = Callable[[str, Any, Any], bool]  # (tag, old value or None, new value or None)

SIDECAR = "sidecar/"
EXIFTOOL_ARGS = ("-j", "-a", "-G1", "-struct", "-b", "-ee", "-use", "MWG")

# Tags that describe the file's layout, not anything a person wrote. Each is named with
# why it may change when any tool rewrites the file.
LAYOUT_ONLY: Mapping[str, str] = {
    "SourceFile": "the path exiftool was given",
    "System:Directory": "the folder the file is in",
    "ExifTool:ExifToolVersion": "the reader's version",
    "System:FileSize": "the file grows with the metadata",
    "System:FileModifyDate": "file time (phototag keeps it; a person's tool does not)",
    "System:FileAccessDate": "file time",
    "System:FileInodeChangeDate": "file time: the atomic rename makes a new inode",
    "File:CurrentIPTCDigest": "exiftool's digest of the IPTC block as it is now",
    "XMP-x:XMPToolkit": "the name of the library that serialised the XMP",
    "XMP-xmpNote:HasExtendedXMP": "the GUID of the extended XMP, new each time it is written",
    "IFD0:StripOffsets": "where the image data starts in a TIFF",
    "IFD0:TileOffsets": "where the image data starts in a TIFF",
    "IFD1:ThumbnailOffset": "where the EXIF thumbnail sits",
    "IFD0:PreviewImageStart": "where a DNG's preview sits",
    "ExifIFD:OffsetSchema": "a maker note's relocation",
    "File:ExifByteOrder": "exiv2 writes a WebP's EXIF little-endian; the values are compared",
    "IPTC:ApplicationRecordVersion": "the IIM record version exiv2 writes with any record",
    "IPTC:EnvelopeRecordVersion": "the IIM envelope version exiv2 writes with any envelope",
}
# Groups derived from the other tags (exiftool's composites, and its MWG reconciliation):
# a change in them follows from a change listed elsewhere. Tests read the person's view
# from the MWG group instead (see test_corpus.person_view).
LAYOUT_GROUPS = ("Composite:", "MWG:")

# exiftool's warnings about a fault that its rewrite of the file repairs, each named with
# the repair. The warning goes at the first write (phototag_may_touch allows a warning to
# go); undo takes out phototag's values, not the repair, so it stays gone.
REPAIRED: Mapping[str, str] = {
    "[minor] Fixed incorrect URI for xmlns:acdsee": (
        "the acdsee namespace is written back with its right URI"
    ),
    "[minor] Text/EXIF chunk(s) found after PNG IDAT (may be ignored by some readers)": (
        "the XMP chunk is written before the image data, where every PNG reader looks"
    ),
}
# Empty containers that exiftool does not write back (it writes no empty rdf:Seq): each
# named with why a missing one means the same as an empty one to the tool that reads it.
EMPTY_DROPPED: Mapping[str, str] = {
    "XMP-darktable:Masks_history": "darktable reads a history without masks_history as no masks",
}

# phototag's own fields (DESIGN.md, "Metadata written"), by exiftool name.
PHOTOTAG_FIELDS = frozenset(
    {
        "XMP-dc:Subject",
        "XMP-dc:Title",
        "XMP-dc:Description",
        "XMP-lr:HierarchicalSubject",
        "XMP-iptcCore:AltTextAccessibility",
        "XMP-iptcCore:ExtDescrAccessibility",
        "IPTC:Keywords",
        "IPTC:ObjectName",
        "IPTC:Caption-Abstract",
        "IPTC:CodedCharacterSet",
        "XMP-photoshop:LegacyIPTCDigest",
        "Photoshop:IPTCDigest",  # MWG: the digest is updated with the IPTC it describes
    }
)
PHOTOTAG_GROUPS = ("XMP-phototag:",)

# Where MWG (and the IPTC Photo Metadata mapping) puts an IPTC-IIM or EXIF value in XMP:
# phototag may add these XMP tags to a file that had no XMP, holding the person's value.
SEEDED_FROM: Mapping[str, tuple[str, ...]] = {
    "XMP-dc:Title": ("IPTC:ObjectName", "IFD0:XPTitle"),
    "XMP-dc:Description": ("IPTC:Caption-Abstract", "IFD0:ImageDescription", "IFD0:XPComment"),
    "XMP-dc:Subject": ("IPTC:Keywords", "IFD0:XPKeywords"),
    "XMP-dc:Creator": ("IPTC:By-line", "IFD0:Artist", "IFD0:XPAuthor"),
    "XMP-dc:Rights": ("IPTC:CopyrightNotice", "IFD0:Copyright"),
    "XMP-photoshop:DateCreated": ("IPTC:DateCreated", "ExifIFD:DateTimeOriginal"),
    "XMP-photoshop:City": ("IPTC:City",),
    "XMP-photoshop:State": ("IPTC:Province-State",),
    "XMP-photoshop:Country": ("IPTC:Country-PrimaryLocationName",),
    "XMP-iptcCore:CountryCode": ("IPTC:Country-PrimaryLocationCode",),
    "XMP-iptcCore:Location": ("IPTC:Sub-location",),
    "XMP-photoshop:Credit": ("IPTC:Credit",),
    "XMP-photoshop:Source": ("IPTC:Source",),
    "XMP-photoshop:Headline": ("IPTC:Headline",),
    "XMP-photoshop:Instructions": ("IPTC:SpecialInstructions",),
    "XMP-photoshop:CaptionWriter": ("IPTC:Writer-Editor",),
    "XMP-photoshop:AuthorsPosition": ("IPTC:By-lineTitle",),
    "XMP-photoshop:TransmissionReference": ("IPTC:OriginalTransmissionReference",),
    "XMP-xmp:Rating": ("IFD0:Rating",),
}


@dataclass(frozen=True)
class Diff:
    """Tags added, removed, and changed (``tag -> (old, new)``) between two states."""

    added: dict[str, Any] = field(default_factory=dict)
    removed: dict[str, Any] = field(default_factory=dict)
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def tags(self) -> set[str]:
        return {*self.added, *self.removed, *self.changed}

    def __bool__(self) -> bool:
        return bool(self.tags)

    def outside(self, allowed: Allowed) -> Diff:
        """The part of this diff that ``allowed`` does not cover."""
        return Diff(
            added={k: v for k, v in self.added.items() if not allowed(k, None, v)},
            removed={k: v for k, v in self.removed.items() if not allowed(k, v, None)},
            changed={k: (a, b) for k, (a, b) in self.changed.items() if not allowed(k, a, b)},
        )


def read_states(photos: Iterable[Path]) -> dict[Path, State]:
    """Every photo's state (photo and sidecar, if any), read by one exiftool process."""
    photos = list(photos)
    files = [p for photo in photos for p in (photo, sidecar_of(photo)) if p.exists()]
    read = _exiftool(files)
    states: dict[Path, State] = {}
    for photo in photos:
        state = dict(read[photo])
        car = sidecar_of(photo)
        if car in read:
            state.update({SIDECAR + k: v for k, v in read[car].items()})
        states[photo] = state
    return states


def sidecar_of(photo: Path) -> Path:
    """The sidecar phototag reads and writes under its default naming (``IMG_1.CR3.xmp``)."""
    return photo.with_name(photo.name + ".xmp")


def diff(before: State, after: State) -> Diff:
    return Diff(
        added={k: v for k, v in after.items() if k not in before},
        removed={k: v for k, v in before.items() if k not in after},
        changed={k: (v, after[k]) for k, v in before.items() if k in after and after[k] != v},
    )


def layout_only(tag: str, old: Any = None, new: Any = None) -> bool:
    name = _bare(tag)
    return name in LAYOUT_ONLY or name.startswith(LAYOUT_GROUPS)


def phototag_may_touch(before: State) -> Allowed:
    """The allow-list for a step in which phototag wrote: layout, phototag's own fields,
    XMP copies of the person's IPTC/EXIF values (seeding an XMP block that did not exist),
    a sidecar phototag created (its file tags), and a warning of exiftool's that a repair
    made go away."""

    def allowed(tag: str, old: Any, new: Any) -> bool:
        name = _bare(tag)
        if layout_only(tag) or name in PHOTOTAG_FIELDS or name.startswith(PHOTOTAG_GROUPS):
            return True
        if empty_dropped(tag, old, new):
            return True
        if tag.startswith(SIDECAR) and SIDECAR + "System:FileName" not in before:
            return name.startswith(("System:", "File:"))  # a sidecar phototag created
        if old is None and name in SEEDED_FROM:
            sources = [before.get(src) for src in SEEDED_FROM[name]]
            return any(same_value(new, src) for src in sources if src is not None)
        return new is None and name == "ExifTool:Warning"  # a repair: exiftool is content now

    return allowed


def undo_may_leave(before: State, *, person_added: str, after: State | None = None) -> Allowed:
    """The allow-list for ``tagctl undo`` after a person's edit that added the keyword
    ``person_added``: layout, and the person's edit itself (their keyword appended to a
    list, or a field holding only it), including in XMP that phototag had seeded with the
    person's IPTC/EXIF values and in a sidecar phototag created, which now holds the
    person's keyword and so is no longer phototag's alone (with any of the photo's own XMP
    values it was seeded with, so readers that read the sidecar still show them).

    With ``after`` (the state after the undo), the stored IPTC digest may change to the
    digest of the IPTC as it is then (``File:CurrentIPTCDigest``): the person's edit
    changed the IPTC it describes, and an old digest would make MWG readers distrust the
    XMP."""
    seeded = phototag_may_touch(before)

    def allowed(tag: str, old: Any, new: Any) -> bool:
        name = _bare(tag)
        if layout_only(tag) or empty_dropped(tag, old, new):
            return True
        if name == "ExifTool:Warning" and new is None:
            return str(old) in REPAIRED
        if name == "Photoshop:IPTCDigest" and old is not None and after is not None:
            current = after.get(tag.replace("Photoshop:IPTCDigest", "File:CurrentIPTCDigest"))
            return new is not None and new == current
        new_sidecar = tag.startswith(SIDECAR) and SIDECAR + "System:FileName" not in before
        if new_sidecar and name.startswith(("System:", "File:", "XMP-x:")):
            return True
        if new is None:
            return False
        if new_sidecar and name in before:  # seeded with the photo's own XMP value
            return same_value([v for v in _items(new) if v != person_added], before[name])
        was = [] if old is None else _items(old)
        if _items(new) == [*was, person_added]:
            return True
        if old is None and name in SEEDED_FROM:
            without = [v for v in _items(new) if v != person_added]
            return name not in PHOTOTAG_GROUPS and seeded(tag, None, without)
        return False

    return allowed


def empty_dropped(tag: str, old: Any, new: Any) -> bool:
    """An empty container of :data:`EMPTY_DROPPED` gone (it held no value)."""
    return _bare(tag) in EMPTY_DROPPED and new is None and old in ("", [])


def same_value(a: Any, b: Any) -> bool:
    """Equal as text, a list and a ``;``- or ``,``-joined string counting as the same."""
    return _items(a) == _items(b)


def _items(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value)
    for sep in (";", ", "):
        if sep in text:
            return [part.strip() for part in text.split(sep)]
    return [text]


def _bare(tag: str) -> str:
    return tag.removeprefix(SIDECAR)


def _exiftool(files: list[Path]) -> dict[Path, State]:
    out = subprocess.run(
        ["exiftool", *EXIFTOOL_ARGS, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    records = json.loads(out.stdout) if out.stdout.strip() else []
    return {Path(r["SourceFile"]): r for r in records}
