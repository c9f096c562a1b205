"""Tagging backends. Each implements :class:`Tagger`; :func:`make_tagger` picks one.

May import: the top-level modules only (``local/`` and ``vlm/`` import their own parts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from phototag.config import Settings
    from phototag.domain import Health, PreparedImage, TagResult
    from phototag.taggers.vlm.adaptive import SlotsStatus


@runtime_checkable
class Tagger(Protocol):
    """A backend: turns one prepared image into tags. Must be safe to call from threads."""

    name: str  # "local" or "openai"

    @property
    def model(self) -> str:
        """The model answering (after a preflight, the name the server serves)."""
        ...

    @property
    def prompt_digest(self) -> str:
        """What a result of this tagger records as its prompt digest ("" when there is no
        prompt): ``tagctl retag --stale`` re-queues what was tagged with another one."""
        ...

    def tag(self, image: PreparedImage) -> TagResult:
        """Tag one image. Raises BadAnswer (job fails) or BackendUnavailable (job waits)."""
        ...

    def preflight(self) -> Health:
        """Check the backend can answer now. Never raises."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Paced(Protocol):
    """A tagger that keeps requests open at a server under a limit (the VLM backends)."""

    @property
    def most_concurrency(self) -> int:
        """The most requests it may ever keep open at once (threads to give it)."""
        ...

    def concurrency(self) -> dict[str, SlotsStatus]:
        """The limit, requests in flight and latency now, by model ("main", "keywords")."""
        ...


def make_tagger(settings: Settings) -> Tagger:
    """The tagger ``settings.backend`` names, given the sections it reads."""
    if settings.backend == "openai":
        most, policy = settings.max_keywords, settings.keyword_policy
        if settings.vlm.description or settings.vlm.keywords:
            from phototag.taggers.vlm.split import SplitTagger

            return SplitTagger(vlm=settings.vlm, max_keywords=most, policy=policy)
        from phototag.taggers.vlm.tagger import OpenAITagger

        return OpenAITagger(vlm=settings.vlm, max_keywords=most, policy=policy)
    from phototag.taggers.local.tagger import LocalTagger

    return LocalTagger.from_settings(settings)
