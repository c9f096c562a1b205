"""The control socket over real unix sockets: protocol, permissions, stale sockets, peers."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phototag.errors import BackendUnavailable, ControlSocketBusy, DaemonError, DaemonNotRunning
from phototag.runtime.control import ControlServer
from phototag.runtime.control_client import call


def handlers(log: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    def record(verb: str, result: Any) -> Any:
        def handler(args: dict[str, Any]) -> Any:
            log.append((verb, args))
            return result

        return handler

    def bad_args(args: dict[str, Any]) -> Any:
        raise ValueError("path is outside every watched root")

    def unhealthy(args: dict[str, Any]) -> Any:
        raise BackendUnavailable("connection refused")

    def bug(args: dict[str, Any]) -> Any:
        return 1 / 0

    def slow(args: dict[str, Any]) -> Any:
        time.sleep(1.0)
        return "late"

    return {
        "pause": record("pause", {"paused": True}),
        "list": record("list", [{"path": "/p/a.jpg", "status": "failed"}]),
        "retag": bad_args,
        "preflight": unhealthy,
        "tag": bug,
        "slow": slow,
    }


@pytest.fixture
def socket_path(tmp_path: Path) -> Path:
    return tmp_path / "run" / "phototag" / "control.sock"


@pytest.fixture
def server(socket_path: Path) -> Iterator[tuple[ControlServer, list[tuple[str, dict[str, Any]]]]]:
    log: list[tuple[str, dict[str, Any]]] = []
    srv = ControlServer(path=socket_path, handlers=handlers(log))
    srv.start()
    yield srv, log
    srv.stop()


def test_round_trip(server: tuple[ControlServer, list], socket_path: Path) -> None:
    _, log = server
    assert call(socket_path, "pause") == {"paused": True}
    assert call(socket_path, "list", {"status": "failed"}) == [
        {"path": "/p/a.jpg", "status": "failed"}
    ]
    assert log == [("pause", {}), ("list", {"status": "failed"})]


def test_folder_and_socket_are_private(
    server: tuple[ControlServer, list], socket_path: Path
) -> None:
    assert stat.S_IMODE(socket_path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(socket_path.stat().st_mode) == 0o600
    assert stat.S_ISSOCK(socket_path.stat().st_mode)


@pytest.mark.parametrize(
    ("verb", "kind", "text"),
    [
        ("retag", "usage", "outside every watched root"),
        ("preflight", "error", "refused"),
        ("tag", "internal", "ZeroDivisionError"),
        ("nonsense", "protocol", "unknown verb"),
    ],
)
def test_errors_carry_a_kind(
    server: tuple[ControlServer, list], socket_path: Path, verb: str, kind: str, text: str
) -> None:
    with pytest.raises(DaemonError) as caught:
        call(socket_path, verb, {})
    assert caught.value.kind == kind
    assert text in str(caught.value)


def raw_exchange(path: Path, payload: bytes) -> list[dict[str, Any]]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return [json.loads(line) for line in data.splitlines()]


def test_protocol_version_and_framing(
    server: tuple[ControlServer, list], socket_path: Path
) -> None:
    replies = raw_exchange(
        socket_path,
        b'{"v": 1, "verb": "pause"}\n\nnot json\n'
        b'{"v": 2, "verb": "pause"}\n[1]\n'
        b'{"v": 1, "verb": "pause", "args": [1]}\n',
    )
    assert [r["ok"] for r in replies] == [True, False, False, False, False]
    assert all(r["v"] == 1 for r in replies)
    assert "version 2" in replies[2]["error"]
    assert {r["kind"] for r in replies[1:]} == {"protocol"}


def test_connections_are_served_concurrently(
    server: tuple[ControlServer, list], socket_path: Path
) -> None:
    results: list[Any] = []
    slow = threading.Thread(target=lambda: results.append(call(socket_path, "slow")))
    slow.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert call(socket_path, "pause") == {"paused": True}
    assert time.monotonic() - started < 0.5
    slow.join()
    assert results == ["late"]


def test_client_timeout(server: tuple[ControlServer, list], socket_path: Path) -> None:
    with pytest.raises(DaemonError, match="no answer"):
        call(socket_path, "slow", timeout_s=0.2)


def test_nobody_listening(socket_path: Path) -> None:
    with pytest.raises(DaemonNotRunning):
        call(socket_path, "pause")


def test_stop_removes_the_socket_and_then_nobody_listens(socket_path: Path) -> None:
    srv = ControlServer(path=socket_path, handlers={})
    srv.start()
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 2
    assert not socket_path.exists()
    with pytest.raises(DaemonNotRunning):
        call(socket_path, "pause")


def test_a_stale_socket_from_a_crashed_daemon_is_replaced(socket_path: Path) -> None:
    socket_path.parent.mkdir(parents=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(socket_path))  # bound, never listening, then gone: what a crash leaves
    dead.close()
    with pytest.raises(DaemonNotRunning):
        call(socket_path, "pause")
    srv = ControlServer(path=socket_path, handlers={"pause": lambda args: "ok"})
    srv.start()
    try:
        assert call(socket_path, "pause") == "ok"
    finally:
        srv.stop()


def test_a_live_daemon_is_not_displaced(
    server: tuple[ControlServer, list], socket_path: Path
) -> None:
    second = ControlServer(path=socket_path, handlers={})
    with pytest.raises(ControlSocketBusy):
        second.start()
    assert call(socket_path, "pause") == {"paused": True}


def test_a_loose_folder_is_tightened(socket_path: Path) -> None:
    socket_path.parent.mkdir(parents=True, mode=0o755)
    socket_path.parent.chmod(0o755)
    srv = ControlServer(path=socket_path, handlers={})
    srv.start()
    srv.stop()
    assert stat.S_IMODE(socket_path.parent.stat().st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another uid")
def test_peers_of_another_uid_are_refused() -> None:
    top = Path(tempfile.mkdtemp(prefix="phototag-peer-"))  # outside root's private tmp_path
    socket_path = top / "phototag" / "control.sock"
    log: list[tuple[str, dict[str, Any]]] = []
    srv = ControlServer(path=socket_path, handlers=handlers(log))
    srv.start()
    try:
        for path in (top, socket_path.parent):
            path.chmod(0o755)  # a mistake elsewhere opened the way: SO_PEERCRED still holds
        socket_path.chmod(0o666)
        answer = _ask_as_nobody(socket_path)
    finally:
        srv.stop()
        shutil.rmtree(top)
    assert answer.startswith("denied: permission denied for uid 65534"), answer
    assert log == []


def _ask_as_nobody(socket_path: Path) -> str:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            try:
                call(socket_path, "pause")
                answer = "accepted"
            except DaemonError as exc:
                answer = f"{exc.kind}: {exc}"
            os.write(write_end, answer.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end) as fh:
        return fh.read()
