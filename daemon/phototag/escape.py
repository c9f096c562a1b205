"""Names shown as text can forge nothing: control characters are written as escapes.

A file name may hold any byte but "/" and NUL: a newline in one would start a forged log
line (``12:00:00.000 INFO ... tagged evil.jpg``), and an ANSI escape sequence would drive
the terminal it is printed on. Text outputs (the log, ``tagctl``'s text) show such
characters as ``\\n``, ``\\x1b``, ``\\u2028``; JSON outputs keep names exact.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls but the tab, DEL, C1 controls, and the Unicode line and paragraph separators
_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` on one line, every control character written as an escape."""
    return _CONTROLS.sub(_escape, text)


def printable_data(data: Any) -> Any:
    """JSON-able ``data`` with :func:`printable` applied to every string in it (keys too),
    for a text rendering; the JSON rendering takes ``data`` itself."""
    if isinstance(data, dict):
        return {printable_data(key): printable_data(value) for key, value in data.items()}
    if isinstance(data, list):
        return [printable_data(value) for value in data]
    if isinstance(data, str):
        return printable(data)
    return data
