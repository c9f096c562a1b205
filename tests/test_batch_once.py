"""phototagd --once and tagctl backfill: everything pending, at once, then a summary and an
exit code; a progress bar on a terminal; backlog progress in tagctl status."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from batch_support import Batch, backdate, vlm_env
from daemon_harness import wait_for
from fakevlm import FakeVLM
from test_daemon_vlm import make_photos


@pytest.fixture
def fake() -> Iterator[FakeVLM]:
    with FakeVLM() as server:
        yield server


@pytest.mark.slow
def test_once_takes_finished_files_at_once_and_exits_with_a_summary(
    tmp_path: Path, fake: FakeVLM
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    photos = make_photos(inbox, 6)
    (inbox / "broken.jpg").write_bytes(b"not a photo")
    backdate(*photos, inbox / "broken.jpg")
    env = vlm_env(fake, PHOTOTAG_DEBOUNCE_S="60")  # a debounce wait would time this out
    batch = Batch(home=tmp_path / "home", roots=[inbox], env=env)
    started = time.monotonic()
    run = batch.once(timeout_s=50)
    assert time.monotonic() - started < 50
    assert run.returncode == 1, run.stderr  # something failed
    assert run.stdout.startswith("phototag: 6 tagged, 1 failed in "), run.stdout
    assert len(batch.jsonl()) == 7
    again = batch.once(timeout_s=50)  # nothing pending: a failed, unchanged file waits
    assert again.returncode == 0 and "0 tagged, 0 failed" in again.stdout


@pytest.mark.slow
def test_progress_bar_with_rate_and_eta_on_a_terminal(tmp_path: Path, fake: FakeVLM) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    backdate(*make_photos(inbox, 16))
    fake.latency_s = 0.2
    env = vlm_env(fake, PHOTOTAG_VLM__MAX_INFLIGHT="2", PHOTOTAG_WORKERS="1")
    batch = Batch(home=tmp_path / "home", roots=[inbox], env=env)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "phototag.cli.phototagd", "--once"],
        env=batch.env,
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
    )
    os.close(slave)
    terminal = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the other end is closed
            break
        if not chunk:
            break
        terminal += chunk
    os.close(master)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "16 tagged, 0 failed" in stdout
    bars = terminal.decode().split("\r")
    assert any("/16" in bar and "/s" in bar and "ETA 0:" in bar for bar in bars), bars[-5:]
    assert "[" + "#" * 28 + "] 16/16" in terminal.decode()
    assert "INFO" not in terminal.decode()  # the bar is not drowned in log lines


@pytest.mark.slow
def test_status_shows_backlog_and_backfill_processes_one_folder(
    tmp_path: Path, fake: FakeVLM
) -> None:
    inbox = tmp_path / "inbox"
    for folder in ("library", "later", "other"):
        (inbox / folder).mkdir(parents=True)
    make_photos(inbox / "library", 12, seed=1)
    fake.latency_s = 1.0
    env = vlm_env(fake, PHOTOTAG_VLM__MAX_INFLIGHT="2", PHOTOTAG_WORKERS="1")
    batch = Batch(home=tmp_path / "home", roots=[inbox], env=env)
    batch.start()
    try:
        status = wait_for(
            lambda: (s := batch.status()).get("backlog") and s["backlog"]["eta_s"] and s,
            timeout_s=60,
            what="backlog progress in tagctl status",
            log=batch.log_path,
        )
        backlog = status["backlog"]
        assert backlog["total"] == 12 and 0 < backlog["done"] < 12
        assert backlog["eta_s"] > 0 and backlog["rate_per_s"] > 0
        text = batch.tagctl("status").stdout
        assert "backlog:   " in text and " of 12 (" in text and "ETA" in text, text
        busy = batch.tagctl("backfill", str(inbox / "later"))
        assert busy.returncode == 2 and "is running" in busy.stderr
        batch.wait_done(12, timeout_s=90)
        wait_for(  # the heartbeat that follows the last photo ends the backlog
            lambda: batch.status()["backlog"] is None,
            timeout_s=30,
            what="the backlog to end in tagctl status",
            log=batch.log_path,
        )
    finally:
        assert batch.stop() == 0

    fake.latency_s = 0.0
    make_photos(inbox / "later", 3, seed=2)
    make_photos(inbox / "other", 2, seed=3)
    backdate(*inbox.rglob("img_*.jpg"))
    outside = batch.tagctl("backfill", str(tmp_path))
    assert outside.returncode == 2 and "not inside a watched root" in outside.stderr
    run = batch.tagctl("backfill", str(inbox / "later"))
    assert run.returncode == 0, run.stderr
    assert "3 tagged, 0 failed" in run.stdout
    tagged = {r["path"] for r in batch.jsonl()}
    assert all(str(inbox / "later" / f"img_{i:04d}.jpg") in tagged for i in range(3))
    assert not any("/other/" in path for path in tagged)
