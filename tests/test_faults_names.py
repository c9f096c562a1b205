"""Faults: a HEIC photo whose name leaves no room for its sidecar's."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from conftest import DATA
from daemon_harness import DaemonProcess, vlm_env
from fakevlm import FakeVLM
from phototag.processing import imaging  # noqa: F401  (registers the HEIF opener)
from phototag.store.reader import IndexReader


@pytest.mark.slow
def test_a_heic_named_to_the_limit_fails_with_a_clear_reason(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    photo = inbox / ("h" * 250 + ".heic")  # 255 bytes: "….heic.xmp" cannot exist
    Image.open(DATA / "chelsea.jpg").save(photo)
    with FakeVLM() as fake:
        daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake))
        daemon.start()
        try:
            daemon.wait_done(1)
        finally:
            assert daemon.stop() == 0
    reader = IndexReader.open(daemon.state / "index.sqlite3")
    try:
        record = reader.get(photo)
    finally:
        reader.close()
    assert record is not None and record.status == "failed"
    assert "internal error" not in (record.last_error or "")
    assert "sidecar's name would be 259 bytes" in (record.last_error or ""), record.last_error
    assert list(inbox.iterdir()) == [photo]  # nothing half-written beside it
