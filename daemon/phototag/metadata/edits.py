"""What a person did to phototag's output since it was written: a pure reading of the
photo's XMP (as exiftool names it) against phototag's provenance record.

phototag's record says exactly which keywords and texts it wrote. A keyword of those no
longer in ``dc:subject`` was removed by a person: it is *rejected*, and never written into
that photo again (not by a re-tag, ``tagctl retag``, ``retag --stale``, nor a new model or
prompt). A text of those that now reads differently (or was cleared) was *changed*: it is
the person's from then on. Both lists are kept in the next record, so they hold for good.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from phototag.metadata.merge import TEXT_FIELDS
from phototag.metadata.provenance import Provenance
from phototag.metadata.read import as_texts, text_of


@dataclass(frozen=True, slots=True)
class PersonEdits:
    rejected: tuple[str, ...] = ()  # keywords phototag wrote and a person removed
    changed: tuple[str, ...] = ()  # Tags attributes ("title", ...) a person changed


def person_edits(
    tags: Mapping[str, Any], previous: Provenance | None, *, written_before: Iterable[str] = ()
) -> PersonEdits:
    """The person's edits to phototag's output in ``tags`` (a file's, as exiftool names
    them: ``-G1 -struct``), with those an earlier record already holds. Keywords compare
    case-insensitively, as phototag merges them: "Cat" for "cat" is a person's spelling,
    not a removal.

    Without a record (another tool rewrote the XMP without phototag's namespace),
    ``written_before`` (the keywords the index says phototag wrote there) stands in for
    the record's keywords; which texts were phototag's is then not known.
    """
    present = {k.casefold() for k in as_texts(tags.get("XMP-dc:Subject"))}
    if previous is None:
        return PersonEdits(
            rejected=_unique_folded(k for k in written_before if k.casefold() not in present)
        )
    removed = [k for k in previous.keywords if k.casefold() not in present]
    changed = [
        spec.name
        for spec in TEXT_FIELDS
        if (own := previous.text(spec.name)) and text_of(tags.get(spec.xmp_tag)) != own
    ]
    return PersonEdits(
        rejected=_unique_folded([*previous.rejected, *removed]),
        changed=tuple(dict.fromkeys([*previous.changed, *changed])),
    )


def _unique_folded(items: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.casefold(), item)
    return tuple(seen.values())
