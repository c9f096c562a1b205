"""tagctl verbs against the real daemon over its real control socket."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from conftest import DATA, exiftool
from daemon_harness import DaemonProcess, vlm_env, wait_for
from fakevlm import FakeVLM


def tagctl_json(daemon: DaemonProcess, *args: str) -> tuple[int, object]:
    run = daemon.tagctl(*args, "--json")
    return run.returncode, json.loads(run.stdout) if run.stdout.strip() else None


@pytest.mark.slow
def test_pause_keeps_work_queued_and_resume_finishes_it(daemon: DaemonProcess, inbox: Path) -> None:
    assert tagctl_json(daemon, "pause") == (0, {"paused": True})
    shutil.copyfile(DATA / "chelsea.jpg", inbox / "cat.jpg")
    wait_for(lambda: daemon.status()["queue_depth"] == 1, timeout_s=30, what="queued")
    daemon.wait_heartbeats(2)  # the loop went round with the photo queued
    status = daemon.status()
    assert status["paused"] is True and status["counts"]["done"] == 0
    assert "paused" in daemon.tagctl("status").stdout
    assert tagctl_json(daemon, "resume") == (0, {"paused": False})
    assert daemon.wait_done(1)["counts"]["done"] == 1


@pytest.mark.slow
def test_tag_list_retag_and_show(daemon: DaemonProcess, inbox: Path) -> None:
    shutil.copyfile(DATA / "coffee.jpg", inbox / "coffee.jpg")
    (inbox / "broken.jpg").write_bytes(b"not a jpeg")
    daemon.wait_done(2)
    code, listed = tagctl_json(daemon, "list", "--status", "failed")
    assert code == 0 and [Path(r["path"]).name for r in listed] == ["broken.jpg"]
    assert listed[0]["error"]
    # one-off, in the foreground, printing the result
    code, record = tagctl_json(daemon, "tag", str(inbox / "coffee.jpg"))
    assert code == 0 and record["status"] == "done" and record["result"]["keywords"]
    code, answer = tagctl_json(daemon, "retag", str(inbox))
    assert code == 0 and answer["queued"] == 1  # the done one; failures use retry --failed
    daemon.wait_done(2)
    (meta,) = exiftool(inbox / "coffee.jpg", args=("-XMP-dc:Subject",))
    assert len(meta["Subject"]) == len(set(meta["Subject"]))  # re-tags never duplicate
    assert len([r for r in daemon.jsonl() if r["path"].endswith("coffee.jpg")]) == 3
    code, answer = tagctl_json(daemon, "retry", "--failed")
    assert code == 0 and answer["requeued_failed"] == 1
    assert daemon.tagctl("show", str(inbox / "coffee.jpg")).returncode == 0
    assert tagctl_json(daemon, "rescan")[0] == 0
    assert daemon.tagctl("tag", str(DATA / "chelsea.jpg")).returncode == 2  # outside the roots


@pytest.mark.slow
def test_preflight_and_sighup_reload(daemon: DaemonProcess, inbox: Path) -> None:
    code, health = tagctl_json(daemon, "preflight")
    assert code == 0 and health["ok"] is True
    config = daemon.home / "config" / "phototag" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("workers = 'lots'\n")  # invalid: the reload is refused, daemon lives
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(
        lambda: "reload refused" in daemon.log_path.read_text(),
        timeout_s=20,
        what="the refused reload",
    )
    config.write_text("max_keywords = 3\n")
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(
        lambda: "reload applied: max_keywords" in daemon.log_path.read_text(),
        timeout_s=20,
        what="the reload",
    )
    shutil.copyfile(DATA / "motorcycle.jpg", inbox / "moto.jpg")
    daemon.wait_done(1)
    (record,) = daemon.jsonl()
    assert 0 < len(record["keywords"]) <= 3


@pytest.mark.slow
def test_retag_stale_after_switching_to_a_vlm(tmp_path: Path, inbox: Path) -> None:
    home = tmp_path / "home"
    local = DaemonProcess(home=home, roots=[inbox]).start()
    shutil.copyfile(DATA / "chelsea.jpg", inbox / "cat.jpg")
    local.wait_done(1)
    assert local.stop() == 0
    with FakeVLM() as fake:
        vlm = DaemonProcess(home=home, roots=[inbox], env=vlm_env(fake)).start()
        try:
            code, answer = tagctl_json(vlm, "retag", "--stale")
            assert code == 0 and answer["queued"] == 1
            wait_for(lambda: len(vlm.jsonl()) == 2, timeout_s=60, what="the re-tag")
            assert vlm.jsonl()[-1]["backend"] == "openai"
            assert tagctl_json(vlm, "retag", "--stale") == (0, {"queued": 0})
        finally:
            assert vlm.stop() == 0


def test_verbs_say_when_the_daemon_is_not_running(xdg: dict[str, Path]) -> None:
    import subprocess
    import sys

    env = {**os.environ}
    run = subprocess.run(
        [sys.executable, "-m", "phototag.cli.tagctl", "pause"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 3 and "not running" in run.stderr
