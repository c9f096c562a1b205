"""sd_notify through real datagram sockets, with and without systemd-python, and the watchdog."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from phototag.runtime import systemd as service


class Listener:
    """A datagram socket standing in for systemd's notify socket."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(0.05)

    def messages(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self.sock.recv(4096).decode())
            except TimeoutError:
                return out


@pytest.fixture(params=["systemd-python", "fallback"])
def implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "fallback":
        monkeypatch.setattr(service, "_sd_daemon", None)
    elif service._sd_daemon is None:
        pytest.skip("systemd-python is not installed (pip install '.[systemd]')")
    return request.param


@pytest.fixture
def listener(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Listener]:
    path = str(tmp_path / "notify.sock")
    lis = Listener(path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    yield lis
    lis.sock.close()


def test_without_notify_socket_nothing_is_sent(
    monkeypatch: pytest.MonkeyPatch, implementation: str
) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert service.notify(ready=True) is False


def test_messages_reach_the_socket(listener: Listener, implementation: str) -> None:
    assert service.notify(ready=True, status="412 tagged,\n3 queued")
    assert service.notify(watchdog=True)
    assert service.notify(stopping=True)
    ready, dog, stopping = listener.messages()
    assert ready == "READY=1\nSTATUS=412 tagged, 3 queued"
    assert dog == "WATCHDOG=1"
    assert stopping == "STOPPING=1"


def test_reloading_carries_a_monotonic_timestamp(listener: Listener, implementation: str) -> None:
    service.notify(reloading=True)
    (message,) = listener.messages()
    first, second = message.split("\n")
    assert first == "RELOADING=1"
    usec = int(second.removeprefix("MONOTONIC_USEC="))
    assert abs(usec / 1e6 - time.monotonic()) < 5


def test_abstract_socket_names(monkeypatch: pytest.MonkeyPatch, implementation: str) -> None:
    address = f"@phototag-test-{uuid.uuid4().hex}"
    lis = Listener(address)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    try:
        assert service.notify(status="abstract")
        assert lis.messages() == ["STATUS=abstract"]
    finally:
        lis.sock.close()


def test_a_vanished_socket_is_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, implementation: str
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))
    assert service.notify(ready=True) is False


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        (None, None, None),
        ("0", None, None),
        ("abc", None, None),
        ("30000000", None, 30.0),
        ("30000000", "self", 30.0),
        ("30000000", "1", None),
    ],
)
def test_watchdog_interval(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, expected: float | None
) -> None:
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, str(os.getpid()) if value == "self" else value)
    assert service.watchdog_interval_s() == expected


def test_watchdog_pets_only_while_alive_and_sends_changed_status(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # 0.2 s: a beat every 0.1 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    alive = threading.Event()
    alive.set()
    watchdog = service.Watchdog(is_alive=alive.is_set, status_line=lambda: "3 queued")
    assert watchdog.beat_interval_s == pytest.approx(0.1)
    watchdog.start()
    try:
        time.sleep(0.55)
        healthy = listener.messages()
        alive.clear()
        time.sleep(0.15)
        listener.messages()  # a beat already under way when it turned stuck
        time.sleep(0.5)
        stuck = listener.messages()
        alive.set()
        time.sleep(0.35)
        recovered = listener.messages()
    finally:
        watchdog.stop()
    assert healthy.count("WATCHDOG=1") >= 3
    assert healthy.count("STATUS=3 queued") == 1  # sent once, not on every beat
    assert stuck == []
    assert "WATCHDOG=1" in recovered


def test_a_failing_liveness_check_counts_as_stuck(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")

    def broken() -> bool:
        raise RuntimeError("boom")

    watchdog = service.Watchdog(is_alive=broken, status_line=lambda: "x")
    watchdog.beat()
    assert listener.messages() == ["STATUS=x"]


def test_without_watchdog_only_status_is_sent(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    lines = iter(["a", "a", "b"])
    watchdog = service.Watchdog(is_alive=lambda: True, status_line=lambda: next(lines))
    assert watchdog.beat_interval_s is None
    for _ in range(3):
        watchdog.beat()
    assert listener.messages() == ["STATUS=a", "STATUS=b"]


def test_status_line_and_liveness_come_from_the_daemons_status() -> None:
    from phototag.runtime.supervision import is_alive, status_line, stuck_after_s

    status = {
        "counts": {"done": 412, "queued": 3, "failed": 0},
        "paused": False,
        "vanished_roots": ["~/Pictures/Card"],
        "health": {"ok": False, "reason": "connection refused"},
        "in_flight": 2,
    }
    assert status_line(status) == (
        "412 tagged, 3 queued, 0 failed, watched folder missing: ~/Pictures/Card, "
        "backend down: connection refused"
    )
    assert is_alive(status, quiet_s=1e6, stuck_after_s=300)  # waiting on the backend
    healthy = {**status, "health": {"ok": True, "reason": ""}}
    assert is_alive(healthy, quiet_s=299, stuck_after_s=300)
    assert not is_alive(healthy, quiet_s=301, stuck_after_s=300)  # in flight, no progress
    assert is_alive({**healthy, "in_flight": 0}, quiet_s=1e6, stuck_after_s=300)
    assert stuck_after_s(timeout_s=120, max_retries=4) == 600
    assert stuck_after_s(timeout_s=10, max_retries=1) == 300
