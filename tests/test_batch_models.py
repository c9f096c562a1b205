"""Per-field models, the overwrite policy, and what each JSONL record says produced it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from batch_support import Batch, backdate, snapshot, vlm_env
from conftest import DATA, exiftool
from fakevlm import FakeVLM, Recorded, tags_json
from phototag import __version__
from phototag.config import load_settings
from phototag.store.queue import Index
from phototag.taggers import make_tagger

DESCRIPTION = "A long, careful description from the large model."


def tagging(requests: list[Recorded]) -> list[Recorded]:
    """Requests that tag a photo (not the preflight's probes)."""
    return [r for r in requests if r.images and "What colour is this image" not in r.text]


@pytest.fixture
def main() -> Iterator[FakeVLM]:
    with FakeVLM(models=("fake-vlm:latest",)) as server:  # Ollama names "fake-vlm" so
        yield server


@pytest.fixture
def other() -> Iterator[FakeVLM]:
    server = FakeVLM(models=("big-vlm", "small-vlm"))

    def answer(request: Recorded) -> str:
        said = server.default_answer(request)
        if said != tags_json():
            return said  # a preflight probe
        if (request.body or {}).get("model") == "big-vlm":
            return tags_json(title="Not used", description=DESCRIPTION)
        return tags_json(title="Not used", keywords=["kitten", "whiskers"])

    server.answerer = answer
    with server:
        yield server


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copyfile(DATA / "chelsea.jpg", folder / "cat.jpg")
    shutil.copyfile(DATA / "coffee.jpg", folder / "coffee.jpg")
    backdate(folder / "cat.jpg", folder / "coffee.jpg")
    return folder


@pytest.mark.slow
def test_description_and_keywords_from_other_models(
    tmp_path: Path, main: FakeVLM, other: FakeVLM, inbox: Path
) -> None:
    env = vlm_env(
        main,
        PHOTOTAG_VLM__DESCRIPTION__BASE_URL=other.url,
        PHOTOTAG_VLM__DESCRIPTION__MODEL="big-vlm",
        PHOTOTAG_VLM__KEYWORDS__BASE_URL=other.url,
        PHOTOTAG_VLM__KEYWORDS__MODEL="small-vlm",
        PHOTOTAG_VLM__KEYWORDS__PROFILE="stock",
    )
    batch = Batch(home=tmp_path / "home", roots=[inbox], env=env)
    run = batch.once()
    assert run.returncode == 0 and "2 tagged, 0 failed" in run.stdout, run.stderr
    photos = (inbox / "cat.jpg", inbox / "coffee.jpg")
    for meta in exiftool(*photos, args=("-XMP-dc:all", "-XMP-iptcCore:all")):
        assert meta["Title"] == "A tabby cat"  # the main model's
        assert meta["Description"] == "A tabby cat looks at the camera."  # its caption
        assert meta["ExtDescrAccessibility"] == DESCRIPTION
        assert {"kitten", "whisker"} <= set(meta["Subject"]) and "tabby" not in meta["Subject"]
    # each model preflighted, and one tagging request per photo per model
    assert len(tagging(main.requests)) == 2
    for model in ("big-vlm", "small-vlm"):
        asked = [r for r in tagging(other.requests) if r.body["model"] == model]
        assert len(asked) == 2
    assert sum(r.path.endswith("/models") for r in other.requests) >= 2
    (record, _) = batch.jsonl()
    assert record["model"] == "fake-vlm:latest; description: big-vlm; keywords: small-vlm"
    assert record["profile"] == "default; keywords: stock"
    assert re.fullmatch(r"[0-9a-f]{64}", record["prompt_digest"])


@pytest.mark.slow
def test_retag_stale_finds_nothing_stale_after_a_run_with_field_models(
    tmp_path: Path,
    main: FakeVLM,
    other: FakeVLM,
    inbox: Path,
    xdg: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The per-field tagger names the digest its results record, so ``retag --stale``
    (which asks the tagger) re-queues none of the photos it has just tagged."""
    parts = {
        "PHOTOTAG_VLM__KEYWORDS__BASE_URL": other.url,
        "PHOTOTAG_VLM__KEYWORDS__MODEL": "small-vlm",
        "PHOTOTAG_VLM__KEYWORDS__PROFILE": "stock",
    }
    batch = Batch(home=tmp_path / "home", roots=[inbox], env=vlm_env(main, **parts))
    run = batch.once()
    assert run.returncode == 0 and "2 tagged, 0 failed" in run.stdout, run.stderr
    for name, value in batch.env.items():  # the same settings, in this process
        if name.startswith("PHOTOTAG_"):
            monkeypatch.setenv(name, value)
    tagger = make_tagger(load_settings())
    try:
        assert tagger.preflight().ok
        index = Index(batch.state / "index.sqlite3")
        try:
            stale = index.requeue_stale(
                backend=tagger.name, model=tagger.model, prompt_digest=tagger.prompt_digest
            )
        finally:
            index.close()
    finally:
        tagger.close()
    assert stale == 0


def test_once_stops_when_a_field_model_is_missing(
    tmp_path: Path, main: FakeVLM, other: FakeVLM, inbox: Path
) -> None:
    env = vlm_env(
        main,
        PHOTOTAG_VLM__DESCRIPTION__BASE_URL=other.url,
        PHOTOTAG_VLM__DESCRIPTION__MODEL="no-such-model",
    )
    batch = Batch(home=tmp_path / "home", roots=[inbox], env=env)
    before = snapshot(inbox)
    run = batch.once(timeout_s=60)
    assert run.returncode == 1
    assert "0 tagged, 0 failed" in run.stdout
    assert "description model: model 'no-such-model' is not served" in run.stdout
    assert "big-vlm" in run.stdout  # names what the server does serve
    assert snapshot(inbox) == before and not tagging(main.requests)
    assert batch.status()["queue_depth"] == 2  # nothing lost: the next run takes them


@pytest.mark.slow
def test_overwrite_is_a_one_off_and_the_default_keeps_a_persons_title(
    tmp_path: Path, main: FakeVLM, inbox: Path
) -> None:
    photo = inbox / "cat.jpg"
    subprocess.run(
        [
            "exiftool",
            "-q",
            "-overwrite_original",
            "-XMP-dc:Title=Grandma's cat",
            "-IPTC:ObjectName=Grandma's cat",
            "-XMP-dc:Description=Written by me",
            str(photo),
        ],
        check=True,
    )
    backdate(photo)
    env = vlm_env(main, PHOTOTAG_VLM__PROFILE="stock")
    batch = Batch(home=tmp_path / "home", roots=[inbox], env=env)

    run = batch.once()
    assert run.returncode == 0, run.stderr
    (meta,) = exiftool(photo, args=("-XMP-dc:all", "-IPTC:ObjectName"))
    assert meta["Title"] == "Grandma's cat" and meta["ObjectName"] == "Grandma's cat"
    assert meta["Description"] == "Written by me"
    assert "tabby" in meta["Subject"]  # keywords are added all the same
    (record,) = batch.records_for(photo)
    assert record["version"] == __version__ and record["backend"] == "openai"
    assert record["model"] == "fake-vlm:latest"  # the id the server reports
    assert record["profile"] == "stock" and len(record["prompt_digest"]) == 64

    printed = subprocess.run(
        [sys.executable, "-m", "phototag.cli.phototagd", "--overwrite", "--print-config"],
        env=batch.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(printed.stdout)["metadata"]["overwrite"] == "replace"

    retag = batch.tagctl("backfill", "--retag", "--overwrite", str(photo))
    assert retag.returncode == 0 and "1 tagged, 0 failed" in retag.stdout, retag.stderr
    (meta,) = exiftool(photo, args=("-XMP-dc:all", "-IPTC:ObjectName"))
    assert meta["Title"] == "A tabby cat" and meta["ObjectName"] == "A tabby cat"
    assert meta["Description"] == "A tabby cat looks at the camera."
    assert len(batch.records_for(inbox / "coffee.jpg")) == 1  # only the named photo
