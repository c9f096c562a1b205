"""Faults: small leaks. State files another user could read; names that forge log lines
or drive the terminal."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from conftest import DATA
from daemon_harness import FRESH_REPORTS, DaemonProcess, vlm_env
from fakevlm import FakeVLM

FORGED = "12:00:00.000 INFO    phototag.reporting.outputs tagged evil.jpg"
NEWLINE_NAME = f"evil\n{FORGED}\n.jpg"
ANSI_NAME = "\x1b[31mred\x1b[0m\x1b]0;owned\x07.jpg"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
def test_state_files_are_private_whatever_existed_before(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with FakeVLM() as fake:
        env = vlm_env(fake, **FRESH_REPORTS)
        daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env)
        daemon.start()
        shutil.copyfile(DATA / "chelsea.jpg", inbox / "a.jpg")
        daemon.wait_done(1)
        assert daemon.stop() == 0
        state_files = [p for p in daemon.state.rglob("*") if p.is_file()]
        for path in state_files:  # as an older phototag, or a careless umask, left them
            os.chmod(path, 0o644)
        old = os.umask(0o022)
        try:
            daemon.start()
        finally:
            os.umask(old)
        shutil.copyfile(DATA / "coffee.jpg", inbox / "b.jpg")
        daemon.wait_done(2)
        daemon.wait_heartbeats(2)  # summary and metrics written again
        try:
            state = daemon.state
            expected = [
                state / "index.sqlite3",
                state / "index.sqlite3-wal",
                state / "index.sqlite3-shm",
                state / "summary.md",
                state / "metrics.json",
                *sorted((state / "log").glob("*.jsonl")),
            ]
            modes = {str(p.relative_to(state)): oct(_mode(p)) for p in expected}
            assert set(modes.values()) == {"0o600"}, modes
        finally:
            assert daemon.stop() == 0


@pytest.mark.slow
def test_names_are_escaped_in_the_log_and_on_terminals_and_exact_in_json(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with FakeVLM() as fake:
        daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake))
        daemon.start()
        try:
            shutil.copyfile(DATA / "chelsea.jpg", inbox / NEWLINE_NAME)
            shutil.copyfile(DATA / "coffee.jpg", inbox / ANSI_NAME)
            daemon.wait_done(2)
            listed = daemon.tagctl("list", "--status", "done")
            listed_json = daemon.tagctl("list", "--status", "done", "--json")
            status = daemon.tagctl("status")
        finally:
            assert daemon.stop() == 0
    log = daemon.log_path.read_text()
    for text in (log, listed.stdout, status.stdout):
        assert "\x1b" not in text and "\x07" not in text
        assert not any(line.startswith("12:00:00.000") for line in text.splitlines())
    assert "evil\\n12:00:00.000 INFO" in log and "\\x1b[31mred" in log
    assert "\\x1b[31mred\\x1b[0m" in listed.stdout and "evil\\n12:00" in listed.stdout
    exact = {Path(r["path"]).name for r in json.loads(listed_json.stdout)}
    assert exact == {NEWLINE_NAME, ANSI_NAME}
    assert {Path(r["path"]).name for r in daemon.jsonl()} == {NEWLINE_NAME, ANSI_NAME}
