"""phototag's own XMP namespace: what it wrote, when, with which backend and model.

The record is what lets a re-tag replace only phototag's previous output: the keywords,
hierarchical keywords and texts it wrote are stored verbatim, together with the names of
the fields it wrote. ``sources`` names the photo(s) the record is about, so a sidecar that
a RAW and a JPEG share (``IMG_1.xmp`` naming) keeps both photos' keywords.

A person's edits are recorded too: ``rejected`` holds the keywords phototag wrote and a
person then removed (never written again), ``changed`` the text fields (``title``, ...)
phototag wrote and a person then changed (theirs from then on).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

NS_URI = "https://phototag.invalid/ns/1.0/"
NS_PREFIX = "phototag"
_KEY = f"Xmp.{NS_PREFIX}."


def register_namespace() -> None:
    """Teach exiv2 the namespace (before its first WebP write; a second call is harmless).
    pyexiv2 is imported here, not with this module: its import runs ``file -b`` and
    ``ldconfig -p`` (``platform.architecture``), in every process that only reads."""
    import pyexiv2

    with contextlib.suppress(RuntimeError):  # already registered
        pyexiv2.registerNs(NS_URI, NS_PREFIX)


@dataclass(frozen=True, slots=True)
class Provenance:
    generator: str
    backend: str
    model: str
    prompt_digest: str
    time: str  # ISO 8601, UTC
    keywords: tuple[str, ...] = ()
    hierarchical: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    texts: tuple[tuple[str, str], ...] = ()  # (Tags attribute, text written), e.g. ("title", ...)
    sources: tuple[str, ...] = ()  # file names of the photos this record is about
    rejected: tuple[str, ...] = ()  # keywords of phototag's that a person removed
    changed: tuple[str, ...] = ()  # text fields of phototag's that a person changed
    undo: Undo = field(default_factory=lambda: Undo())  # how to take all of it out again

    def text(self, name: str) -> str:
        return dict(self.texts).get(name, "")


Value = str | list[str] | None  # a tag's value as exiftool gives it; None: not there


@dataclass(frozen=True, slots=True)
class Change:
    """One tag phototag changed (exiftool's name): its value before phototag first
    touched it, and the value phototag last wrote."""

    tag: str
    before: Value
    after: Value


@dataclass(frozen=True, slots=True)
class Undo:
    """What ``tagctl undo`` needs: every tag changed (including values seeded from the
    person's IPTC/EXIF), the IPTC charset before phototag declared UTF-8, and whether
    phototag created the XMP block (or the sidecar) itself."""

    changes: tuple[Change, ...] = ()
    iptc_charset: str = ""  # read.IptcCharset value before the first write ("" unknown)
    created: bool = False  # no XMP (or no sidecar) before phototag's first write

    def before(self, tag: str) -> Value:
        return next((c.before for c in self.changes if c.tag == tag), None)

    def knows(self, tag: str) -> bool:
        return any(c.tag == tag for c in self.changes)

    def to_json(self) -> str:
        return json.dumps(
            {
                "changes": [[c.tag, c.before, c.after] for c in self.changes],
                "iptc_charset": self.iptc_charset,
                "created": self.created,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Undo:
        try:
            data = json.loads(text)
            return cls(
                changes=tuple(Change(str(t), b, a) for t, b, a in data.get("changes", [])),
                iptc_charset=str(data.get("iptc_charset", "")),
                created=bool(data.get("created", False)),
            )
        except (ValueError, TypeError, AttributeError):
            return cls()  # a damaged record: nothing can be undone from it


_SCALARS = {
    "generator": "generator",
    "backend": "backend",
    "model": "model",
    "prompt_digest": "promptDigest",
    "time": "time",
}
_BAGS = {
    "keywords": "keywords",
    "hierarchical": "hierarchicalSubjects",
    "fields": "fields",
    "sources": "sources",
    "rejected": "rejectedKeywords",
    "changed": "changedFields",
}
TEXT_NAMES = ("title", "caption", "description", "alt_text")
_TEXT_PROPS = {
    "title": "title",
    "caption": "caption",
    "description": "description",
    "alt_text": "altText",
}


# exiftool's names for the record's properties (see exiftool.config)
_TAG = "XMP-phototag:"


def from_tags(tags: Mapping[str, Any]) -> Provenance | None:
    """The record in exiftool's JSON (``-G1``), or None if there is none."""
    if _TAG + "Generator" not in tags:
        return None

    def tag(prop: str) -> Any:
        return tags.get(_TAG + prop[0].upper() + prop[1:])

    scalars: dict[str, Any] = {attr: _scalar(tag(prop)) for attr, prop in _SCALARS.items()}
    scalars["time"] = _iso(scalars["time"])
    bags: dict[str, Any] = {attr: tuple(as_list(tag(prop))) for attr, prop in _BAGS.items()}
    texts = tuple(
        (name, text) for name, prop in _TEXT_PROPS.items() if (text := _scalar(tag(prop)))
    )
    return Provenance(
        **scalars, **bags, texts=texts, undo=Undo.from_json(_scalar(tag("changes")) or "{}")
    )


def to_tags(record: Provenance) -> dict[str, Value]:
    """exiftool assignments (``-TAG=value``; a list for a bag, None deletes) for ``record``."""
    out: dict[str, Value] = {}
    for attr, prop in _SCALARS.items():
        value = getattr(record, attr)
        out[_TAG + prop] = _exif_time(value) if attr == "time" else value
    for attr, prop in _BAGS.items():
        out[_TAG + prop] = list(getattr(record, attr)) or None
    written = dict(record.texts)
    for name, prop in _TEXT_PROPS.items():
        out[_TAG + prop] = written.get(name) or None
    out[_TAG + "changes"] = record.undo.to_json()
    return out


def _exif_time(iso: str) -> str:
    # exiftool takes "YYYY:mm:dd HH:MM:SS+hh:mm" and stores the ISO 8601 form
    return iso.replace("-", ":", 2).replace("T", " ", 1)


def _iso(text: str) -> str:
    if len(text) >= 19 and text[4] == ":" and text[10] == " ":
        return text[:10].replace(":", "-") + "T" + text[11:]
    return text


def to_xmp(record: Provenance) -> dict[str, Any]:
    """Changes for ``modify_xmp`` that replace any previous record with ``record``."""
    changes: dict[str, Any] = {
        _KEY + prop: getattr(record, attr) for attr, prop in _SCALARS.items()
    }
    for attr, prop in _BAGS.items():
        changes.update(bag(_KEY + prop, getattr(record, attr)))
    written = dict(record.texts)
    for name, prop in _TEXT_PROPS.items():
        changes[_KEY + prop] = written.get(name) or None  # None deletes
    changes[_KEY + "changes"] = record.undo.to_json()
    return changes


def bag(key: str, items: Iterable[str]) -> dict[str, Any]:
    """``modify_xmp`` changes writing ``items`` as an unordered ``rdf:Bag`` (None deletes).

    pyexiv2 writes a Python list as ``rdf:Seq``; declaring the type first and then
    setting the items by index gives the ``rdf:Bag`` the XMP specification asks for.
    """
    values = list(items)
    if not values:
        return {key: None}
    changes: dict[str, Any] = {key: 'type="Bag"'}
    changes.update({f"{key}[{i}]": value for i, value in enumerate(values, start=1)})
    return changes


def as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _scalar(value: Any) -> str:
    if isinstance(value, dict):  # a lang-alt someone wrote in place of a plain text
        return str(next(iter(value.values()), ""))
    return "" if value is None else str(value)
