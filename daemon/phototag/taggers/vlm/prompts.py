"""Prompt profiles and the final prompt for one tagging request, with its digest.

A profile says what to look for; the rest of the prompt (fields, language, keyword cap,
allowed terms, JSON shape) is the same for every profile. The digest is the sha256 of the
final prompt text and the answer schema (and of the vocabulary file, which filters the
answer), so a change to any of them marks earlier tags stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from phototag.errors import ConfigError
from phototag.taggers.vlm.answer import answer_schema
from phototag.taggers.vlm.vocabulary import Vocabulary

BUILTIN_PROFILES: dict[str, str] = {
    "default": (
        "You describe photographs for a personal photo library. Name the main subject, the "
        "setting, notable objects, people (by role or activity, never by guessed identity), "
        "animals, the season or time of day when visible, and the overall scene type."
    ),
    "stock": (
        "You tag photographs for a stock photo agency. Favour many literal, searchable "
        "keywords a buyer would type: concrete objects, materials, colours, actions, "
        "setting, number of people, orientation and composition (close-up, copy space, "
        "aerial view). Avoid poetic words and opinions; prefer common nouns."
    ),
    "portfolio": (
        "You describe photographs for a photographer's portfolio. Cover the subject, the "
        "mood, the light (direction, quality, colour temperature), the style and genre "
        "(street, portrait, landscape, documentary, fine art), composition and palette."
    ),
}

_RULES = (
    "Look only at what is visible. Do not invent names, places or dates you cannot see. "
    "Never mention that this is a photo, image or picture."
)

_SHAPE = json.dumps(
    {
        "title": "a short title, at most 8 words",
        "caption": "one sentence describing the photo",
        "description": "two to four sentences with the details",
        "alt_text": "a concise description for people who cannot see it",
        "keywords": ["keyword", "keyword"],
    },
    ensure_ascii=False,
)


@dataclass(frozen=True, slots=True)
class Prompt:
    system: str
    instruction: str  # the text sent next to the image
    schema: dict[str, Any]  # the answer's JSON schema (response_format when supported)
    shape: str  # the JSON shape, for the repair request
    digest: str


def profile_text(name: str, *, user_profiles: Mapping[str, str]) -> str:
    """A profile's text; user profiles from the config file override the built-in ones."""
    profiles = {**BUILTIN_PROFILES, **user_profiles}
    try:
        text = profiles[name]
    except KeyError:
        known = ", ".join(sorted(profiles))
        raise ConfigError(f"vlm.profile: no profile named {name!r} (known: {known})") from None
    if not text.strip():
        raise ConfigError(f"vlm.profiles.{name}: the profile text is empty")
    return text.strip()


def build_prompt(
    *,
    profile: str,
    user_profiles: Mapping[str, str],
    language: str,
    max_keywords: int,
    vocabulary: Vocabulary | None = None,
) -> Prompt:
    allowed = vocabulary.schema_enum() if vocabulary else None
    schema = answer_schema(max_keywords=max_keywords, allowed=allowed)
    system = f"{profile_text(profile, user_profiles=user_profiles)}\n\n{_RULES}"
    lines = [
        "Describe this photo for its metadata.",
        f"Write the title, caption, description, alt_text and keywords in {language}.",
        f"Give at most {max_keywords} keywords, most important first: single words or short "
        "phrases, singular nouns, no hashtags, no duplicates.",
    ]
    if allowed:
        lines.append("Choose keywords only from this list: " + ", ".join(allowed) + ".")
    lines.append(f"Answer with only a JSON object of this shape:\n{_SHAPE}")
    instruction = "\n".join(lines)
    return Prompt(
        system=system,
        instruction=instruction,
        schema=schema,
        shape=_SHAPE,
        digest=prompt_digest(
            system=system,
            instruction=instruction,
            schema=schema,
            vocabulary_digest=vocabulary.digest if vocabulary else "",
        ),
    )


def prompt_digest(
    *, system: str, instruction: str, schema: Mapping[str, Any], vocabulary_digest: str
) -> str:
    h = hashlib.sha256()
    for part in (system, instruction, json.dumps(schema, sort_keys=True), vocabulary_digest):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()
