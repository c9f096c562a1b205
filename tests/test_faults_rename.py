"""Faults: a photo or its folder renamed while the VLM is still answering for it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import DATA
from daemon_harness import DaemonProcess, keywords_of, vlm_env, wait_for
from fakevlm import FakeVLM
from phototag.store.reader import IndexReader

LATENCY_S = 3.0  # the answer is slow: the rename lands while the request is open


def _records(daemon: DaemonProcess) -> dict[str, str]:
    reader = IndexReader.open(daemon.state / "index.sqlite3")
    try:
        return {str(r.path): r.status for r in reader.records(limit=100)}
    finally:
        reader.close()


def _tag_while_renaming(
    tmp_path: Path, photos: list[str], rename: tuple[str, str]
) -> tuple[DaemonProcess, FakeVLM, Path]:
    inbox = tmp_path / "inbox"
    (inbox / "trip").mkdir(parents=True)
    with FakeVLM() as fake:
        daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake))
        daemon.start()
        try:
            wait_for(
                lambda: (daemon.status().get("health") or {}).get("ok"),
                timeout_s=30,
                what="the backend healthy",
                log=daemon.log_path,
            )
            fake.latency_s = LATENCY_S
            fake.clear()  # the preflight's probes
            for name, source in zip(photos, ("chelsea.jpg", "coffee.jpg"), strict=False):
                shutil.copyfile(DATA / source, inbox / name)
            wait_for(
                lambda: len([r for r in fake.chat_requests if r.images]) == len(photos),
                timeout_s=30,
                what="the tag requests sent",
                log=daemon.log_path,
            )
            os.rename(inbox / rename[0], inbox / rename[1])
            daemon.wait_done(len(photos), timeout_s=30)
        finally:
            assert daemon.stop() == 0
    return daemon, fake, inbox


@pytest.mark.slow
def test_a_photo_renamed_mid_request_is_written_under_its_new_name(tmp_path: Path) -> None:
    daemon, fake, inbox = _tag_while_renaming(
        tmp_path, ["trip/a.jpg"], ("trip/a.jpg", "trip/a-renamed.jpg")
    )
    renamed = inbox / "trip" / "a-renamed.jpg"
    assert _records(daemon) == {str(renamed): "done"}
    assert keywords_of(renamed)  # the one answer, written into the photo where it now is
    assert len([r for r in fake.chat_requests if r.images]) == 1
    assert [r["path"] for r in daemon.jsonl()] == [str(renamed)]


@pytest.mark.slow
def test_a_folder_renamed_mid_request_takes_its_jobs_along(tmp_path: Path) -> None:
    daemon, fake, inbox = _tag_while_renaming(
        tmp_path, ["trip/a.jpg", "trip/b.jpg"], ("trip", "trip-2024")
    )
    moved = [inbox / "trip-2024" / "a.jpg", inbox / "trip-2024" / "b.jpg"]
    assert _records(daemon) == {str(p): "done" for p in moved}
    assert all(keywords_of(p) for p in moved)
    assert len([r for r in fake.chat_requests if r.images]) == 2
