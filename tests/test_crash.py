"""Crash safety: SIGKILL at random moments while photos arrive and are tagged, 20 rounds.

Afterwards every photo is tagged exactly once (no duplicate keywords), decodes to the same
pixels, no temporary file is left, and the index, the JSONL and the files agree.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import as_list, exiftool
from daemon_harness import DaemonProcess, vlm_env
from fakevlm import FakeVLM
from phototag.metadata.write import TEMP_PREFIX
from phototag.store.reader import IndexReader

PHOTOS = 300
ROUNDS = 20


def small_photos(
    folder: Path, count: int, *, seed: int, pixels_kept: bool = True
) -> dict[str, bytes]:
    """Distinct small JPEGs; returns name -> decoded pixels (empty unless ``pixels_kept``)."""
    rng = random.Random(seed)
    pixels = {}
    for i in range(count):
        image = Image.new("RGB", (160, 120), tuple(rng.randrange(256) for _ in range(3)))
        for _ in range(6):
            x, y = rng.randrange(140), rng.randrange(100)
            image.paste(tuple(rng.randrange(256) for _ in range(3)), (x, y, x + 20, y + 20))
        name = f"img_{i:04d}.jpg"
        image.save(folder / name, quality=85)
        if pixels_kept:
            with Image.open(folder / name) as saved:
                pixels[name] = saved.tobytes()
    return pixels


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_tags_each_once(tmp_path: Path) -> None:
    staging, inbox = tmp_path / "staging", tmp_path / "inbox"
    staging.mkdir()
    inbox.mkdir()
    originals = small_photos(staging, PHOTOS, seed=3)
    names = sorted(originals)
    with FakeVLM() as fake:
        rng = random.Random(11)
        # A model server that answers each photo with keywords, so that a duplicate would
        # show on all 300 (the embedded classifier gave 134 of them none), and whose latency
        # keeps each round's photos in flight when the kill comes. The classifier's
        # inference (~75 ms of CPU a photo, 0.4 s a start) is nothing a kill can leave half
        # done; the writes and commits a kill interrupts are the same whatever the tagger.
        fake.latency_s = 0.2
        daemon = DaemonProcess(
            home=tmp_path / "home",
            roots=[inbox],
            # random kills hit the same first jobs of a start again and again: they are
            # not photos that crash the tagger, which max_attempts (test_faults_files) is for
            env=vlm_env(
                fake,
                PHOTOTAG_LOG_LEVEL="INFO",
                PHOTOTAG_LOCAL__PLACES="false",
                PHOTOTAG_MAX_ATTEMPTS=str(ROUNDS + 1),
            ),
        ).start()
        per_round = -(-PHOTOS // ROUNDS)
        for round_ in range(ROUNDS):
            for name in names[round_ * per_round : (round_ + 1) * per_round]:
                shutil.move(staging / name, inbox / name)  # a camera import, in batches
            time.sleep(rng.uniform(0.1, 1.5))
            daemon.kill()
            daemon.start()
        try:
            status = daemon.wait_done(PHOTOS, timeout_s=240)
            assert status["counts"]["done"] == PHOTOS and status["counts"]["failed"] == 0
            paths = [inbox / name for name in names]

            assert not [p for p in inbox.rglob("*") if p.name.startswith(TEMP_PREFIX)]
            for path in paths:
                with Image.open(path) as image:
                    assert image.tobytes() == originals[path.name], path

            reader = IndexReader.open(daemon.state / "index.sqlite3")
            records = {path: reader.get(path) for path in paths}
            lines: dict[str, list[dict]] = {}
            for line in daemon.jsonl():
                lines.setdefault(line["path"], []).append(line)
            metas = exiftool(*paths, args=("-XMP-dc:Subject", "-IPTC:Keywords"))
            for path, meta in zip(paths, metas, strict=True):
                record = records[path]
                assert record.status == "done"
                assert hashlib.sha256(path.read_bytes()).hexdigest() == record.out_sha256
                keywords = [str(k) for k in as_list(meta.get("Subject"))]
                assert keywords and len(keywords) == len(set(keywords)), (path, keywords)
                assert sorted(keywords) == sorted(record.result["keywords"])
                done = [line for line in lines[str(path)] if line["status"] == "done"]
                # a kill between the JSONL line and the index commit redoes a job: same tags again
                assert done and all(line["keywords"] == done[-1]["keywords"] for line in done)
                assert sorted(done[-1]["keywords"]) == sorted(keywords)
                assert done[-1]["sha256"] == record.sha256
            assert len(lines) == PHOTOS
        finally:
            assert daemon.stop() == 0
