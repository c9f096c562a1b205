"""Credentials never leave phototag: the one place that knows what they look like.

:func:`redact_url` takes the userinfo (``user:password@``) out of a URL, for every place a
server's address is shown (messages, the status, the summary, ``--print-config``);
:func:`redact` is the safety net over free text (every log line): API keys (``sk-...``),
``Bearer``/``Basic`` tokens, ``key=...`` pairs and URL userinfo.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[REDACTED]"

# scheme://userinfo@ : userinfo holds no "/", "@" or whitespace (RFC 3986 3.2.1)
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")
_SECRET_PATTERNS = (
    (_USERINFO, rf"\1{REDACTED}@"),
    (re.compile(r"\b(sk-[A-Za-z0-9_-]{6})[A-Za-z0-9_-]+"), rf"\1{REDACTED}"),
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}", re.IGNORECASE), rf"\1 {REDACTED}"),
    (
        re.compile(
            r"""((?:api[_-]?key|access[_-]?token|token|secret|password|passwd)["']?\s*[=:]\s*"""
            r"""["']?)[^\s"',;}]+""",
            re.IGNORECASE,
        ),
        rf"\1{REDACTED}",
    ),
)


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced: ``http://[REDACTED]@host/v1``."""
    return _USERINFO.sub(rf"\1{REDACTED}@", url)


def redact(text: str) -> str:
    """Hide anything that looks like a credential (URL userinfo, ``sk-...``, ``Bearer ...``,
    ``key=...``)."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_urls_in(data: Any) -> Any:
    """JSON-able ``data`` with the userinfo taken out of every URL-shaped string in it."""
    if isinstance(data, dict):
        return {key: redact_urls_in(value) for key, value in data.items()}
    if isinstance(data, list):
        return [redact_urls_in(value) for value in data]
    if isinstance(data, str) and "://" in data:
        return redact_url(data)
    return data
