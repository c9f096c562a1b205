"""The control socket, client side: one request, one answer.

See :mod:`phototag.runtime.control` for the protocol.
"""

from __future__ import annotations

import contextlib
import json
import socket
from pathlib import Path
from typing import Any

from phototag.errors import DaemonError, DaemonNotRunning
from phototag.runtime.protocol import MAX_REQUEST_BYTES, PROTOCOL_VERSION


def call(
    path: Path, verb: str, args: dict[str, Any] | None = None, *, timeout_s: float = 5.0
) -> Any:
    """Ask the daemon listening on ``path`` to run ``verb``; its result, or an exception."""
    request = {"v": PROTOCOL_VERSION, "verb": verb, "args": args or {}}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise DaemonNotRunning(f"phototagd is not running (nothing listens on {path})") from exc
        except OSError as exc:
            raise DaemonError(
                f"cannot reach phototagd at {path}: {exc.strerror}", kind="denied"
            ) from exc
        try:
            # A refused peer's answer comes before the daemon reads anything: read it even if
            # the daemon closed before the request went out.
            with contextlib.suppress(BrokenPipeError):
                sock.sendall((json.dumps(request) + "\n").encode())
            with sock.makefile("rb") as reader:
                line = reader.readline(MAX_REQUEST_BYTES * 64)
        except TimeoutError as exc:
            raise DaemonError(
                f"phototagd gave no answer to {verb!r} within {timeout_s:g} s", kind="error"
            ) from exc
        except OSError as exc:
            raise DaemonError(f"lost the connection to phototagd: {exc}", kind="error") from exc
    if not line:
        raise DaemonError("phototagd closed the connection without answering", kind="error")
    try:
        reply = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DaemonError(
            f"phototagd answered something that is not JSON: {exc}", kind="protocol"
        ) from exc
    if reply.get("ok"):
        return reply.get("result")
    raise DaemonError(str(reply.get("error", "unknown error")), kind=str(reply.get("kind", "")))
