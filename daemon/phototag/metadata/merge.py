"""Decide what to write: merge a tagger's output into what a photo already carries.

Pure functions over a :class:`~phototag.metadata.read.Snapshot` (exiftool's names). A
person's keywords, title and descriptions stay, wherever they sit (XMP, IPTC, EXIF): what
an MWG reader shows before is what phototag starts from, so a value that was there is
never recorded as phototag's, even when the model says it too. phototag's own previous
output (known from its provenance record) is replaced, so keywords never pile up. XMP is
seeded with the person's values from IPTC/EXIF and IPTC is kept in step, so every MWG
reader shows the person's values plus phototag's. Every tag changed is recorded with its
value before (:class:`~phototag.metadata.provenance.Undo`), so ``tagctl undo`` can put
it back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

from phototag import GENERATOR
from phototag.domain import TagResult, Tags
from phototag.keywords import fit_utf8
from phototag.metadata.provenance import Change, Provenance, Undo, Value, to_tags
from phototag.metadata.read import (
    CURRENT_DIGEST,
    IPTC_CHARSET_TAG,
    STORED_DIGEST,
    IptcCharset,
    Snapshot,
    as_texts,
    fits_cp1252,
    text_of,
    xmp_is_current,
)

Overwrite = Literal["fill-empty", "replace"]
DescriptionField = Literal["caption", "description"]

# the record's field names are exiv2's keys (kept from the first provenance records)
XMP_SUBJECT = "Xmp.dc.subject"
XMP_HIERARCHY = "Xmp.lr.hierarchicalSubject"
IPTC_KEYWORDS = "Iptc.Application2.Keywords"
IPTC_CHARSET = "Iptc.Envelope.CharacterSet"
IPTC_UTF8 = "\x1b%G"
X_DEFAULT = 'lang="x-default"'
KEYWORD_MAX_BYTES = 64
# exiftool starts a new IPTC record with its version dataset: recorded, so undo removes it
ENVELOPE_VERSION = "IPTC:EnvelopeRecordVersion"
APPLICATION_VERSION = "IPTC:ApplicationRecordVersion"

# exiftool tag -> exiv2 key, for every tag phototag writes as its own output
TAG_KEYS = {
    "XMP-dc:Subject": XMP_SUBJECT,
    "XMP-lr:HierarchicalSubject": XMP_HIERARCHY,
    "IPTC:Keywords": IPTC_KEYWORDS,
    "XMP-dc:Title": "Xmp.dc.title",
    "IPTC:ObjectName": "Iptc.Application2.ObjectName",
    "XMP-dc:Description": "Xmp.dc.description",
    "IPTC:Caption-Abstract": "Iptc.Application2.Caption",
    "IFD0:ImageDescription": "Exif.Image.ImageDescription",
    "XMP-iptcCore:ExtDescrAccessibility": "Xmp.iptc.ExtDescrAccessibility",
    "XMP-iptcCore:AltTextAccessibility": "Xmp.iptc.AltTextAccessibility",
}


@dataclass(frozen=True, slots=True)
class TextField:
    name: str  # the Tags attribute
    xmp: str  # the exiv2 key of its lang-alt XMP property (the record's field name)
    iptc: str | None  # the exiv2 key of its IPTC dataset, if there is one
    iptc_max_bytes: int = 0
    xmp_tag: str = ""  # exiftool's names
    iptc_tag: str | None = None


TEXT_FIELDS = (
    TextField(
        "title", "Xmp.dc.title", "Iptc.Application2.ObjectName", 64,
        "XMP-dc:Title", "IPTC:ObjectName",
    ),
    TextField(
        "caption", "Xmp.dc.description", "Iptc.Application2.Caption", 2000,
        "XMP-dc:Description", "IPTC:Caption-Abstract",
    ),
    TextField(
        "description", "Xmp.iptc.ExtDescrAccessibility", None, 0,
        "XMP-iptcCore:ExtDescrAccessibility",
    ),
    TextField(
        "alt_text", "Xmp.iptc.AltTextAccessibility", None, 0,
        "XMP-iptcCore:AltTextAccessibility",
    ),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Plan:
    """exiftool assignments (``-TAG=value``, a list for a list tag, None deletes)."""

    changes: dict[str, Value] = field(default_factory=dict)
    fields: tuple[str, ...] = ()  # content fields phototag writes (exiv2 keys)
    keywords: tuple[str, ...] = ()  # keywords phototag adds (its own output)
    provenance: Provenance | None = None
    iptc_charset: str | None = None  # exiftool's ``-charset iptc=``; None: no IPTC written
    new_digest: bool = False  # write the new IPTC block's digest (Photoshop:IPTCDigest)


def plan_write(
    *,
    snapshot: Snapshot,
    iptc: bool,
    result: TagResult,
    previous: Provenance | None,
    overwrite: Overwrite,
    source: str | None,
    time_iso: str,
    rejected: Collection[str] = (),
    changed: Collection[str] = (),
    overwrite_edits: bool = False,
    description_field: DescriptionField = "caption",
) -> Plan:
    """The changes that merge ``result`` into a photo (or sidecar) as read in ``snapshot``.

    ``iptc`` False means IPTC is not written (WebP, an XMP sidecar). ``source`` is the
    photo's file name when writing a sidecar (None in place): a sidecar record about other
    photos (``IMG_1.xmp`` shared by a RAW and a JPEG) is kept, never replaced.

    A person's edits (:mod:`phototag.metadata.edits`) are final: no keyword of ``rejected``
    is added, and no text field named in ``changed`` is written unless ``overwrite_edits``
    (``--overwrite`` for this run). Both are kept in the new provenance record.
    ``description_field`` is the text ``dc:description`` and ``Caption-Abstract`` carry;
    the other of caption and description goes to ``ExtDescrAccessibility``.
    """
    tags, person = snapshot.tags, snapshot.person
    tagged = _without_rejected(result.tags, rejected)
    shared = source is not None and previous is not None and bool(set(previous.sources) - {source})
    own = previous if previous is not None and not shared else None
    own_keywords = own.keywords if own else ()
    xmp_current = xmp_is_current(tags)
    changes: dict[str, Value] = {}
    fields: list[str] = []

    def put(tag: str, value: Value, *, own_output: bool = True) -> None:
        if _same(tags.get(tag), value):
            return
        changes[tag] = value
        if own_output and tag in TAG_KEYS:
            fields.append(TAG_KEYS[tag])

    # keywords: the person's (as an MWG reader shows them) plus phototag's new ones
    theirs = [k for k in person.keywords if k not in set(own_keywords)]
    merged, added = merge_keywords(theirs, own=(), new=tagged.keywords)
    xmp_now = as_texts(tags.get("XMP-dc:Subject"))
    if xmp_current and xmp_now:
        subject, _ = merge_keywords(xmp_now, own=own_keywords, new=added)
    else:
        subject = merged  # seeded from IPTC/EXIF, or taken from a newer IPTC
    put("XMP-dc:Subject", subject or None, own_output=bool(added) or bool(own_keywords))
    hierarchy, added_hierarchy = merge_keywords(
        as_texts(tags.get("XMP-lr:HierarchicalSubject")),
        own=own.hierarchical if own else (),
        new=tagged.hierarchical,
    )
    put("XMP-lr:HierarchicalSubject", hierarchy or None)
    if iptc:
        iptc_now = as_texts(tags.get("IPTC:Keywords"))
        fitted_own = [_fit_keyword(k) for k in own_keywords]
        if iptc_now:
            keywords, _ = merge_keywords(
                iptc_now, own=fitted_own, new=[_fit_keyword(k) for k in added]
            )
        else:
            keywords = [_fit_keyword(k) for k in merged]
        put("IPTC:Keywords", list(_unique(keywords)) or None)

    texts: dict[str, str] = {}
    for spec in TEXT_FIELDS:
        if spec.name in changed and not overwrite_edits:
            continue  # the person's since they changed it
        # provenance keys a text by its slot (spec.name), not by which text filled it, so
        # a change of description_field replaces phototag's own text in both slots
        new = _text_of(tagged, _filled_from(spec.name, description_field))
        mine = own.text(spec.name) if own else ""
        shown = person.text(spec.name) or text_of(tags.get(spec.xmp_tag))
        if not (new and may_write(current=shown, own=mine, overwrite=overwrite)):
            if mine and shown == mine:
                texts[spec.name] = mine  # still phototag's from an earlier write
            elif shown and (not xmp_current or not text_of(tags.get(spec.xmp_tag))):
                put(spec.xmp_tag, shown, own_output=False)  # seed XMP with the person's
            continue
        put(spec.xmp_tag, new)
        texts[spec.name] = new
        if spec.name == "caption" and text_of(tags.get("IFD0:ImageDescription")):
            put("IFD0:ImageDescription", new)  # MWG readers show EXIF's first
        if not iptc or spec.iptc_tag is None:
            continue
        current_iptc = text_of(tags.get(spec.iptc_tag))
        own_iptc = fit_utf8(mine, max_bytes=spec.iptc_max_bytes)
        if may_write(current=current_iptc, own=own_iptc, overwrite=overwrite):
            put(spec.iptc_tag, fit_utf8(new, max_bytes=spec.iptc_max_bytes))

    written_iptc = {tag: value for tag, value in changes.items() if tag.startswith("IPTC:")}
    writes_iptc = bool(written_iptc)
    encoding = iptc_encoding(
        snapshot.iptc_charset, [text for value in written_iptc.values() for text in as_texts(value)]
    )
    if (
        writes_iptc
        and encoding.declares_utf8
        and snapshot.iptc_charset != IptcCharset.DECLARED_UTF8
    ):
        if encoding == IptcEncoding.CONVERTED:
            # the person's non-ASCII values are written again as the same text in UTF-8,
            # so every reader shows them as before
            for tag, value in tags.items():
                if tag.startswith("IPTC:") and tag not in changes and not _ascii(value):
                    changes[tag] = value if isinstance(value, list) else str(value)
        changes[IPTC_CHARSET_TAG] = "UTF8"
        if ENVELOPE_VERSION not in tags:
            changes[ENVELOPE_VERSION] = "4"
    if writes_iptc and APPLICATION_VERSION not in tags:
        changes[APPLICATION_VERSION] = "4"
    stored = tags.get(STORED_DIGEST)
    # exiftool's MWG rule: a new digest only if there was none or it matched the IPTC
    new_digest = writes_iptc and (stored is None or stored == tags.get(CURRENT_DIGEST))

    undo = _undo(previous, snapshot, changes, new_digest=new_digest)
    kept_keywords = previous.keywords if previous is not None and shared else ()
    kept_hierarchy = previous.hierarchical if previous is not None and shared else ()
    record = Provenance(
        generator=GENERATOR,
        backend=result.backend,
        model=result.model,
        prompt_digest=result.prompt_digest,
        time=time_iso,
        keywords=_unique([*[k for k in kept_keywords if k in subject], *added]),
        hierarchical=_unique([*[k for k in kept_hierarchy if k in hierarchy], *added_hierarchy]),
        fields=tuple(dict.fromkeys(fields)),
        texts=tuple(texts.items()),
        sources=()
        if source is None
        else _unique([*(previous.sources if shared and previous else ()), source]),
        rejected=tuple(rejected),
        changed=tuple(name for name in changed if name not in texts),
        undo=undo,
    )
    return Plan(
        changes={**changes, **to_tags(record)},
        fields=record.fields,
        keywords=_unique(added),
        provenance=record,
        iptc_charset=encoding.exiftool_charset if writes_iptc else None,
        new_digest=new_digest,
    )


class IptcEncoding(StrEnum):
    """How phototag writes the IPTC text it changes into a photo's IPTC block. The rule:
    nothing any reader shows of the person's IPTC changes, and no value of theirs is
    written in another encoding unless phototag's own text cannot be written otherwise."""

    UTF8 = "utf8"  # UTF-8, declared: already, or declared now over ASCII (reads the same)
    # undeclared UTF-8 stays undeclared, phototag's text in UTF-8 like the person's:
    # declaring it would change what exiftool shows (it reads undeclared IPTC as Windows-1252)
    UNDECLARED_UTF8 = "undeclared-utf8"
    CP1252 = "cp1252"  # undeclared Windows-1252 stays so: phototag's text fits in it
    # UTF-8 declared over Windows-1252, the person's values written again as the same text
    # in UTF-8: phototag's text has a character Windows-1252 has not
    CONVERTED = "converted"

    @property
    def exiftool_charset(self) -> str:
        return "cp1252" if self == IptcEncoding.CP1252 else "utf8"

    @property
    def declares_utf8(self) -> bool:
        return self in (IptcEncoding.UTF8, IptcEncoding.CONVERTED)


def iptc_encoding(charset: IptcCharset, texts: Iterable[str]) -> IptcEncoding:
    """How to write ``texts`` (phototag's IPTC values) into an IPTC block read as
    ``charset``."""
    if charset == IptcCharset.UTF8:
        return IptcEncoding.UNDECLARED_UTF8
    if charset != IptcCharset.CP1252:
        return IptcEncoding.UTF8
    return IptcEncoding.CP1252 if all(fits_cp1252(t) for t in texts) else IptcEncoding.CONVERTED


def _undo(
    previous: Provenance | None,
    snapshot: Snapshot,
    changes: Mapping[str, Value],
    *,
    new_digest: bool,
) -> Undo:
    """The undo record after this write: a tag keeps the value it had before phototag
    first changed it; a tag changed now for the first time records its value now."""
    old = previous.undo if previous is not None else Undo()
    first = previous is None
    by_tag = {c.tag: c for c in old.changes}
    for tag, value in changes.items():
        before = by_tag[tag].before if tag in by_tag else _value(snapshot.tags.get(tag))
        by_tag[tag] = Change(tag, before, value)
    if new_digest and STORED_DIGEST not in by_tag:
        before = _value(snapshot.tags.get(STORED_DIGEST))
        by_tag[STORED_DIGEST] = Change(STORED_DIGEST, before, None)
    return Undo(
        changes=tuple(by_tag.values()),
        iptc_charset=str(snapshot.iptc_charset) if first else old.iptc_charset,
        created=(not snapshot.has_xmp) if first else old.created,
    )


def merge_keywords(
    current: Iterable[str], *, own: Iterable[str], new: Iterable[str]
) -> tuple[list[str], list[str]]:
    """(the merged list, the keywords phototag adds): ``current`` less phototag's ``own``
    previous keywords, plus each of ``new`` not already there (compared case-insensitively).
    """
    own_set = set(own)
    theirs = [k for k in current if k not in own_set]
    seen = {k.casefold() for k in theirs}
    added: list[str] = []
    for keyword in new:
        folded = keyword.casefold()
        if keyword and folded not in seen:
            seen.add(folded)
            added.append(keyword)
    return theirs + added, added


def may_write(*, current: str, own: str, overwrite: Overwrite) -> bool:
    """May phototag set a text field holding ``current``? Yes if it is empty, if it is
    phototag's own earlier text, or if the setting lets phototag replace a person's."""
    return not current.strip() or current == own or overwrite == "replace"


def lang_alt_text(value: Any) -> str:
    """The x-default text of a lang-alt value (or its first language, or a plain text)."""
    alt = _lang_alt(value)
    return alt.get(X_DEFAULT) or next(iter(alt.values()), "")


def _lang_alt(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, str) and value:
        return {X_DEFAULT: value}
    return {}


def _text_of(tags: Any, name: str) -> str:
    text = str(getattr(tags, name)).strip()
    if name == "alt_text" and not text:
        text = tags.caption.strip()
    return text


def _without_rejected(tags: Tags, rejected: Collection[str]) -> Tags:
    """``tags`` less the keywords a person removed (and hierarchies ending in one)."""
    if not rejected:
        return tags
    folded = {k.casefold() for k in rejected}
    return replace(
        tags,
        keywords=tuple(k for k in tags.keywords if k.casefold() not in folded),
        hierarchical=tuple(
            h for h in tags.hierarchical if h.rpartition("|")[2].casefold() not in folded
        ),
    )


def _filled_from(slot: str, description_field: DescriptionField) -> str:
    """Which text of the tags fills a slot: the long description swaps with the caption."""
    if description_field == "description" and slot in ("caption", "description"):
        return "description" if slot == "caption" else "caption"
    return slot


def _fit_keyword(keyword: str) -> str:
    return fit_utf8(keyword, max_bytes=KEYWORD_MAX_BYTES)


def _value(value: Any) -> Value:
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value)


def _same(current: Any, new: Value) -> bool:
    if new is None:
        return current is None
    if isinstance(new, list):
        return as_texts(current) == new
    return current is not None and str(current) == new


def _ascii(value: Any) -> bool:
    return all(v.isascii() for v in as_texts(value))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
