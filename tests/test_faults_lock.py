"""Faults: two phototags on one index. The lock sits beside the index, not on the socket."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA
from daemon_harness import DaemonProcess, vlm_env, wait_for
from fakevlm import FakeVLM


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
def test_a_second_daemon_on_the_same_index_exits_2_naming_the_holder(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = {"PHOTOTAG_ROOTS": json.dumps([str(inbox)])}
    first = DaemonProcess(home=tmp_path / "home", roots=[], env=env).start()
    try:
        assert first.proc is not None
        holder = f"pid {first.proc.pid}"
        # as from cron: no XDG_RUNTIME_DIR, so no control socket to collide on
        cron = {k: v for k, v in first.env.items() if k != "XDG_RUNTIME_DIR"}
        cron["HOME"] = str(tmp_path / "cron-home")
        second = _run(["phototag.cli.phototagd"], cron)
        assert second.returncode == 2, second.stderr
        assert holder in second.stderr and "lock" in second.stderr
        once = _run(["phototag.cli.phototagd", "--once"], first.env)
        assert once.returncode == 2 and holder in once.stderr, once.stderr
        backfill = _run(["phototag.cli.tagctl", "backfill", "--retag", str(inbox)], first.env)
        assert backfill.returncode == 2 and holder in backfill.stderr, backfill.stderr
        assert "tagged again" not in backfill.stderr  # refused before touching the index
        assert first.proc.poll() is None
    finally:
        assert first.stop() == 0
    # the holder gone (the kernel drops the lock), the next one starts
    again = _run(["phototag.cli.phototagd", "--once"], first.env)
    assert again.returncode == 0, again.stderr


@pytest.mark.slow
def test_a_daemon_started_while_once_runs_exits_2(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copyfile(DATA / "chelsea.jpg", inbox / "a.jpg")
    os.utime(inbox / "a.jpg", (1e9, 1e9))  # complete on disk: --once queues it at once
    with FakeVLM() as fake:
        fake.latency_s = 30.0  # --once stays busy with its one photo
        env = {**vlm_env(fake), "PHOTOTAG_ROOTS": json.dumps([str(inbox)])}
        home = DaemonProcess(home=tmp_path / "home", roots=[], env=env)
        once = subprocess.Popen(
            [sys.executable, "-m", "phototag.cli.phototagd", "--once"],
            env=home.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(lambda: fake.chat_requests, timeout_s=30, what="--once at work")
            second = _run(["phototag.cli.phototagd"], home.env)
            assert second.returncode == 2, second.stderr
            assert f"phototagd --once (pid {once.pid})" in second.stderr
        finally:
            once.kill()
            once.wait()
