"""One-off flags for a run (issue 17 point 4) and a one-shot run that ends when the
backend stays away (point 6)."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from batch_support import Batch, backdate, vlm_env
from conftest import DATA
from fakevlm import FakeVLM
from phototag.reporting.progress import Backlog, Waiting, render_bar
from phototag.store.reader import IndexReader

FLAGS = (
    "--backend",
    "openai",
    "--model",
    "cli-model",
    "--base-url",
    "http://gpu:9000/v1",
    "--profile",
    "portfolio",
    "--max-keywords",
    "7",
    "--language",
    "German",
)


@pytest.fixture
def batch(tmp_path: Path) -> Batch:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(3):
        shutil.copyfile(DATA / "chelsea.jpg", inbox / f"cat{i}.jpg")
        with (inbox / f"cat{i}.jpg").open("ab") as fh:
            fh.write(b"%d" % i)
    backdate(*inbox.iterdir())
    config = tmp_path / "home" / "config" / "phototag" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        'backend = "local"\nmax_keywords = 12\n[vlm]\nmodel = "file-model"\n'
        'profile = "stock"\nlanguage = "French"\ntimeout_s = 11\n'
    )
    return Batch(home=tmp_path / "home", roots=[inbox], env={"PHOTOTAG_VLM__MODEL": "env-model"})


def printed_config(batch: Batch, command: list[str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", *command, "--print-config"],
        env=batch.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize(
    "command", [["phototag.cli.phototagd"], ["phototag.cli.tagctl", "backfill"]]
)
def test_flags_win_over_environment_file_and_defaults(batch: Batch, command: list[str]) -> None:
    layered = printed_config(batch, command)
    vlm = layered["vlm"]
    assert isinstance(vlm, dict)
    assert layered["backend"] == "local" and layered["max_keywords"] == 12  # the file
    assert vlm["model"] == "env-model"  # the environment over the file
    assert vlm["profile"] == "stock" and vlm["language"] == "French"
    assert vlm["base_url"] == "http://127.0.0.1:8000/v1"  # the default

    flagged = printed_config(batch, [*command, *FLAGS])
    vlm = flagged["vlm"]
    assert isinstance(vlm, dict)
    assert flagged["backend"] == "openai" and flagged["max_keywords"] == 7
    assert vlm["model"] == "cli-model" and vlm["base_url"] == "http://gpu:9000/v1"
    assert vlm["profile"] == "portfolio" and vlm["language"] == "German"
    assert vlm["timeout_s"] == 11  # what no flag names still comes from below


def test_a_bad_flag_value_names_the_command_line(batch: Batch) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "phototag.cli.phototagd", "--max-keywords", "0", "--print-config"],
        env=batch.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "max_keywords (command line)" in out.stderr


@pytest.fixture
def dead_url() -> str:
    with socket.socket() as sock:  # a port nothing listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def fake() -> Iterator[FakeVLM]:
    with FakeVLM() as server:
        yield server


def run_on_a_terminal(cmd: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``cmd`` with its stderr on a pseudo-terminal (so the progress bar is drawn)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.stdout is not None
    out = proc.stdout.read()
    return proc.wait(timeout=60), out + seen.decode(errors="replace")


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [["phototag.cli.phototagd", "--once"], ["phototag.cli.tagctl", "backfill"]],
)
def test_a_one_shot_run_gives_up_on_a_backend_that_stays_down(
    batch: Batch, fake: FakeVLM, dead_url: str, command: list[str]
) -> None:
    batch.env.update(vlm_env(fake))
    cmd = [sys.executable, "-m", *command, "--base-url", dead_url, "--max-wait-s", "2"]
    code, shown = run_on_a_terminal(cmd, batch.env)
    assert code == 1, shown
    assert "stopped early, backend unavailable for" in shown
    assert "--max-wait-s 2" in shown
    assert "waiting for the backend 0:0" in shown  # on the progress line, while it waits
    reader = IndexReader.open(batch.state / "index.sqlite3")
    assert reader.counts()["queued"] == 3  # nothing dropped: the next run tags them
    reader.close()
    assert fake.chat_requests == []

    again = batch.once()  # the server named in the environment is up
    assert again.returncode == 0 and "3 tagged, 0 failed" in again.stdout, again.stderr


def test_the_wait_is_drawn_on_the_progress_line() -> None:
    backlog = Backlog(finished=2, remaining=3, elapsed_s=30)
    line = render_bar(
        backlog, waiting=Waiting(waited_s=12, max_wait_s=300, reason="connection refused")
    )
    assert line.endswith("waiting for the backend 0:12 of 5:00: connection refused")
    assert "waiting" not in render_bar(backlog)
