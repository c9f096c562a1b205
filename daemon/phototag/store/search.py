"""Full-text search over the index (``tagctl search``): the query language and its SQL.

The words a person types become an FTS5 query over each result's title, caption,
description and keywords (schema version 4 keeps ``files_fts`` in step by triggers).
FTS5's own syntax passes through: words (all must match), ``OR``, ``NOT``, ``AND``,
``(...)``, ``"quoted phrases"``, ``prefix*`` and ``column:word``; a bare word FTS5 would
refuse (``sea-side``, ``don't``) is quoted for it, so it matches as the phrase it reads as.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

COLUMNS = ("title", "caption", "description", "keywords")
OPERATORS = frozenset({"AND", "OR", "NOT"})

_TOKEN = re.compile(r'"[^"]*"?|[()]|[^\s()"]+')
_BAREWORD = re.compile(r"\w+\*?", re.UNICODE)
_COLUMN = re.compile(rf"(?:{'|'.join(COLUMNS)}):", re.IGNORECASE)

# newest record first: FTS5 walks its lists by rowid (the file's id) backwards, so a
# LIMIT stops early; ORDER BY rank scores every match first (1.4 s for "cat" LIMIT 20 on
# 950,000 matches, against a few ms; bench/RESULTS.md section 9)
MATCH_SQL = (
    "SELECT {columns} FROM files_fts JOIN files ON files.id = files_fts.rowid "
    "WHERE files_fts MATCH ? AND files.status != 'deleted' ORDER BY files_fts.rowid DESC{limit}"
)


def fts_query(words: Iterable[str]) -> str:
    """The FTS5 query for ``words`` (the command line's QUERY arguments). Pure.

    Raises ValueError for an empty query.
    """
    tokens = _TOKEN.findall(" ".join(words))
    if not tokens:
        raise ValueError("an empty query matches nothing; give a word to look for")
    return " ".join(_term(token) for token in tokens)


def _term(token: str) -> str:
    if token.startswith('"'):  # a phrase; one left open is closed at the end
        return token if len(token) > 1 and token.endswith('"') else token + '"'
    if token in OPERATORS or token in ("(", ")"):
        return token
    column = _COLUMN.match(token)
    if column and len(token) > column.end():
        return token[: column.end()].lower() + _term(token[column.end() :])
    if _BAREWORD.fullmatch(token):
        return token
    star = "*" if token.endswith("*") else ""
    body = token.removesuffix("*").replace('"', '""')
    return f'"{body}"{star}'
