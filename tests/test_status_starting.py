"""`tagctl status` says "starting" until the daemon watches and its catch-up scan is done.

The backend's first preflight records a heartbeat of its own, which may come before the
watchers are up; a status that said "running" then let a file made at once be missed by
both the watchers and the scan (a symlink in test_bad_input, one run in six)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from phototag.reporting.status import collect_status, render_status
from phototag.store.queue import Index
from phototag.store.reader import IndexReader


@pytest.fixture
def pid() -> Iterator[int]:
    """A live process that looks like phototagd to ``pid_alive`` (its command line)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "phototagd"])
    yield proc.pid
    proc.kill()
    proc.wait()


def _status(tmp_path: Path, pid: int, **state: object) -> dict[str, object]:
    index = Index(tmp_path / "index.sqlite3")
    index.set_meta("daemon", {"pid": pid, "heartbeat_at": time.time(), **state})
    reader = IndexReader.open(tmp_path / "index.sqlite3")
    try:
        return collect_status(reader)
    finally:
        reader.close()
        index.close()


def test_a_daemon_still_starting_says_so(tmp_path: Path, pid: int) -> None:
    status = _status(tmp_path, pid, starting=True, started_at=time.time())
    assert status["running"] and status["starting"]
    assert str(render_status(status)).splitlines()[0].startswith("phototagd: starting (pid ")


def test_once_started_it_is_running(tmp_path: Path, pid: int) -> None:
    status = _status(tmp_path, pid, starting=False, started_at=time.time())
    assert status["running"] and not status["starting"]
    assert str(render_status(status)).splitlines()[0].startswith("phototagd: running (pid ")
