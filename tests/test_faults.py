"""Faults: the state disk fills up, the backend flaps, files vanish or change mid-flight,
and (``test_faults_volume.py``) ten thousand files land at once."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest

from conftest import DATA
from daemon_harness import DaemonProcess, keywords_of, vlm_env, wait_for
from fakevlm import FakeVLM, error
from phototag.store.reader import IndexReader
from test_crash import small_photos


def fill_disk(folder: Path, *, name: str = "filler") -> Path:
    """Write into ``folder`` until its disk is full; returns the filler file (a hidden
    ``name`` in a watched folder: the watcher passes over it)."""
    filler = folder / name
    block = b"\0" * (1 << 16)
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(block)
                fh.flush()
        except OSError:
            pass
    return filler


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_state_disk_full_pauses_and_resumes_losing_nothing(tmp_path: Path) -> None:
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    inbox.mkdir()
    state = home / "state"
    state.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", state], check=True)
    env = {"PHOTOTAG_MIN_FREE_STATE_BYTES": "2000000", "PHOTOTAG_LOG_LEVEL": "INFO"}
    daemon = DaemonProcess(home=home, roots=[inbox], env=env)
    try:
        daemon.start()
        shutil.copyfile(DATA / "chelsea.jpg", inbox / "before.jpg")
        daemon.wait_done(1)
        filler = fill_disk(state)
        for name in ("astronaut.jpg", "coffee.jpg", "rocket.jpg", "motorcycle.jpg"):
            shutil.copyfile(DATA / name, inbox / name)
        wait_for(
            lambda: "almost full" in daemon.log_path.read_text(),
            timeout_s=30,
            what="the disk-full error",
            log=daemon.log_path,
        )
        assert daemon.status()["counts"]["done"] == 1  # paused: nothing half-recorded
        filler.unlink()
        status = daemon.wait_done(5, timeout_s=60)
        assert status["counts"] == {**status["counts"], "done": 5, "failed": 0}
        assert Counter(r["path"] for r in daemon.jsonl()) == Counter(
            str(p) for p in inbox.iterdir()
        )
        log = daemon.log_path.read_text()
        assert log.count("almost full") == 1 and "has room again" in log
        assert "Traceback" not in log
        assert daemon.stop() == 0
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill()
        subprocess.run(["umount", "-l", state], check=False)


@pytest.mark.slow
def test_flapping_backend_ends_with_every_photo_tagged_once(tmp_path: Path) -> None:
    inbox, staging = tmp_path / "inbox", tmp_path / "staging"
    inbox.mkdir()
    staging.mkdir()
    small_photos(staging, 30, seed=9)
    stop = threading.Event()
    with FakeVLM() as fake:
        fake.latency_s = 0.05

        def flap() -> None:  # down half the time
            while not stop.wait(0.7):
                fake.fail_all = None if fake.fail_all else error(503, "flapping")

        daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake)).start()
        flapper = threading.Thread(target=flap)
        flapper.start()
        try:
            for photo in sorted(staging.iterdir()):
                shutil.move(photo, inbox / photo.name)
            status = daemon.wait_done(30, timeout_s=180)
            assert status["counts"]["done"] == 30 and status["counts"]["failed"] == 0
            lines = Counter(r["path"] for r in daemon.jsonl())
            assert len(lines) == 30 and set(lines.values()) == {1}
            keywords = keywords_of(inbox / "img_0000.jpg")
            assert keywords and len(keywords) == len(set(keywords))
        finally:
            stop.set()
            flapper.join()
            assert daemon.stop() == 0


@pytest.mark.slow
def test_files_deleted_or_replaced_mid_flight_cause_no_error_storm(tmp_path: Path) -> None:
    inbox, staging, spare = tmp_path / "inbox", tmp_path / "staging", tmp_path / "spare"
    for folder in (inbox, staging, spare):
        folder.mkdir()
    small_photos(staging, 40, seed=21)
    small_photos(spare, 40, seed=22)
    with FakeVLM() as fake:
        fake.latency_s = 0.4
        env = vlm_env(fake, PHOTOTAG_VLM__MAX_INFLIGHT="2", PHOTOTAG_LOG_LEVEL="INFO")
        daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env).start()
        try:
            names = sorted(p.name for p in staging.iterdir())
            for name in names:
                shutil.move(staging / name, inbox / name)
            reader = IndexReader.open(daemon.state / "index.sqlite3")
            wait_for(
                lambda: reader.counts()["processing"] >= 1 and reader.counts()["queued"] >= 20,
                timeout_s=30,
                what="photos queued and in flight",
            )
            deleted, replaced = names[::4], names[1::4]  # queued ones and ones in flight
            for name in deleted:
                (inbox / name).unlink()
            for name in replaced:
                os.replace(spare / name, inbox / name)
            kept = [n for n in names if n not in deleted]
            daemon.wait_done(len(kept), timeout_s=120)
            wait_for(
                lambda: all(reader.get(inbox / n).status == "deleted" for n in deleted),
                timeout_s=30,
                what="the deletions to be recorded",
            )
            for name in kept:
                record = reader.get(inbox / name)
                assert record.status == "done", record
            for name in replaced:  # tagged with what is there now
                done = [r for r in daemon.jsonl() if r["path"] == str(inbox / name) and r["sha256"]]
                current = hashlib.sha256((inbox / name).read_bytes()).hexdigest()
                assert reader.get(inbox / name).out_sha256 == current
                assert done and done[-1]["status"] == "done"
            log = daemon.log_path.read_text()
            noisy = [line for line in log.splitlines() if " ERROR " in line or " WARNING " in line]
            assert len(noisy) <= 2, noisy
            assert reader.counts()["failed"] == 0
        finally:
            assert daemon.stop() == 0
