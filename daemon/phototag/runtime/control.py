"""The control socket, server side: newline-delimited JSON over a unix stream socket.

Request  ``{"v": 1, "verb": "pause", "args": {...}}``
Answer   ``{"v": 1, "ok": true, "result": ...}`` or
         ``{"v": 1, "ok": false, "error": "message", "kind": KIND}``

``kind`` is ``usage`` (the handler raised ValueError/TypeError: bad arguments),
``error`` (a PhototagError: the verb ran into a problem), ``internal`` (a bug, logged),
``protocol`` (bad JSON, version or verb) or ``denied`` (a peer of another uid).

The folder is 0700 and the socket 0600; a peer whose ``SO_PEERCRED`` uid differs from
ours is refused anyway. A socket left by a crashed daemon is replaced; a live one is not.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from loguru import logger

from phototag.errors import ControlSocketBusy, PhototagError
from phototag.runtime.protocol import MAX_REQUEST_BYTES, PROTOCOL_VERSION

Handler = Callable[[dict[str, Any]], Any]


def peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


def answer(request_line: bytes, handlers: Mapping[str, Handler]) -> dict[str, Any]:
    """The reply to one request line (never raises)."""
    try:
        request = json.loads(request_line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _error(f"request is not JSON: {exc}", kind="protocol")
    if not isinstance(request, dict):
        return _error("request must be a JSON object", kind="protocol")
    if request.get("v") != PROTOCOL_VERSION:
        return _error(
            f"unsupported protocol version {request.get('v')!r} "
            f"(this daemon speaks {PROTOCOL_VERSION})",
            kind="protocol",
        )
    verb = request.get("verb")
    args = request.get("args") or {}
    handler = handlers.get(verb) if isinstance(verb, str) else None
    if handler is None:
        return _error(
            f"unknown verb {verb!r}; known: {', '.join(sorted(handlers))}", kind="protocol"
        )
    if not isinstance(args, dict):
        return _error("args must be a JSON object", kind="protocol")
    try:
        result = handler(args)
    except (ValueError, TypeError, KeyError) as exc:
        return _error(f"{verb}: {exc}", kind="usage")
    except PhototagError as exc:
        return _error(f"{verb}: {exc}", kind="error")
    except Exception as exc:
        logger.exception("control verb {} failed", verb)
        return _error(f"{verb}: internal error: {type(exc).__name__}: {exc}", kind="internal")
    return {"v": PROTOCOL_VERSION, "ok": True, "result": result}


def _error(message: str, *, kind: str) -> dict[str, Any]:
    return {"v": PROTOCOL_VERSION, "ok": False, "error": message, "kind": kind}


def _encode(reply: Mapping[str, Any]) -> bytes:
    return (json.dumps(reply, default=str, ensure_ascii=False) + "\n").encode()


class ControlServer:
    """Answers tagctl on ``path`` with one thread per connection."""

    def __init__(self, *, path: Path, handlers: Mapping[str, Handler]) -> None:
        self.path = path
        self._handlers = dict(handlers)
        self._listener: socket.socket | None = None
        self._accepter: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._inode: int | None = None

    def start(self) -> None:
        _private_dir(self.path.parent)
        _remove_stale(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        listener.bind(str(self.path))  # the 0700 folder covers the moment before chmod
        os.chmod(self.path, 0o600)
        self._inode = self.path.stat().st_ino
        listener.listen(16)
        self._listener = listener
        self._accepter = threading.Thread(target=self._accept_loop, name="control", daemon=True)
        self._accepter.start()
        logger.debug("control socket listening on {}", self.path)

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        listener.close()
        if self._accepter is not None:
            self._accepter.join()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(FileNotFoundError):
            if self.path.stat().st_ino == self._inode:  # not a successor's socket
                self.path.unlink()

    def _accept_loop(self) -> None:
        listener = self._listener
        while listener is not None:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(
                target=self._serve, args=(conn,), name="control-conn", daemon=True
            ).start()

    def _serve(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.add(conn)
        try:
            with conn, conn.makefile("rb") as reader:
                uid = peer_uid(conn)
                if uid != os.getuid():
                    logger.warning("control socket: refused a peer with uid {}", uid)
                    conn.sendall(_encode(_error(f"permission denied for uid {uid}", kind="denied")))
                    return
                while line := reader.readline(MAX_REQUEST_BYTES + 1):
                    if len(line) > MAX_REQUEST_BYTES:
                        conn.sendall(_encode(_error("request too long", kind="protocol")))
                        return
                    if line.strip():
                        conn.sendall(_encode(answer(line, self._handlers)))
        except OSError as exc:
            logger.debug("control connection closed: {}", exc)
        finally:
            with self._lock:
                self._conns.discard(conn)


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.stat()
    if st.st_uid != os.getuid():
        raise PhototagError(f"{path}: owned by uid {st.st_uid}, not by us; refusing to use it")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)


def _remove_stale(path: Path) -> None:
    """Unlink a socket nobody answers on; refuse when a daemon is still listening."""
    if not path.exists() and not path.is_symlink():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        probe.settimeout(1.0)
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        logger.info("replacing a stale control socket at {}", path)
        path.unlink(missing_ok=True)
        return
    except OSError as exc:
        raise PhototagError(f"{path}: cannot check the existing control socket: {exc}") from exc
    finally:
        probe.close()
    raise ControlSocketBusy(f"{path}: another phototagd is already running")
