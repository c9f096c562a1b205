"""Where log lines go: the journal under systemd, coloured lines in a terminal.

Under systemd (``$JOURNAL_STREAM`` names our stderr) records go to journald with
structured fields through systemd-python when it is installed (``PHOTOTAG_PATH``,
``PHOTOTAG_JOB_ID``, ``PHOTOTAG_BACKEND``: every loguru ``extra`` key, upper-cased), else
to stderr as lines with a ``<N>`` syslog priority prefix, which journald understands.
Every sink passes through :func:`phototag.redact.redact`, a safety net so API keys and
URL credentials never reach a log.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from typing import Any, TextIO

from loguru import logger

from phototag.escape import printable
from phototag.redact import redact

try:
    from systemd import journal as _journal
except ImportError:  # the base install: no systemd-python
    _journal = None

SYSLOG_IDENTIFIER = "phototag"
PRIORITIES = {
    "TRACE": 7,
    "DEBUG": 7,
    "INFO": 6,
    "SUCCESS": 5,
    "WARNING": 4,
    "ERROR": 3,
    "CRITICAL": 2,
}
TERMINAL_FORMAT = (
    "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<cyan>{name}</cyan> {message}{extra[extra_text]}"
)


def stderr_is_journal() -> bool:
    """True when systemd connected our stderr to journald (``$JOURNAL_STREAM`` = dev:inode)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    dev, _, ino = stream.partition(":")
    if not (dev.isdigit() and ino.isdigit()):
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(ino))


def setup_logging(*, level: str) -> None:
    """Send loguru's records to the right place for how we were started. Safe to call again."""
    logger.remove()
    logger.configure(patcher=_extra_text)
    common: dict[str, Any] = {"level": level.upper(), "backtrace": False, "diagnose": False}
    if stderr_is_journal():
        sink = JournalSink() if _journal is not None else PrefixedStderrSink(sys.stderr)
        logger.add(sink, format="{message}", **common)
    else:
        logger.add(
            _RedactingWriter(sys.stderr),
            format=TERMINAL_FORMAT,
            colorize=sys.stderr.isatty(),
            **common,
        )


def _extra_text(record: Any) -> None:
    """Every record's text on one line: a name holding a newline or an escape sequence can
    forge no log line and drive no terminal (the journal's own fields keep it exact)."""
    record["message"] = printable(record["message"])
    extra = record["extra"]
    shown = " ".join(f"{k}={printable(str(v))}" for k, v in extra.items() if k != "extra_text")
    extra["extra_text"] = f" [{shown}]" if shown else ""


def _message_text(record: Any) -> str:
    text = record["message"]
    exc = record["exception"]
    if exc is not None and exc.type is not None:
        text += "\n" + "".join(traceback.format_exception(exc.type, exc.value, exc.traceback))
    return redact(text.rstrip("\n"))


class _RedactingWriter:
    """A loguru sink writing formatted lines to a stream, credentials hidden."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __call__(self, message: Any) -> None:
        self._stream.write(redact(str(message)))
        self._stream.flush()


class PrefixedStderrSink:
    """Lines with a ``<N>`` syslog priority prefix (each line of a traceback too)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __call__(self, message: Any) -> None:
        record = message.record
        priority = PRIORITIES.get(record["level"].name, 6)
        extra = "".join(
            f" {k}={printable(str(v))}" for k, v in record["extra"].items() if k != "extra_text"
        )
        lines = _message_text(record).splitlines() or [""]
        lines[0] += redact(extra)
        self._stream.write("".join(f"<{priority}>{line}\n" for line in lines))
        self._stream.flush()


class JournalSink:
    """Native journal entries with structured fields (needs systemd-python)."""

    def __init__(self) -> None:
        self._fallback = PrefixedStderrSink(sys.stderr)

    def __call__(self, message: Any) -> None:
        record = message.record
        fields = {
            f"PHOTOTAG_{_field_name(k)}": redact(str(v))
            for k, v in record["extra"].items()
            if k != "extra_text"
        }
        try:
            _journal.send(
                _message_text(record),
                PRIORITY=str(PRIORITIES.get(record["level"].name, 6)),
                SYSLOG_IDENTIFIER=SYSLOG_IDENTIFIER,
                CODE_FILE=record["file"].path,
                CODE_LINE=record["line"],
                CODE_FUNC=record["function"],
                LOGGER=record["name"] or "",
                **fields,
            )
        except Exception:  # journald went away: stderr still reaches it (never loguru's
            self._fallback(message)  # own error report: it would print the raw record)


def _field_name(key: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", key.upper()).lstrip("_") or "EXTRA"
