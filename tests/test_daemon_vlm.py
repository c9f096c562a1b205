"""The real daemon against a real OpenAI-compatible HTTP server on 127.0.0.1."""

from __future__ import annotations

import random
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from conftest import DATA, exiftool
from daemon_harness import DaemonProcess, vlm_env, wait_for
from fakevlm import FakeVLM


def make_photos(folder: Path, count: int, *, seed: int = 7) -> list[Path]:
    """Distinct real JPEGs (different pixels, so no two share a hash)."""
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        image = Image.new("RGB", (640, 480), tuple(rng.randrange(256) for _ in range(3)))
        for _ in range(12):
            x, y = rng.randrange(600), rng.randrange(440)
            image.paste(tuple(rng.randrange(256) for _ in range(3)), (x, y, x + 40, y + 40))
        path = folder / f"img_{i:04d}.jpg"
        image.save(path, quality=85)
        paths.append(path)
    return paths


@pytest.fixture
def fake() -> FakeVLM:
    server = FakeVLM().start()
    yield server
    server.stop()


@pytest.mark.slow
def test_vlm_tags_land_in_the_files(tmp_path: Path, fake: FakeVLM) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake)).start()
    try:
        fake.clear()
        for name in ("chelsea.jpg", "coffee.jpg"):
            shutil.copyfile(DATA / name, inbox / name)
        daemon.wait_done(2)
        sent = [r for r in fake.chat_requests if r.images]
        assert len(sent) == 2  # one request per image
        for request in sent:
            (image,) = request.images
            assert image.mime == "image/jpeg" and image.format == "JPEG"
            assert max(image.size) <= 1024
        for meta in exiftool(inbox / "chelsea.jpg", inbox / "coffee.jpg"):
            assert "tabby" in meta["XMP-dc:Subject"] and meta["XMP-dc:Title"] == "A tabby cat"
        records = daemon.jsonl()
        assert {r["backend"] for r in records} == {"openai"}
        assert {r["model"] for r in records} == {"fake-vlm"}
        assert all(r["prompt_digest"] for r in records)
    finally:
        assert daemon.stop() == 0


@pytest.mark.slow
@pytest.mark.parametrize("outage_s", [3, pytest.param(30, marks=pytest.mark.slow)])
def test_outage_mid_run_loses_nothing_and_tags_each_once(
    tmp_path: Path, fake: FakeVLM, outage_s: float
) -> None:
    inbox = tmp_path / "inbox"
    staging = tmp_path / "staging"
    inbox.mkdir()
    staging.mkdir()
    photos = make_photos(staging, 100)
    fake.latency_s = 0.05
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake)).start()
    try:
        for photo in photos:
            shutil.move(photo, inbox / photo.name)
        wait_for(
            lambda: daemon.status().get("counts", {}).get("done", 0) >= 20,
            timeout_s=60,
            what="20 photos tagged",
            log=daemon.log_path,
        )
        fake.stop()
        unhealthy = wait_for(
            lambda: (s := daemon.status()) and not (s.get("health") or {}).get("ok", True) and s,
            timeout_s=60,
            what="the circuit to open",
            log=daemon.log_path,
        )
        assert "unhealthy since" in unhealthy["health"]["description"]
        time.sleep(outage_s)
        during = daemon.status()
        assert during["counts"]["failed"] == 0 and during["counts"]["done"] < 100
        fake.start()  # same port
        status = daemon.wait_done(100, timeout_s=120)
        assert status["counts"]["done"] == 100 and status["counts"]["failed"] == 0
        assert status["health"]["ok"] is True
        lines = Counter(r["path"] for r in daemon.jsonl())
        assert len(lines) == 100 and set(lines.values()) == {1}
        for meta in exiftool(*(inbox / p.name for p in photos), args=("-XMP-dc:Subject",)):
            keywords = meta["Subject"]
            assert len(keywords) == len(set(keywords)) and "cat" in keywords
    finally:
        assert daemon.stop() == 0


@pytest.mark.slow
def test_missing_model_pauses_with_one_clear_message(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with FakeVLM(models=("llava:latest", "qwen2.5vl:7b")) as fake:
        daemon = DaemonProcess(
            home=tmp_path / "home",
            roots=[inbox],
            env=vlm_env(fake, PHOTOTAG_VLM__MODEL="no-such-model"),
        ).start()
        try:
            shutil.copyfile(DATA / "chelsea.jpg", inbox / "cat.jpg")
            status = wait_for(
                lambda: (s := daemon.status())["queue_depth"] == 1 and s,
                timeout_s=30,
                what="the photo to wait in the queue",
            )
            daemon.wait_heartbeats(2)  # the loop went round with the photo waiting
            status = daemon.status()
            assert status["queue_depth"] == 1 and status["counts"]["failed"] == 0
            reason = status["health"]["reason"]
            assert "no-such-model" in reason and "qwen2.5vl:7b" in reason
            assert daemon.tagctl("status").returncode == 1
        finally:
            assert daemon.stop() == 0


@pytest.mark.slow
def test_local_fallback_while_the_vlm_is_down_then_retag_by_the_vlm(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    fake = FakeVLM().start()
    fake.stop()  # down from the start: the embedded tagger stands in
    env = vlm_env(fake, PHOTOTAG_LOCAL__FALLBACK="true")
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env).start()
    try:
        shutil.copyfile(DATA / "chelsea.jpg", inbox / "cat.jpg")
        daemon.wait_done(1)
        (first,) = daemon.jsonl()
        assert first["fallback"] is True and first["backend"] == "local"
        fake.start()  # same port: the next preflight passes and the photo is redone
        wait_for(
            lambda: len(daemon.jsonl()) == 2,
            timeout_s=60,
            what="the VLM re-tag",
            log=daemon.log_path,
        )
        second = daemon.jsonl()[-1]
        assert second["backend"] == "openai" and second["fallback"] is False
        (meta,) = exiftool(inbox / "cat.jpg", args=("-XMP-dc:Subject",))
        assert "tabby" in meta["Subject"] and len(meta["Subject"]) == len(set(meta["Subject"]))
    finally:
        assert daemon.stop() == 0
        fake.stop()
