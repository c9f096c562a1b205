"""Dry-run and no-metadata modes: tagged and recorded, nothing written into any photo;
a dry-run result never counts as done once the daemon writes again."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image

from batch_support import Batch, backdate, reasons, snapshot, vlm_env
from conftest import DATA, exiftool
from fakevlm import FakeVLM
from phototag.processing.reuse import Reuse
from phototag.store.reader import IndexReader

pillow_heif.register_heif_opener()


PHOTOS = ("cat.jpg", "camera.png", "2024/coffee.jpg", "phone.heic", "2024/old.heic")


def exiftool_write(sidecar: Path, *assignments: str) -> Path:
    """A person's own XMP sidecar, as exiftool writes one."""
    subprocess.run(["exiftool", "-q", "-o", str(sidecar), *assignments], check=True)
    return sidecar


@pytest.fixture
def fake() -> Iterator[FakeVLM]:
    with FakeVLM() as server:
        yield server


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    (folder / "2024").mkdir(parents=True)
    shutil.copyfile(DATA / "chelsea.jpg", folder / "cat.jpg")
    shutil.copyfile(DATA / "camera.png", folder / "camera.png")
    shutil.copyfile(DATA / "coffee.jpg", folder / "2024" / "coffee.jpg")
    (folder / "2024" / "coffee.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>\n")
    small = Image.open(DATA / "chelsea.jpg").reduce(4)
    small.save(folder / "phone.heic", format="HEIF")  # tags go to a sidecar
    small.save(folder / "2024" / "old.heic", format="HEIF")
    sidecar = exiftool_write(folder / "2024" / "old.heic.xmp", "-XMP-dc:Subject=granny")
    assert sidecar.exists()
    backdate(*folder.rglob("*.*"))
    return folder


@pytest.mark.slow
def test_dry_run_writes_nothing_and_is_redone_for_real(
    tmp_path: Path, fake: FakeVLM, inbox: Path
) -> None:
    batch = Batch(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake))
    before = snapshot(inbox)

    dry = batch.once("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "5 tagged, 0 failed" in dry.stdout
    assert snapshot(inbox) == before  # every photo and sidecar byte for byte, nothing added
    records = batch.jsonl()
    assert sorted(r["path"] for r in records) == sorted(str(inbox / p) for p in PHOTOS)
    for record in records:
        assert record["status"] == "done" and record["dry_run"] is True
        assert record["metadata"]["written"] is False
        assert record["title"] == "A tabby cat"  # tagged all the same
    reader = IndexReader.open(batch.state / "index.sqlite3")
    assert all(reader.get(inbox / p).dry_run for p in PHOTOS)
    reader.close()
    scan = reasons(batch.scan())
    assert {scan[str(inbox / p)] for p in PHOTOS} == {("process", Reuse.APPLY.value)}

    real = batch.once()
    assert real.returncode == 0, real.stderr
    assert "5 tagged, 0 failed" in real.stdout
    written = [inbox / p for p in PHOTOS if p.endswith(("jpg", "png"))]
    sidecars = [inbox / "phone.heic.xmp", inbox / "2024" / "old.heic.xmp"]
    for meta in exiftool(*written, *sidecars, args=("-XMP-dc:Subject",)):
        assert "tabby" in meta["Subject"], meta
    assert "granny" in exiftool(sidecars[1], args=("-XMP-dc:Subject",))[0]["Subject"]
    fresh = [r for r in batch.jsonl() if not r["dry_run"]]
    assert len(fresh) == 5 and all(r["metadata"]["written"] for r in fresh)
    assert {reasons(batch.scan())[str(inbox / p)] for p in PHOTOS} == {("skip", "already done")}

    again = batch.once()
    assert again.returncode == 0 and "0 tagged, 0 failed" in again.stdout
    assert len(batch.jsonl()) == 10


@pytest.mark.slow
def test_no_metadata_setting_is_jsonl_only_for_good(
    tmp_path: Path, fake: FakeVLM, inbox: Path
) -> None:
    env = vlm_env(fake, PHOTOTAG_METADATA__WRITE="false")
    batch = Batch(home=tmp_path / "home", roots=[inbox], env=env)
    before = snapshot(inbox)
    first = batch.once()
    assert first.returncode == 0 and "5 tagged" in first.stdout, first.stderr
    assert snapshot(inbox) == before
    records = batch.jsonl()
    assert len(records) == 5
    assert all(r["dry_run"] and not r["metadata"]["written"] for r in records)
    # still JSONL-only: what was recorded counts as done, nothing is tagged twice
    assert {a for a, _ in reasons(batch.scan()).values()} == {"skip"}
    second = batch.once()
    assert "0 tagged" in second.stdout and len(batch.jsonl()) == 5
    assert snapshot(inbox) == before
