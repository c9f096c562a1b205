"""May a dry run's stored result be written now instead of asking the tagger again?

A dry run (or a run with ``[metadata] write = false``) tags and records, but writes
nothing. Its result is paid for, so the next run that writes uses it, provided it would
come out the same: the file's bytes, the backend, the model and the prompt digest are those
of the dry run. Pure: the caller passes what it knows now.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from phototag.config import Settings
from phototag.errors import ConfigError
from phototag.store.records import FileRecord
from phototag.taggers import Tagger, make_tagger


class Reuse(StrEnum):
    """The verdict on a dry-run record; every value but APPLY is why it is tagged again."""

    APPLY = "tagged in a dry run: its result will be written"
    FILE_CHANGED = "tagged in a dry run, but the file changed since: tagged again"
    FALLBACK = "tagged in a dry run by the embedded fallback: tagged again"
    BACKEND_CHANGED = "tagged in a dry run by another backend: tagged again"
    MODEL_CHANGED = "tagged in a dry run by another model: tagged again"
    PROMPT_CHANGED = "tagged in a dry run with another prompt: tagged again"


@dataclass(frozen=True, slots=True)
class Identity:
    """What would tag a photo now. ``None`` for a part not known yet (a VLM model that
    the server names at its first answer): it is not compared."""

    backend: str
    model: str | None
    prompt_digest: str | None


def identity_of(tagger: Tagger, *, strict: bool = True) -> Identity:
    """The tagger's identity. ``strict`` (a run about to write): a part the tagger cannot
    state is "", which no stored result matches, so it is tagged again. Not strict (a
    forecast): that part is None, not compared."""
    unknown = "" if strict else None
    model = tagger.model
    # the embedded tagger has no prompt: "", as its results carry
    return Identity(backend=tagger.name, model=model or unknown, prompt_digest=tagger.prompt_digest)


def expected_identity(settings: Settings) -> Identity:
    """What the next run would tag with, known without asking a server (for ``tagctl
    scan``): the configured VLM model, or None when the server is to name it."""
    try:
        tagger = make_tagger(settings)
    except ConfigError:
        return Identity(backend=settings.backend, model=None, prompt_digest=None)
    try:
        return identity_of(tagger, strict=False)
    finally:
        tagger.close()


def dry_run_reuse(record: FileRecord, *, sha256: str | None, now: Identity) -> Reuse | None:
    """The verdict on ``record``, or None when it holds no dry-run result to reuse.

    ``sha256`` is the file's hash now, or None when the caller reads no file (``tagctl
    scan``) and has found the file's size and mtime unchanged since the dry run.
    """
    result = record.result
    # the input the result was made from (an index written before it was kept: the row's)
    made_from = (result or {}).get("sha256") or record.sha256
    if not record.dry_run or result is None or made_from is None:
        return None
    if sha256 is not None and sha256 != made_from:
        return Reuse.FILE_CHANGED
    if record.fallback or result.get("fallback"):
        return Reuse.FALLBACK
    if record.backend != now.backend:
        return Reuse.BACKEND_CHANGED
    if now.model is not None and record.model != now.model:
        return Reuse.MODEL_CHANGED
    if now.prompt_digest is not None and (record.prompt_digest or "") != now.prompt_digest:
        return Reuse.PROMPT_CHANGED
    return Reuse.APPLY
