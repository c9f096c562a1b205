"""The Markdown summary of recent work."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from phototag.states import Status
from phototag.store.records import Finished


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
    this_run: Sequence[Mapping[str, Any]] = (),
    this_run_total: int | None = None,
) -> str:
    """The Markdown summary. A failure has "path" and "reason" (or "error"), optionally
    "at"; a recent image has "path", "title" and "keywords"; a photo of this run is what
    :func:`run_item` makes of its record, newest first (``this_run_total`` photos in all,
    default ``len(this_run)``)."""
    running = started_at.isoformat(timespec="seconds") if started_at else "not running"
    run_total = len(this_run) if this_run_total is None else this_run_total
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
        f"## This run ({run_total} photos)",
        "",
        *_run_list(this_run, total=run_total),
    ]
    return "\n".join(lines)


# a longer run lists its newest photos: the summary is rewritten every minute, and reading
# and writing more would cost the daemon more than the list is worth
RUN_LIST_MAX = 10_000


def run_item(record: Finished) -> dict[str, Any]:
    """What the summary lists of a photo finished in this run."""
    result = record.result or {}
    return {
        "path": record.path,
        "status": record.status,
        "title": result.get("title", ""),
        "caption": result.get("caption", ""),
        "description": result.get("description", ""),
        "notes": list(result.get("notes", ())),
        "error": record.last_error if record.status is not Status.DONE else None,
    }


def _run_list(items: Sequence[Mapping[str, Any]], *, total: int) -> list[str]:
    """Each photo as a list item: path and title, then its caption, description and notes."""
    if not items:
        return ["(none yet)", ""]
    out: list[str] = []
    for item in items:
        title = str(item.get("title") or "")
        head = f"- `{_text(str(item.get('path', '')))}`"
        head += f" ({item.get('status')})" if item.get("status") != Status.DONE else ""
        out.append(head + (f": **{_text(title)}**" if title else ""))
        for label in ("caption", "description", "error"):
            if item.get(label):
                out.append(f"  - {label}: {_text(str(item[label]))}")
        out.extend(f"  - note: {_text(str(note))}" for note in item.get("notes") or ())
    if total > len(items):
        out.append(f"- … and {total - len(items)} more (the JSONL log has every one)")
    out.append("")
    return out


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
    if not _ESCAPED.search(value):
        return value  # the common case, at C speed: the summary renders every photo of a
        # run at each rewrite (measured: 1 s of CPU for 10,000 photos, char by char)
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
# every character _text escapes: categories Cc (C0, DEL, C1), Cs (surrogates), Zl, Zp
_ESCAPED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
