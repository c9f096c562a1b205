"""tagctl scan: what would be tagged and why the rest is skipped, tagging nothing."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from batch_support import Batch, backdate, reasons, snapshot, vlm_env
from conftest import DATA
from fakevlm import FakeVLM


@pytest.fixture
def fake() -> Iterator[FakeVLM]:
    with FakeVLM() as server:
        yield server


@pytest.mark.slow
def test_scan_lists_what_would_be_tagged_and_why_not(tmp_path: Path, fake: FakeVLM) -> None:
    inbox = tmp_path / "inbox"
    (inbox / ".cache").mkdir(parents=True)
    (inbox / "trip").mkdir()
    for name in ("done.jpg", "changed.jpg", "trip/skip-me.jpg", ".cache/thumb.jpg"):
        shutil.copyfile(DATA / "chelsea.jpg", inbox / name)
    shutil.copyfile(DATA / "coffee.jpg", inbox / "changed.jpg")
    (inbox / "failed.jpg").write_bytes(b"this is not a photo\n")
    backdate(*inbox.rglob("*.jpg"))
    env = vlm_env(fake, PHOTOTAG_EXCLUDE='["skip-*"]')
    batch = Batch(home=tmp_path / "home", roots=[inbox], env=env)

    never_ran = reasons(batch.scan())  # no index yet: every photo is new
    assert never_ran[str(inbox / "done.jpg")] == ("process", "new")

    first = batch.once()
    assert first.returncode == 1 and "2 tagged, 1 failed" in first.stdout, first.stderr
    shutil.copyfile(DATA / "rocket.jpg", inbox / "new.jpg")
    os.utime(inbox / "changed.jpg", ns=(0, 1_000_000_000))
    (inbox / "notes.txt").write_text("shopping list")
    shutil.copyfile(DATA / "rocket.jpg", inbox / ".hidden.jpg")
    shutil.copyfile(DATA / "rocket.jpg", inbox / "big.jpg.part")
    files_before, lines_before = snapshot(inbox), len(batch.jsonl())

    elsewhere = tmp_path / "elsewhere"
    result = batch.scan(inbox, elsewhere)
    found = reasons(result)
    expected = {
        "new.jpg": ("process", "new"),
        "changed.jpg": ("process", "changed since it was last seen"),
        "done.jpg": ("skip", "already done"),
        "failed.jpg": ("skip", "failed before and unchanged (tagctl retry)"),
        "notes.txt": ("skip", "extension not handled"),
        "trip/skip-me.jpg": ("skip", "excluded by a glob"),
        ".hidden.jpg": ("skip", "hidden file"),
        "big.jpg.part": ("skip", "temporary name (download or copy in progress)"),
        ".cache": ("skip", "hidden folder"),
    }
    assert found == {
        **{str(inbox / name): verdict for name, verdict in expected.items()},
        str(elsewhere): ("skip", "outside the roots"),
    }
    totals = result["totals"]
    assert (totals["process"], totals["skip"]) == (2, 8)
    assert totals["reasons"]["skip"]["outside the roots"] == 1

    text = batch.tagctl("scan").stdout
    assert f"process  {inbox / 'new.jpg'}  (new)" in text
    assert "2 to process, 7 skipped" in text and "1 excluded by a glob" in text

    assert snapshot(inbox) == files_before  # nothing tagged, nothing written
    assert len(batch.jsonl()) == lines_before
    assert batch.status()["queue_depth"] == 0
