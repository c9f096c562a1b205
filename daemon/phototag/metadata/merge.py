"""Decide what to write: merge a tagger's output into what a photo already carries.

Pure functions over parsed metadata (the dicts ``pyexiv2`` reads). A person's keywords,
title and descriptions stay; phototag's own previous output (known from its provenance
record) is replaced, so keywords never pile up however often a photo is re-tagged.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from phototag import GENERATOR
from phototag.domain import TagResult, Tags
from phototag.keywords import fit_utf8
from phototag.metadata.provenance import Provenance, as_list, bag, to_xmp

Overwrite = Literal["fill-empty", "replace"]
DescriptionField = Literal["caption", "description"]

XMP_SUBJECT = "Xmp.dc.subject"
XMP_HIERARCHY = "Xmp.lr.hierarchicalSubject"
IPTC_KEYWORDS = "Iptc.Application2.Keywords"
IPTC_CHARSET = "Iptc.Envelope.CharacterSet"
IPTC_UTF8 = "\x1b%G"
X_DEFAULT = 'lang="x-default"'
KEYWORD_MAX_BYTES = 64


@dataclass(frozen=True, slots=True)
class TextField:
    name: str  # the Tags attribute
    xmp: str  # a lang-alt XMP property
    iptc: str | None  # the IPTC dataset, if there is one
    iptc_max_bytes: int = 0


TEXT_FIELDS = (
    TextField("title", "Xmp.dc.title", "Iptc.Application2.ObjectName", 64),
    TextField("caption", "Xmp.dc.description", "Iptc.Application2.Caption", 2000),
    TextField("description", "Xmp.iptc.ExtDescrAccessibility", None),
    TextField("alt_text", "Xmp.iptc.AltTextAccessibility", None),
)


@dataclass(frozen=True, slots=True)
class Plan:
    xmp: dict[str, Any] = field(default_factory=dict)  # changes for modify_xmp, in order
    iptc: dict[str, Any] = field(default_factory=dict)  # changes for modify_iptc
    fields: tuple[str, ...] = ()  # content fields phototag writes
    keywords: tuple[str, ...] = ()  # keywords phototag adds (its own output)
    provenance: Provenance | None = None


def plan_write(
    *,
    xmp: Mapping[str, Any],
    iptc: Mapping[str, Any] | None,
    iptc_utf8: bool,
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
    """The changes that merge ``result`` into a photo (or sidecar) holding ``xmp``/``iptc``.

    ``iptc`` None means the format has no IPTC (WebP, an XMP sidecar). ``source`` is the
    photo's file name when writing a sidecar (None in place): a sidecar record about other
    photos (``IMG_1.xmp`` shared by a RAW and a JPEG) is kept, never replaced.

    A person's edits (:mod:`phototag.metadata.edits`) are final: no keyword of ``rejected``
    is added, and no text field named in ``changed`` is written unless ``overwrite_edits``
    (``--overwrite`` for this run). Both are kept in the new provenance record.
    ``description_field`` is the text ``dc:description`` and ``Caption-Abstract`` carry;
    the other of caption and description goes to ``ExtDescrAccessibility``.
    """
    tags = _without_rejected(result.tags, rejected)
    shared = source is not None and previous is not None and bool(set(previous.sources) - {source})
    own_keywords = () if previous is None or shared else previous.keywords
    own_hierarchy = () if previous is None or shared else previous.hierarchical

    xmp_changes: dict[str, Any] = {}
    iptc_changes: dict[str, Any] = {}
    fields: list[str] = []

    subject, added = merge_keywords(
        as_list(xmp.get(XMP_SUBJECT)), own=own_keywords, new=tags.keywords
    )
    if added or subject != as_list(xmp.get(XMP_SUBJECT)):
        xmp_changes.update(bag(XMP_SUBJECT, subject))
        fields.append(XMP_SUBJECT)
    hierarchy, added_hierarchy = merge_keywords(
        as_list(xmp.get(XMP_HIERARCHY)), own=own_hierarchy, new=tags.hierarchical
    )
    if added_hierarchy or hierarchy != as_list(xmp.get(XMP_HIERARCHY)):
        xmp_changes.update(bag(XMP_HIERARCHY, hierarchy))
        fields.append(XMP_HIERARCHY)

    if iptc is not None:
        current = as_list(iptc.get(IPTC_KEYWORDS))
        # IPTC mirrors XMP: phototag adds there exactly what it adds to dc:subject, so
        # the one provenance list tells its own keywords apart in both.
        keywords, added_iptc = merge_keywords(
            current,
            own=[_fit_keyword(k) for k in own_keywords],
            new=[_fit_keyword(k) for k in added],
        )
        if added_iptc or keywords != current:
            iptc_changes[IPTC_KEYWORDS] = keywords or None
            fields.append(IPTC_KEYWORDS)

    texts: dict[str, str] = {}
    for spec in TEXT_FIELDS:
        if spec.name in changed and not overwrite_edits:
            continue  # the person's since they changed it
        # provenance keys a text by its slot (spec.name), not by which text filled it, so
        # a change of description_field replaces phototag's own text in both slots
        new = _text_of(tags, _filled_from(spec.name, description_field))
        own = "" if previous is None or shared else previous.text(spec.name)
        current = lang_alt_text(xmp.get(spec.xmp))
        if not (new and may_write(current=current, own=own, overwrite=overwrite)):
            if own and current == own:
                texts[spec.name] = own  # still phototag's from an earlier write
            continue
        xmp_changes[spec.xmp] = {**_lang_alt(xmp.get(spec.xmp)), X_DEFAULT: new}
        fields.append(spec.xmp)
        texts[spec.name] = new
        if iptc is None or spec.iptc is None:
            continue  # IPTC mirrors XMP: a person's XMP title keeps its IPTC twin too
        current_iptc = _scalar(iptc.get(spec.iptc))
        own_iptc = fit_utf8(own, max_bytes=spec.iptc_max_bytes)
        if may_write(current=current_iptc, own=own_iptc, overwrite=overwrite):
            iptc_changes[spec.iptc] = fit_utf8(new, max_bytes=spec.iptc_max_bytes)
            fields.append(spec.iptc)

    if iptc_changes or (iptc and not iptc_utf8):
        iptc_changes = {
            IPTC_CHARSET: IPTC_UTF8,
            **_transcoded(iptc or {}, iptc_utf8),
            **iptc_changes,
        }

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
        fields=tuple(fields),
        texts=tuple(texts.items()),
        sources=()
        if source is None
        else _unique([*(previous.sources if shared and previous else ()), source]),
        rejected=tuple(rejected),
        changed=tuple(name for name in changed if name not in texts),
    )
    xmp_changes.update(to_xmp(record))
    return Plan(
        xmp=xmp_changes,
        iptc=iptc_changes,
        fields=tuple(fields),
        keywords=_unique(added),
        provenance=record,
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


def _scalar(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def _transcoded(iptc: Mapping[str, Any], iptc_utf8: bool) -> dict[str, Any]:
    """IPTC text that was read in another character set, to be written again as UTF-8."""
    if iptc_utf8:
        return {}
    return {
        key: value
        for key, value in iptc.items()
        if key.startswith("Iptc.Application2.") and not "".join(as_list(value)).isascii()
    }


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
