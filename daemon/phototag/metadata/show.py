"""What ``tagctl show`` and the HTML report tell of a photo: phototag's record and output,
the person's values as MWG readers show them, what the person did to phototag's output,
and what else the photo's metadata holds.

Everything is read through the writer's own reader, the long-lived exiftool
(:func:`phototag.metadata.read.read_snapshot`), so a photo phototag could write can always
be shown, XMP that exiv2 refuses included (a repeated property: "XMP Toolkit error 203").
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from phototag.config import MetadataSettings
from phototag.errors import FileGone
from phototag.keywords import fit_utf8
from phototag.metadata.edits import person_edits
from phototag.metadata.exiftool import ExifTool, shared
from phototag.metadata.merge import KEYWORD_MAX_BYTES, TEXT_FIELDS
from phototag.metadata.provenance import Provenance, from_tags
from phototag.metadata.read import (
    IPTC_CHARSET_TAG,
    Person,
    Snapshot,
    as_texts,
    read_snapshot,
    shown_with_sidecar,
    text_of,
)
from phototag.metadata.sidecar import needs_sidecar, sidecar_path

# tags that describe a block rather than hold anyone's value
_STRUCTURAL = frozenset(
    {
        "XMP-x:XMPToolkit",
        IPTC_CHARSET_TAG,
        "IPTC:EnvelopeRecordVersion",
        "IPTC:ApplicationRecordVersion",
    }
)
# the EXIF text an MWG reader takes a person's title, caption or keywords from (read.reconcile)
_EXIF_TEXT = frozenset(
    {"IFD0:ImageDescription", "IFD0:XPTitle", "IFD0:XPSubject", "IFD0:XPComment", "IFD0:XPKeywords"}
)
_KEYWORD_TAGS = frozenset({"XMP-dc:Subject", "IPTC:Keywords"})
_HIERARCHY_TAG = "XMP-lr:HierarchicalSubject"


def read_tags(path: Path, *, settings: MetadataSettings) -> dict[str, Any]:
    """What phototag wrote into ``path`` (or its sidecar), when, what the person's values
    are as MWG readers show them, and what else is there (:func:`describe`).

    ``target`` is the file holding phototag's record, or the one it would write (None: a
    RAW or HEIC with no sidecar yet). FileGone if ``path`` is missing,
    MetadataWriteError if exiftool cannot read it."""
    tool = shared()
    photo = _snapshot(path, tool)
    sidecar = sidecar_path(path, naming=settings.sidecar_naming)
    car = _snapshot(sidecar, tool) if sidecar.exists() else None
    if needs_sidecar(path) or (car is not None and from_tags(photo.tags) is None):
        # a RAW or HEIC, or a photo whose tags went to a sidecar (read-only, or XMP exiftool
        # will not rewrite)
        target, held = (sidecar, car) if car is not None else (None, None)
    else:
        target, held = path, photo
    person = photo.person if car is None else shown_with_sidecar(car, photo.person)
    return {
        "path": str(path),
        "target": str(target) if target else None,
        "sidecar": target is not None and target != path,
        **describe(held.tags if held else {}, person),
    }


def describe(tags: Mapping[str, Any], person: Person) -> dict[str, Any]:
    """Split a file's metadata (exiftool's names) into phototag's provenance, its own
    output, the person's title, caption and keywords (``person``, as MWG readers show
    them, less phototag's output) with what they did to phototag's output (the keywords
    they removed, the texts they changed: :mod:`phototag.metadata.edits`), and every
    other XMP, IPTC and EXIF text value (``other``)."""
    record = from_tags(tags)
    own_keywords = _own_keywords(record.keywords) if record else set()
    own_hierarchy = set(record.hierarchical) if record else set()
    own_texts = _own_texts(record) if record else {}
    other: dict[str, Any] = {}
    for key, value in tags.items():
        if not _persons_tag(key):
            continue
        if key in _KEYWORD_TAGS or key == _HIERARCHY_TAG:
            own = own_hierarchy if key == _HIERARCHY_TAG else own_keywords
            value = [k for k in as_texts(value) if k not in own]
        elif key in own_texts and text_of(value) == own_texts[key]:
            continue
        if value not in (None, "", []):
            other[key] = value
    edits = person_edits(tags, record)
    own_title, own_caption = (record.text("title"), record.text("caption")) if record else ("", "")
    return {
        "provenance": _provenance(record),
        "phototag": _output(record),
        "person": {
            "title": person.title if person.title != own_title else "",
            "caption": person.caption if person.caption != own_caption else "",
            "keywords": [k for k in person.keywords if k not in own_keywords],
            "rejected": list(edits.rejected),
            "changed": list(edits.changed),
        },
        "other": other,
    }


def _snapshot(path: Path, tool: ExifTool) -> Snapshot:
    if not path.exists():
        raise FileGone(f"file disappeared: {path}")
    return read_snapshot(path, tool=tool)


def _persons_tag(key: str) -> bool:
    if key in _STRUCTURAL or key.startswith("XMP-phototag:"):
        return False
    return key.startswith(("XMP-", "IPTC:")) or key in _EXIF_TEXT


def _own_keywords(keywords: tuple[str, ...]) -> set[str]:
    # IPTC holds phototag's keywords cut to the dataset's 64 bytes
    return {*keywords, *(fit_utf8(k, max_bytes=KEYWORD_MAX_BYTES) for k in keywords)}


def _own_texts(record: Provenance) -> dict[str, str]:
    """Each tag phototag's own texts went to, with the text as written there."""
    texts: dict[str, str] = {}
    for spec in TEXT_FIELDS:
        if not (own := record.text(spec.name)):
            continue
        texts[spec.xmp_tag] = own
        if spec.iptc_tag is not None:
            texts[spec.iptc_tag] = fit_utf8(own, max_bytes=spec.iptc_max_bytes)
        if spec.name == "caption":
            texts["IFD0:ImageDescription"] = own  # replaced where a person's was (merge)
    return texts


def _provenance(record: Provenance | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "generator": record.generator,
        "backend": record.backend,
        "model": record.model,
        "prompt_digest": record.prompt_digest,
        "time": record.time,
        "fields": list(record.fields),
        "sources": list(record.sources),
    }


def _output(record: Provenance | None) -> dict[str, Any]:
    if record is None:
        return {}
    return {
        "keywords": list(record.keywords),
        "hierarchical": list(record.hierarchical),
        **dict(record.texts),
    }
