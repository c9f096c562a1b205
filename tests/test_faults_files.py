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
from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult, Tags
from phototag.metadata.text import valid_text
from phototag.metadata.write import write_tags


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


def darktable_sidecar(entries: int) -> str:
    """An XMP sidecar as darktable writes it, with ``entries`` steps of edit history."""
    steps = "".join(
        f'<rdf:li darktable:num="{i}" darktable:operation="exposure" darktable:enabled="1"'
        f' darktable:modversion="6" darktable:params="{"0000803f" * 40}"'
        f' darktable:multi_name="" darktable:multi_priority="0"'
        f' darktable:blendop_version="13" darktable:blendop_params="{"gz11eJxjYGBgYA" * 2}"/>'
        for i in range(entries)
    )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
        ' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        ' xmlns:darktable="http://darktable.sf.net/" xmp:Rating="4"'
        f' darktable:xmp_version="5" darktable:history_end="{entries}">'
        f"<darktable:history><rdf:Seq>{steps}</rdf:Seq></darktable:history>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>\n"
        '<?xpacket end="w"?>\n'
    )


def test_a_sidecar_over_64_kb_is_merged(tmp_path: Path) -> None:
    raw = tmp_path / "IMG_1.CR3"
    raw.write_bytes(b"a RAW file phototag never rewrites")
    sidecar = tmp_path / "IMG_1.CR3.xmp"
    sidecar.write_text(darktable_sidecar(330), encoding="utf-8")
    assert sidecar.stat().st_size > 164_000  # far over a JPEG segment's 65,535 bytes
    result = TagResult(tags=Tags(title="A cat", keywords=("cat",)), backend="local", model="m")
    outcome = write_tags(raw, result, settings=MetadataSettings(), expected=FileSig.of(raw))
    assert outcome.written and outcome.sidecar
    (meta,) = exiftool(sidecar, args=("-G1", "-struct", "-b"))
    assert meta["XMP-dc:Title"] == "A cat" and as_list(meta["XMP-dc:Subject"]) == ["cat"]
    assert meta["XMP-xmp:Rating"] == 4
    history = meta["XMP-darktable:History"]
    assert len(history) == 330 and history[329]["Num"] == 329
    assert raw.read_bytes() == b"a RAW file phototag never rewrites"
