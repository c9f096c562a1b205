"""Faults: a path given to a verb leaves the roots through a symbolic link."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from conftest import DATA
from daemon_harness import DaemonProcess, vlm_env
from fakevlm import FakeVLM


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.slow
def test_verbs_refuse_paths_that_leave_the_roots_through_a_link(tmp_path: Path) -> None:
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    (elsewhere / "sub").mkdir(parents=True)
    inbox.mkdir()
    shutil.copyfile(DATA / "chelsea.jpg", elsewhere / "x.jpg")
    shutil.copyfile(DATA / "coffee.jpg", elsewhere / "sub" / "y.jpg")
    (inbox / "link").symlink_to(elsewhere)
    before = _digests(elsewhere)
    link = inbox / "link"
    with FakeVLM() as fake:
        env = vlm_env(fake, PHOTOTAG_ROOTS=json.dumps([str(inbox)]))
        daemon = DaemonProcess(home=tmp_path / "home", roots=[], env=env).start()
        try:
            for verb in (
                ("rescan", str(link)),
                ("tag", str(link / "x.jpg")),
                ("retag", str(link / "sub")),
                ("scan", str(link)),
            ):
                run = daemon.tagctl(*verb)
                assert run.returncode == 2, (verb, run.stdout, run.stderr)
                assert "outside the roots" in run.stderr, (verb, run.stderr)
            # a path inside the roots is still fine
            assert daemon.tagctl("rescan", str(inbox)).returncode == 0
            assert daemon.status()["counts"]["done"] == 0
        finally:
            assert daemon.stop() == 0
        run = daemon.tagctl("backfill", str(link / "sub"))
        assert run.returncode == 2 and "outside the roots" in run.stderr, run.stderr
        assert daemon.status()["counts"] == {**daemon.status()["counts"], "done": 0, "queued": 0}
    assert _digests(elsewhere) == before
    assert not list(elsewhere.rglob("*.xmp"))
