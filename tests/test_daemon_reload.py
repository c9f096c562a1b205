"""SIGHUP to a real daemon: each changed setting takes effect in the part that reads it, or
is named as needing a restart (in the log and in ``tagctl status``)."""

from __future__ import annotations

import json
import shutil
import signal
import threading
from datetime import datetime
from pathlib import Path

import pytest

from conftest import DATA
from daemon_harness import DaemonProcess, vlm_env, wait_for
from fakevlm import FakeVLM, slow


def reload_with(daemon: DaemonProcess, config: str, *, expect: str) -> None:
    """Write the config file, send SIGHUP, wait for the log line ``expect``."""
    path = daemon.home / "config" / "phototag" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config)
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: expect in daemon.log_path.read_text(), timeout_s=30, what=expect)


def records_of(daemon: DaemonProcess, name: str) -> list[dict[str, object]]:
    return [r for r in daemon.jsonl() if str(r.get("path", "")).endswith(name)]


def retag(daemon: DaemonProcess, photo: Path, *, records: int) -> dict[str, object]:
    """Tag ``photo`` again; its newest JSONL record."""
    assert daemon.tagctl("retag", str(photo)).returncode == 0
    wait_for(lambda: len(records_of(daemon, photo.name)) == records, timeout_s=60, what="retag")
    return records_of(daemon, photo.name)[-1]


@pytest.mark.slow
def test_max_keywords_reaches_the_embedded_tagger(daemon: DaemonProcess, inbox: Path) -> None:
    photo = inbox / "cat.jpg"
    shutil.copyfile(DATA / "chelsea.jpg", photo)
    daemon.wait_done(1)
    (first,) = records_of(daemon, "cat.jpg")
    assert isinstance(first["keywords"], list) and len(first["keywords"]) > 2
    reload_with(daemon, "max_keywords = 2\n", expect="reload applied: max_keywords")
    again = retag(daemon, photo, records=2)
    assert isinstance(again["keywords"], list) and 0 < len(again["keywords"]) <= 2


@pytest.mark.slow
def test_max_keywords_reaches_the_next_vlm_prompt(tmp_path: Path, inbox: Path) -> None:
    with FakeVLM() as fake:
        daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake)).start()
        try:
            photo = inbox / "cat.jpg"
            shutil.copyfile(DATA / "chelsea.jpg", photo)
            daemon.wait_done(1)
            assert "Give at most 25 keywords" in fake.chat_requests[-1].text
            reload_with(daemon, "max_keywords = 2\n", expect="reload applied: max_keywords")
            sent = len(fake.chat_requests)
            again = retag(daemon, photo, records=2)
            prompt = fake.chat_requests[-1].text
            assert len(fake.chat_requests) > sent and "Give at most 2 keywords" in prompt
            assert isinstance(again["keywords"], list) and 0 < len(again["keywords"]) <= 2
            # a tagger that cannot be built (its key file is gone) refuses the whole reload
            missing = tmp_path / "gone.key"
            config = f'max_keywords = 9\n[vlm]\napi_key_file = "{missing}"\n'
            reload_with(daemon, config, expect="reload refused")
            retag(daemon, photo, records=3)
            assert "Give at most 2 keywords" in fake.chat_requests[-1].text
        finally:
            assert daemon.stop() == 0


@pytest.fixture
def filled_log(tmp_path: Path) -> Path:
    """Today's JSONL file, already over 10 kB (a roll at the smallest jsonl_max_bytes)."""
    log = tmp_path / "home" / "state" / "log"
    log.mkdir(parents=True)
    today = log / f"phototag-{datetime.now().astimezone().date().isoformat()}.jsonl"
    today.write_text(
        "".join(json.dumps({"filler": n, "text": "x" * 500}) + "\n" for n in range(30))
    )
    return today


@pytest.mark.slow
def test_jsonl_max_bytes_changes_the_rotation_and_workers_waits_for_a_restart(
    tmp_path: Path, inbox: Path, filled_log: Path
) -> None:
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox]).start()
    try:
        shutil.copyfile(DATA / "chelsea.jpg", inbox / "cat.jpg")
        daemon.wait_done(1)
        assert "cat.jpg" in filled_log.read_text()
        rolled = filled_log.with_name(filled_log.name.replace(".jsonl", ".1.jsonl"))
        assert not rolled.exists()  # the default limit (50 MB) is far away
        reload_with(
            daemon,
            "workers = 5\n[outputs]\njsonl_max_bytes = 10000\n",
            expect="reload applied: outputs.jsonl_max_bytes",
        )
        log = daemon.log_path.read_text()
        assert "reload: workers changed; it takes effect at the next restart" in log
        assert daemon.wait_heartbeats(1)["restart_needed"] == ["workers"]
        assert "restart:   needed to apply workers" in daemon.tagctl("status").stdout
        shutil.copyfile(DATA / "coffee.jpg", inbox / "coffee.jpg")
        daemon.wait_done(2)
        assert "coffee.jpg" in rolled.read_text() and "coffee.jpg" not in filled_log.read_text()
    finally:
        assert daemon.stop() == 0


def test_a_retired_core_finishes_its_job_in_flight(tmp_path: Path, inbox: Path) -> None:
    """A reload swaps the core while a photo waits on the VLM: that photo is still tagged
    (the old tagger closes after it, not under it), and no new job enters the old core."""
    from phototag.config import Settings
    from phototag.domain import FileSig
    from phototag.runtime.core import Core
    from phototag.states import Ending
    from phototag.store.queue import Index

    photo = inbox / "cat.jpg"
    shutil.copyfile(DATA / "chelsea.jpg", photo)
    with FakeVLM() as fake:
        settings = Settings(
            roots=[inbox],
            state_dir=tmp_path / "state",
            backend="openai",
            writer_quiet_s=0,
            local={"with_vlm": False},
            vlm={"base_url": fake.url, "model": "fake-vlm", "max_retries": 0},
        )
        index = Index(settings.index_path)
        core = Core(settings, index=index, on_health=lambda _h: None, on_outcome=lambda *_: None)
        try:
            core.start()
            assert core.circuit.healthy
            index.enqueue(photo, FileSig.of(photo))
            (job,) = index.claim(1)
            fake.script(slow(1.0))
            asked = len(fake.chat_requests)
            assert core.enter()
            outcomes = []
            worker = threading.Thread(target=lambda: outcomes.append(core.process(job)))
            worker.start()
            wait_for(lambda: len(fake.chat_requests) > asked, timeout_s=30, what="the request")
            core.retire()  # the reload's swap, with the request still open
            assert not core.enter()
            worker.join(timeout=30)
            (outcome,) = outcomes
            assert outcome.ending is Ending.DONE and outcome.result is not None
        finally:
            core.close()
            index.close()
