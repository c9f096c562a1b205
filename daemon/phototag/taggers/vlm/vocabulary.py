"""An optional controlled vocabulary: only allowed keywords are written, synonyms mapped.

The file is UTF-8 text, one allowed term a line, its synonyms after a colon::

    # animals
    cat: kitten, tabby cat, kitty
    dog: puppy, hound
    Eiffel Tower

Matching ignores case and whatever ``fold`` removes (the tagger folds with the keyword
normaliser, so "Kittens" finds "kitten"). The canonical term is written exactly as spelled.
A small vocabulary also becomes the ``enum`` of the answer schema (:meth:`schema_enum`);
a large one is applied only as a filter after the answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from phototag.errors import ConfigError

ENUM_MAX_TERMS = 200  # beyond this, an enum bloats the schema and slows guided decoding


def casefold(term: str) -> str:
    return " ".join(term.split()).casefold()


@dataclass(frozen=True, slots=True)
class Vocabulary:
    terms: tuple[str, ...]  # canonical spellings, file order
    lookup: dict[str, str]  # folded term or synonym -> canonical term
    digest: str  # sha256 of the file's text
    fold: Callable[[str], str] = casefold  # how keywords are matched against lookup

    @classmethod
    def parse(cls, text: str, *, fold: Callable[[str], str] = casefold) -> Vocabulary:
        terms: list[str] = []
        lookup: dict[str, str] = {}
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            head, _, rest = line.partition(":")
            term = " ".join(head.split())
            if not term or fold(term) in lookup:
                continue
            terms.append(term)
            for name in (term, *rest.split(",")):
                key = fold(name)
                if key:
                    lookup.setdefault(key, term)
        return cls(
            terms=tuple(terms),
            lookup=lookup,
            digest=hashlib.sha256(text.encode()).hexdigest(),
            fold=fold,
        )

    @classmethod
    def load(cls, path: Path, *, fold: Callable[[str], str] = casefold) -> Vocabulary:
        try:
            text = path.expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"vlm.vocabulary_file {path}: cannot read it: {exc}") from exc
        vocabulary = cls.parse(text, fold=fold)
        if not vocabulary.terms:
            raise ConfigError(f"vlm.vocabulary_file {path}: contains no terms")
        return vocabulary

    def schema_enum(self, *, max_terms: int = ENUM_MAX_TERMS) -> tuple[str, ...] | None:
        """The allowed terms when few enough for a schema enum, else None."""
        return self.terms if len(self.terms) <= max_terms else None

    def apply(self, keywords: Iterable[str], *, max_keywords: int) -> list[str]:
        """Map each keyword to its canonical term; drop the unknown and the repeated."""
        out: list[str] = []
        for keyword in keywords:
            term = self.lookup.get(self.fold(keyword))
            if term is not None and term not in out:
                out.append(term)
                if len(out) >= max_keywords:
                    break
        return out
