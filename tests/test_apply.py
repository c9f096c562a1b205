"""Apply what a dry run found: the stored results are written, the tagger is not asked
again, unless a photo's file, backend, model or prompt changed since (issue 17 point 1)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from batch_support import Batch, backdate, reasons, vlm_env
from conftest import DATA, exiftool
from fakevlm import FakeVLM, Recorded
from phototag.processing.reuse import Identity, Reuse, dry_run_reuse
from phototag.store.records import FileRecord

COUNT = 20


def image_requests(fake: FakeVLM) -> list[Recorded]:
    """Chat requests that sent a photo (the preflight's colour probe sends a swatch)."""
    return [r for r in fake.chat_requests if r.images and "colour" not in r.text.lower()]


@pytest.fixture
def fake() -> Iterator[FakeVLM]:
    with FakeVLM() as server:
        yield server


@pytest.fixture
def twenty(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for i in range(COUNT):
        shutil.copyfile(DATA / "chelsea.jpg", folder / f"cat{i:02}.jpg")
        with (folder / f"cat{i:02}.jpg").open("ab") as fh:
            fh.write(b"%d" % i)  # bytes differ: no photo is a copy of another
    backdate(*folder.iterdir())
    return folder


@pytest.mark.slow
def test_dry_run_then_apply_pays_once(tmp_path: Path, fake: FakeVLM, twenty: Path) -> None:
    batch = Batch(home=tmp_path / "home", roots=[twenty], env=vlm_env(fake))
    dry = batch.once("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert len(image_requests(fake)) == COUNT
    found = reasons(batch.scan())
    assert set(found.values()) == {("process", Reuse.APPLY.value)}

    applied = batch.tagctl("apply")
    assert applied.returncode == 0, applied.stderr
    assert f"{COUNT} dry-run result(s) to write" in applied.stderr
    assert f"{COUNT} tagged, 0 failed" in applied.stdout
    assert len(image_requests(fake)) == COUNT  # 20 photos, 20 image requests in all
    for meta in exiftool(*sorted(twenty.iterdir()), args=("-XMP-dc:Subject",)):
        assert "tabby" in meta["Subject"], meta
    written = [r for r in batch.jsonl() if not r["dry_run"]]
    assert len(written) == COUNT
    assert all("result of its dry run written: tagger not called" in r["notes"] for r in written)
    assert set(reasons(batch.scan()).values()) == {("skip", "already done")}


@pytest.mark.slow
def test_changed_inputs_are_tagged_again_and_scan_says_why(
    tmp_path: Path, fake: FakeVLM, twenty: Path
) -> None:
    batch = Batch(home=tmp_path / "home", roots=[twenty], env=vlm_env(fake))
    assert batch.once("--dry-run").returncode == 0
    edited = twenty / "cat00.jpg"
    with edited.open("ab") as fh:
        fh.write(b"edited")
    backdate(edited)

    found = reasons(batch.scan())
    assert found[str(edited)] == ("process", Reuse.FILE_CHANGED.value)
    assert found[str(twenty / "cat01.jpg")] == ("process", Reuse.APPLY.value)
    batch.env = {**batch.env, "PHOTOTAG_VLM__MODEL": "another-vlm"}
    found = reasons(batch.scan())
    assert found[str(twenty / "cat01.jpg")] == ("process", Reuse.MODEL_CHANGED.value)
    batch.env = {**batch.env, "PHOTOTAG_VLM__MODEL": "fake-vlm", "PHOTOTAG_VLM__PROFILE": "stock"}
    found = reasons(batch.scan())
    assert found[str(twenty / "cat01.jpg")] == ("process", Reuse.PROMPT_CHANGED.value)

    batch.env = {**batch.env, "PHOTOTAG_VLM__PROFILE": "default"}
    fake.clear()
    applied = batch.tagctl("apply", str(twenty / "cat00.jpg"), str(twenty / "cat01.jpg"))
    assert applied.returncode == 0, applied.stderr
    assert "2 tagged, 0 failed" in applied.stdout
    assert len(image_requests(fake)) == 1  # only the edited photo is tagged again
    left = reasons(batch.scan())
    assert left[str(twenty / "cat02.jpg")] == ("process", Reuse.APPLY.value)
    assert left[str(edited)] == ("skip", "already done")


@pytest.mark.slow
def test_first_run_after_write_false_is_turned_off_reuses_the_results(
    tmp_path: Path, fake: FakeVLM, twenty: Path
) -> None:
    off = vlm_env(fake, PHOTOTAG_METADATA__WRITE="false")
    batch = Batch(home=tmp_path / "home", roots=[twenty], env=off)
    assert batch.once().returncode == 0
    assert len(image_requests(fake)) == COUNT
    batch.env = {k: v for k, v in batch.env.items() if k != "PHOTOTAG_METADATA__WRITE"}
    real = batch.once()
    assert real.returncode == 0, real.stderr
    assert f"{COUNT} tagged, 0 failed" in real.stdout
    assert len(image_requests(fake)) == COUNT
    for meta in exiftool(*sorted(twenty.iterdir()), args=("-XMP-dc:Subject",)):
        assert "tabby" in meta["Subject"], meta


def record(**overrides: object) -> FileRecord:
    values: dict[str, object] = {
        "id": 1,
        "path": Path("/p/a.jpg"),
        "size": 1,
        "mtime_ns": 1,
        "sha256": "aa",
        "out_sha256": "aa",
        "status": "done",
        "attempts": 1,
        "last_error": None,
        "result": {"sha256": "aa", "fallback": False, "title": "t"},
        "backend": "openai",
        "model": "m",
        "prompt_digest": "d",
        "fallback": False,
        "dry_run": True,
        "queued_at": None,
        "started_at": None,
        "finished_at": None,
        "updated_at": 0.0,
    }
    return FileRecord(**{**values, **overrides})  # type: ignore[arg-type]


NOW = Identity(backend="openai", model="m", prompt_digest="d")


@pytest.mark.parametrize(
    ("changes", "sha256", "now", "verdict"),
    [
        ({}, "aa", NOW, Reuse.APPLY),
        ({}, None, NOW, Reuse.APPLY),  # tagctl scan: size and mtime unchanged
        ({}, "bb", NOW, Reuse.FILE_CHANGED),
        # a failed re-tag after the dry run moved the row's hash on, not the result's
        ({"sha256": "bb"}, "bb", NOW, Reuse.FILE_CHANGED),
        ({"fallback": True}, "aa", NOW, Reuse.FALLBACK),
        ({"result": {"sha256": "aa", "fallback": True}}, "aa", NOW, Reuse.FALLBACK),
        ({}, "aa", Identity(backend="local", model="m", prompt_digest=""), Reuse.BACKEND_CHANGED),
        ({}, "aa", Identity(backend="openai", model="n", prompt_digest="d"), Reuse.MODEL_CHANGED),
        ({}, "aa", Identity(backend="openai", model=None, prompt_digest="d"), Reuse.APPLY),
        ({}, "aa", Identity(backend="openai", model="m", prompt_digest=""), Reuse.PROMPT_CHANGED),
        ({"dry_run": False}, "aa", NOW, None),
        ({"result": None}, "aa", NOW, None),
    ],
)
def test_dry_run_reuse_verdicts(
    changes: dict[str, object], sha256: str | None, now: Identity, verdict: Reuse | None
) -> None:
    assert dry_run_reuse(record(**changes), sha256=sha256, now=now) == verdict


@pytest.mark.slow
def test_a_dry_run_with_a_model_per_field_is_applied_too(
    tmp_path: Path, fake: FakeVLM, twenty: Path
) -> None:
    with FakeVLM(models=("big-vlm",)) as other:
        env = vlm_env(
            fake,
            PHOTOTAG_VLM__DESCRIPTION__BASE_URL=other.url,
            PHOTOTAG_VLM__DESCRIPTION__MODEL="big-vlm",
        )
        batch = Batch(home=tmp_path / "home", roots=[twenty], env=env)
        assert batch.once("--dry-run").returncode == 0
        assert len(image_requests(fake)) == len(image_requests(other)) == COUNT
        assert set(reasons(batch.scan()).values()) == {("process", Reuse.APPLY.value)}
        applied = batch.tagctl("apply")
        assert applied.returncode == 0 and f"{COUNT} tagged" in applied.stdout, applied.stderr
        assert len(image_requests(fake)) == len(image_requests(other)) == COUNT
