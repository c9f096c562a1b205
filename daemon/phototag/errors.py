"""Exceptions raised by phototag, translated at each boundary (``raise ... from exc``).

PhototagError
├── ConfigError              invalid settings: one message naming key and source, exit 2
├── JobError                 one job cannot finish now; never stops the pool. Its
│   │                        ``ending`` is how the job ends (phototag.states.Ending):
│   ├── FileGone             deleted or moved away mid-flight: DELETED (recorded, not an
│   │                        error storm), or REQUEUED under its new name
│   ├── FileChanged          changed on disk since it was queued: REQUEUED
│   ├── BadImage             cannot be decoded safely (corrupt, empty, bomb): FAILED
│   ├── MetadataWriteError   the write failed; the photo is left as it was: FAILED
│   ├── DiskFull             no room on the photo's disk to write it: REQUEUED,
│   │                        workers pause until there is
│   └── BadAnswer            the backend answered garbage (after a repair try): FAILED
├── BackendUnavailable       backend down, misconfigured or overloaded: job re-queued,
│                            circuit opens, workers pause
├── IndexLocked              another phototag holds the index's lock: exit 2
├── OutsideRoots             a path given to a verb is not inside a root (also a
│                            ValueError: a usage error, exit 2)
├── ControlSocketBusy        another daemon already answers on the control socket
├── DaemonNotRunning         nobody listens on the control socket (tagctl)
└── DaemonError              the daemon answered a verb with an error (tagctl)

AnswerError (a ValueError)   a model's text is not a valid answer (read by the VLM tagger,
                             which turns it into one repair request, then BadAnswer)

ApiError                     one request to an OpenAI-compatible server failed (raised by
│                            phototag.taggers.vlm.client; the VLM tagger sorts it into a
│                            retry, BackendUnavailable or BadImage). ``headers``: the
│                            answer's (empty when there was none)
├── ApiTimeout               no answer within the timeout
├── ApiConnectionError       cannot reach the server, or it dropped the connection; the
│                            httpx error is the ``__cause__``
├── ApiStatusError           the server answered with a status other than 2xx
└── ApiProtocolError         a 2xx answer that is not the API's JSON
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from phototag.states import Ending


class PhototagError(Exception):
    """Base of every error phototag raises on purpose."""


class ConfigError(PhototagError):
    """Settings are invalid; the message names the key and where it came from."""


class JobError(PhototagError):
    """One job cannot be completed; ``ending`` is how the job ends (the pipeline records
    that, and nothing else about the exception's type)."""

    ending: Ending = Ending.FAILED
    raw: str | None = None  # the model's answer that caused it, kept for the JSONL


class FileGone(JobError):
    ending = Ending.DELETED


class FileChanged(JobError):
    ending = Ending.REQUEUED


class BadImage(JobError):
    pass


class MetadataWriteError(JobError):
    pass


class DiskFull(JobError):
    """The photo's filesystem had no room (ENOSPC, EDQUOT) for the write; nothing changed."""

    ending = Ending.REQUEUED

    def __init__(self, message: str, *, folder: Path, need_bytes: int) -> None:
        super().__init__(message)
        self.folder = folder  # where the write was refused
        self.need_bytes = need_bytes  # free space it needs there to be tried again


class BadAnswer(JobError):
    def __init__(self, message: str, *, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw


class BackendUnavailable(PhototagError):
    """The backend cannot answer now (down, 5xx, auth, missing model); nothing is failed."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent  # needs a person (wrong key, missing model), not a retry


class IndexLocked(PhototagError):
    """Another process (a daemon, a ``--once`` run, a backfill) holds the index's lock."""

    def __init__(
        self, *, index_path: Path, lock_path: Path, pid: int | None, holder: str = ""
    ) -> None:
        who = f"{holder or 'phototag'} (pid {pid})" if pid is not None else "another phototag"
        super().__init__(
            f"{who} is running on the index {index_path} and holds its lock {lock_path}; "
            "stop it first (one phototag per index)"
        )
        self.pid = pid


class OutsideRoots(PhototagError, ValueError):
    """A path given to a verb is not inside a watched root, or leaves them through a link."""


class ControlSocketBusy(PhototagError):
    """Another daemon already answers on the control socket."""


class DaemonNotRunning(PhototagError):
    """Nobody listens on the control socket."""


class DaemonError(PhototagError):
    """The daemon answered with an error; ``kind`` is usage, error, internal, protocol or
    denied (see :mod:`phototag.runtime.control`)."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class AnswerError(ValueError):
    """The text is not a valid answer; the message says why (short, for the repair prompt)."""


class ApiError(Exception):
    """One request to the OpenAI-compatible server failed; ``headers`` are the answer's."""

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers: Mapping[str, str] = headers if headers is not None else {}


class ApiTimeout(ApiError):
    """No answer within the HTTP client's timeout."""


class ApiConnectionError(ApiError):
    """The server cannot be reached, or the connection broke; ``__cause__`` says how."""


class ApiStatusError(ApiError):
    """The server answered a status other than 2xx. ``body`` is the parsed JSON if the
    body is JSON, else its text (stripped, maybe empty)."""

    def __init__(self, status_code: int, *, body: object, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {status_code}", headers=headers)
        self.status_code = status_code
        self.body = body


class ApiProtocolError(ApiError):
    """A 2xx answer that is not the API's JSON (not JSON, or missing ``choices``/``data``)."""
