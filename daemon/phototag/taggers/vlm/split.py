"""Per-field models: the description, or the keywords, from another model or server.

``[vlm]`` answers everything in one request. With ``[vlm.description]`` or
``[vlm.keywords]`` set, that field is taken from a second :class:`OpenAITagger` instead
(a large model for long descriptions, a small fast one for keywords); a key left unset
in the sub-table follows ``[vlm]``. Each tagger is preflighted; the backend is healthy
only when all are.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from typing import Literal

from phototag.config import VlmPartSettings, VlmSettings
from phototag.domain import Health, PreparedImage, TagResult
from phototag.keywords import DEFAULT_POLICY, KeywordPolicy
from phototag.taggers.vlm.adaptive import SlotsStatus
from phototag.taggers.vlm.tagger import OpenAITagger

FieldName = Literal["description", "keywords"]
FIELDS: tuple[FieldName, ...] = ("description", "keywords")


def part_settings(vlm: VlmSettings, part: VlmPartSettings) -> VlmSettings:
    """``[vlm]`` overlaid by one field's sub-table."""
    base = vlm.model_dump(exclude={"description", "keywords"})
    return VlmSettings.model_validate({**base, **part.model_dump(exclude_none=True)})


def parts_of(vlm: VlmSettings) -> dict[FieldName, VlmPartSettings]:
    return {name: part for name in FIELDS if (part := getattr(vlm, name)) is not None}


def profile_label(vlm: VlmSettings) -> str:
    """The prompt profile(s) in use: ``default``, or ``default; keywords: stock``."""
    extra = [
        f"{name}: {part.profile}"
        for name, part in parts_of(vlm).items()
        if part.profile and part.profile != vlm.profile
    ]
    return "; ".join([vlm.profile, *extra])


def combined_digest(main: str, parts: dict[FieldName, str]) -> str:
    """One digest for the prompts of the main and the per-field models."""
    joined = "|".join([main, *(f"{name}:{digest}" for name, digest in parts.items())])
    return hashlib.sha256(joined.encode()).hexdigest()


def combine(main: TagResult, parts: dict[FieldName, TagResult]) -> TagResult:
    """The main answer with each configured field taken from its own model's answer."""
    tags = main.tags
    for name, result in parts.items():
        tags = replace(tags, **{name: getattr(result.tags, name)})
    models = "; ".join([main.model, *(f"{n}: {r.model}" for n, r in parts.items())])
    digest = combined_digest(main.prompt_digest, {n: r.prompt_digest for n, r in parts.items()})
    notes = [*main.notes, *(f"{n}: {note}" for n, r in parts.items() for note in r.notes)]
    raws = [main.raw or "", *(f"--- {n} ---\n{r.raw or ''}" for n, r in parts.items())]
    return TagResult(
        tags=tags,
        backend=main.backend,
        model=models,
        prompt_digest=digest,
        notes=tuple(notes),
        raw="\n".join(raws),
    )


def combine_health(healths: dict[str, Health]) -> Health:
    """Healthy when every tagger is; the first failure's reason names its field."""
    probes = {f"{who}.{probe}": s for who, h in healths.items() for probe, s in h.probes_s.items()}
    for who, health in healths.items():
        if not health.ok:
            reason = health.reason if who == "main" else f"{who} model: {health.reason}"
            return Health(
                ok=False,
                reason=reason,
                checked_at=health.checked_at,
                probes_s=probes,
                permanent=health.permanent,
            )
    return Health(ok=True, checked_at=time.time(), probes_s=probes)


class SplitTagger:
    """A :class:`phototag.taggers.Tagger` composed of one OpenAITagger per model."""

    name = "openai"

    def __init__(
        self, *, vlm: VlmSettings, max_keywords: int, policy: KeywordPolicy = DEFAULT_POLICY
    ) -> None:
        self._main = OpenAITagger(vlm=vlm, max_keywords=max_keywords, policy=policy)
        self._parts = {
            name: OpenAITagger(
                vlm=part_settings(vlm, part), max_keywords=max_keywords, policy=policy
            )
            for name, part in parts_of(vlm).items()
        }

    @property
    def model(self) -> str:
        return "; ".join([self._main.model, *(f"{n}: {t.model}" for n, t in self._parts.items())])

    @property
    def prompt_digest(self) -> str:
        parts = {name: tagger.prompt_digest for name, tagger in self._parts.items()}
        return combined_digest(self._main.prompt_digest, parts)

    @property
    def most_concurrency(self) -> int:
        return sum(t.most_concurrency for t in (self._main, *self._parts.values()))

    def concurrency(self) -> dict[str, SlotsStatus]:
        """Each model's own limit: each adapts to its own server."""
        return self._main.concurrency() | {
            name: tagger.concurrency()["main"] for name, tagger in self._parts.items()
        }

    def tag(self, image: PreparedImage) -> TagResult:
        main = self._main.tag(image)
        return combine(main, {name: tagger.tag(image) for name, tagger in self._parts.items()})

    def preflight(self) -> Health:
        healths = {"main": self._main.preflight()}
        healths |= {name: tagger.preflight() for name, tagger in self._parts.items()}
        return combine_health(healths)

    def close(self) -> None:
        for tagger in (self._main, *self._parts.values()):
            tagger.close()
