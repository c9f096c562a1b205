"""Faults that harm a photo or its file (issue 15): model text no reader can parse, writers
still at work, extended attributes and hard links, huge images, a full photo disk, large
sidecars."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyexiv2
import pytest

from conftest import DATA, as_list, exiftool
from daemon_harness import DaemonProcess, vlm_env
from fakevlm import FakeVLM, answer, tags_json
from phototag.metadata.text import valid_text


@pytest.fixture
def fake() -> FakeVLM:
    server = FakeVLM().start()
    yield server
    server.stop()


def test_model_text_no_xmp_or_iptc_reader_can_parse_is_made_valid(
    tmp_path: Path, fake: FakeVLM
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake)).start()
    try:
        healthy = daemon.wait_heartbeats(1)["health"]["ok"]  # the preflight's probes are done
        assert healthy
        fake.script(
            answer(
                tags_json(
                    title="Cat\x01on\x07sofa\ufffe",
                    caption="A cat\x00 on a sofa\uffff, asleep\x9bnow.",
                    description="Tabby\U0001fffe cat\x1b[31m",
                    keywords=["cat\x00", "so\ufdd0fa", "\ufffe"],
                )
            )
        )
        shutil.copyfile(DATA / "chelsea.jpg", inbox / "cat.jpg")
        status = daemon.wait_done(1)
        assert status["counts"].get("failed", 0) == 0
        image = pyexiv2.Image(str(inbox / "cat.jpg"))  # exiv2 refuses U+FFFE (error 201)
        try:
            xmp, iptc = image.read_xmp(), image.read_iptc()
        finally:
            image.close()
        assert xmp["Xmp.dc.title"] == {'lang="x-default"': "Cat on sofa"}
        assert iptc["Iptc.Application2.ObjectName"] == "Cat on sofa"
        (meta,) = exiftool(inbox / "cat.jpg")
        assert meta["XMP-dc:Title"] == "Cat on sofa"
        # the NUL did not cut the caption short
        assert meta["IPTC:Caption-Abstract"] == "A cat on a sofa, asleep now."
        assert meta["XMP-dc:Description"] == "A cat on a sofa, asleep now."
        assert {"cat", "sofa"} <= set(as_list(meta["XMP-dc:Subject"]))
        assert "" not in as_list(meta["IPTC:Keywords"])
        (record,) = [r for r in daemon.jsonl() if r["status"] == "done"]
        assert record["title"] == "Cat on sofa"  # what was written is what is reported
        shown = daemon.tagctl("show", str(inbox / "cat.jpg"))
        assert shown.returncode == 0, shown.stderr
        assert daemon.stop() == 0
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill()


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("Cat\x01on\x07sofa", "Cat on sofa"),
        ("Title\x00 cut here?", "Title cut here?"),
        ("no\ufffe\uffff\U0010ffff\ufdd0n-characters", "non-characters"),
        ("lone \ud800surrogate\udfff", "lone surrogate"),
        ("C1\x85\x9bcontrols", "C1 controls"),
        ("line one\r\nline two\tend", "line one\nline two\tend"),
        ("Zoë's café 🐈", "Zoë's café 🐈"),
    ],
)
def test_valid_text_for_xmp_and_iptc(raw: str, valid: str) -> None:
    assert valid_text(raw) == valid
    valid_text(raw).encode("utf-8")  # no lone surrogate left
