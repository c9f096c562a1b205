"""Run history across restarts and the summary's list of this run's photos (issue 17
point 7)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from batch_support import Batch, backdate, vlm_env
from conftest import DATA
from fakevlm import FakeVLM
from phototag.reporting.history import render_runs, run_entry


@pytest.fixture
def fake() -> Iterator[FakeVLM]:
    with FakeVLM() as server:
        yield server


def add_photos(folder: Path, *names: str) -> None:
    for name in names:
        shutil.copyfile(DATA / "chelsea.jpg", folder / name)
        with (folder / name).open("ab") as fh:
            fh.write(name.encode())
        backdate(folder / name)


@pytest.mark.slow
def test_each_run_is_one_entry_that_survives_restarts(tmp_path: Path, fake: FakeVLM) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    add_photos(inbox, "a.jpg", "b.jpg", "c.jpg")
    batch = Batch(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake))
    assert batch.once("--dry-run").returncode == 0
    window = json.loads((batch.state / "metrics.json").read_text())["history"]
    add_photos(inbox, "d.jpg")
    assert batch.once().returncode == 0

    out = batch.tagctl("history", "--json")
    assert out.returncode == 0, out.stderr
    runs = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["mode"], r["tagged"], r["failed"]) for r in runs] == [
        ("dry-run once", 3, 0),
        ("once", 4, 0),  # three applied from the dry run, one tagged
    ]
    for run in runs:
        assert run["backend"] == "openai" and run["model"] == "fake-vlm"
        assert run["profile"] == "default" and run["per_min"] > 0
        assert run["latency_s"]["total"]["p95"] >= run["latency_s"]["total"]["p50"] > 0
    assert runs[0]["ended_at"] <= runs[1]["started_at"]
    table = batch.tagctl("history").stdout
    assert "dry-run once" in table and "openai / fake-vlm / default" in table
    # the rolling window goes on from the first run's points
    after = json.loads((batch.state / "metrics.json").read_text())["history"]
    assert after[: len(window)] == window and len(after) > len(window)

    summary = (batch.state / "summary.md").read_text()
    this_run = summary[summary.index("## This run") :]
    assert "(4 photos)" in this_run
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"):
        assert f"- `{inbox / name}`: **A tabby cat**" in this_run
    assert this_run.count("  - caption: A tabby cat looks at the camera.") == 4
    assert this_run.count("  - description: A close-up of a tabby cat") == 4


def test_render_runs_names_a_run_that_gave_up() -> None:
    entry = run_entry(
        started_at=1_000.0,
        ended_at=1_060.0,
        backend="openai",
        model="m",
        profile="stock",
        tagged=10,
        failed=2,
        stages={"total": {"p50": 1.5, "p95": 3.25, "count": 12}},
        mode="once",
        gave_up="backend unavailable for 300 s",
    )
    assert entry["per_min"] == 12.0 and entry["elapsed_s"] == 60.0
    table = render_runs([entry])
    assert "1.50/3.25" in table and "gave up: backend unavailable for 300 s" in table
    assert render_runs([]) == "no runs recorded yet"
