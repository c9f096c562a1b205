"""The Markdown summary of recent work."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any


def render_summary(
    *,
    generated_at: datetime,
    started_at: datetime | None,
    totals: Mapping[str, int],
    keyword_counts: Sequence[tuple[str, int]],
    failures: Sequence[Mapping[str, Any]],
    recent: Sequence[Mapping[str, Any]],
    backend: str,
    health: str,
) -> str:
    """The Markdown summary. A failure has "path" and "reason" (or "error"), optionally
    "at"; a recent image has "path", "title" and "keywords"."""
    running = started_at.isoformat(timespec="seconds") if started_at else "not running"
    lines = [
        "# phototag summary",
        "",
        f"Generated {generated_at.isoformat(timespec='seconds')} · running since {running} · "
        f"backend {_text(backend)} ({_text(health)})",
        "",
        "## Totals",
        "",
        *_table(
            ("status", "images"),
            [
                *((status, str(n)) for status, n in totals.items()),
                ("**total**", f"**{sum(totals.values())}**"),
            ],
        ),
        "",
        "## Keywords",
        "",
        *_table(("keyword", "images"), [(word, str(n)) for word, n in keyword_counts]),
        "",
        "## Failures",
        "",
        *_table(
            ("file", "reason", "when"),
            [
                (
                    str(f.get("path", "")),
                    str(f.get("reason") or f.get("error") or ""),
                    str(f.get("at", "")),
                )
                for f in failures
            ],
        ),
        "",
        "## Recent images",
        "",
        *_table(
            ("file", "title", "keywords"),
            [
                (
                    str(r.get("path", "")),
                    str(r.get("title", "")),
                    ", ".join(r.get("keywords") or ()),
                )
                for r in recent
            ],
        ),
        "",
    ]
    return "\n".join(lines)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    if not rows:
        return ["(none)"]
    out = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    out.extend("| " + " | ".join(_cell(value) for value in row) + " |" for row in rows)
    return out


def _cell(value: str) -> str:
    """Table-safe text: pipes and backslashes escaped, breaks and controls made visible."""
    return _text(value.replace("\\", "\\\\")).replace("|", "\\|")


def _text(value: str) -> str:
    """Single-line text: line breaks, control characters and lone surrogates as escapes."""
    out = []
    for ch in value:
        category = unicodedata.category(ch)
        if ch in _VISIBLE:
            out.append(_VISIBLE[ch])
        elif category == "Cc":
            out.append(f"\\x{ord(ch):02x}")
        elif category in ("Cs", "Zl", "Zp"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


_VISIBLE = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
