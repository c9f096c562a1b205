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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyexiv2

NS_URI = "https://phototag.invalid/ns/1.0/"
NS_PREFIX = "phototag"
_KEY = f"Xmp.{NS_PREFIX}."


def register_namespace() -> None:
    """Teach exiv2 the namespace (once per process; a second call is harmless)."""
    with contextlib.suppress(RuntimeError):  # already registered
        pyexiv2.registerNs(NS_URI, NS_PREFIX)


register_namespace()


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

    def text(self, name: str) -> str:
        return dict(self.texts).get(name, "")


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


def from_xmp(xmp: Mapping[str, Any]) -> Provenance | None:
    """The record found in parsed XMP (``pyexiv2`` ``read_xmp``), or None if there is none."""
    if _KEY + "generator" not in xmp:
        return None
    scalars = {attr: _scalar(xmp.get(_KEY + prop)) for attr, prop in _SCALARS.items()}
    bags = {attr: tuple(as_list(xmp.get(_KEY + prop))) for attr, prop in _BAGS.items()}
    texts = tuple(
        (name, text)
        for name, prop in _TEXT_PROPS.items()
        if (text := _scalar(xmp.get(_KEY + prop)))
    )
    return Provenance(**scalars, **bags, texts=texts)


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
