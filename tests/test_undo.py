"""tagctl undo: tag + undo gives back the photo's metadata exactly as it was.

The proof compares ``exiftool -a -G1`` before tagging with after tag (+ re-tag) + undo. The
only tags allowed to differ describe the file's layout, named one by one in LAYOUT.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import DATA
from mwgfixtures import exiftool_set, iim, jpeg
from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult, Tags
from phototag.metadata.undo import UndoAction, undo_file
from phototag.metadata.write import write_tags

RESULT = TagResult(
    tags=Tags(
        title="Rocket",
        caption="A rocket lifts off.",
        description="A long view of a rocket.",
        alt_text="Rocket",
        keywords=("rocket", "launch", "sky"),
        hierarchical=("Things|Rocket",),
    ),
    backend="local",
    model="m",
)
AGAIN = TagResult(tags=Tags(keywords=("rocket", "smoke")), backend="local", model="m2")

# Tags that only describe the file's layout, not anyone's value.
LAYOUT = {
    "System:FileModifyDate",  # kept by keep_mtime, but a sidecar's is new
    "System:FileAccessDate",
    "System:FileInodeChangeDate",  # a rename is a new inode
    "XMP-x:XMPToolkit",  # exiftool names itself when it rewrites a person's XMP
}


def everything(path: Path) -> dict[str, object]:
    out = subprocess.run(
        ["exiftool", "-j", "-a", "-G1", "-b", str(path)], capture_output=True, text=True
    )
    tags = json.loads(out.stdout)[0]
    return {k: v for k, v in tags.items() if k not in LAYOUT}


def tag(photo: Path, result: TagResult = RESULT) -> None:
    write_tags(photo, result, settings=MetadataSettings(), expected=FileSig.of(photo))


def launch(path: Path) -> Path:
    datasets = [(5, b"Launch day"), (25, b"launch"), (25, b"Florida"), (60, b"132723")]
    return jpeg(path, iptc=iim(*datasets, (120, "Peter’s “best” coffee – 5 €".encode("cp1252"))))


def plain(path: Path) -> Path:
    shutil.copyfile(DATA / "chelsea.jpg", path)
    return path


def person_xmp(path: Path) -> Path:
    jpeg(path)
    exiftool_set(
        path,
        "-XMP-dc:Subject=Grandma",
        "-XMP-dc:Title=Minou",
        "-XMP-xmp:Rating=4",
        "-IPTC:Keywords=Grandma",
        "-XPComment=from Windows",
    )
    return path


FIXTURES = {"plain.jpg": plain, "launch.jpg": launch, "person.jpg": person_xmp}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_tag_retag_and_undo_gives_back_the_original(tmp_path: Path, name: str) -> None:
    photo = FIXTURES[name](tmp_path / name)
    before, data = everything(photo), photo.read_bytes()
    tag(photo)
    tag(photo, AGAIN)
    assert photo.read_bytes() != data
    outcome = undo_file(photo, settings=MetadataSettings(), dry_run=False)
    assert outcome.action == UndoAction.RESTORED
    after = everything(photo)
    assert {k: after.get(k) for k in before | after} == {k: before.get(k) for k in before | after}


def test_dry_run_lists_the_changes_and_writes_nothing(tmp_path: Path) -> None:
    photo = launch(tmp_path / "launch.jpg")
    tag(photo)
    data = photo.read_bytes()
    outcome = undo_file(photo, settings=MetadataSettings(), dry_run=True)
    assert not outcome.done and photo.read_bytes() == data
    assert outcome.dropped == ("XMP",)  # phototag created the XMP block: it goes whole
    assert outcome.changes["IPTC:Keywords"] == ["launch", "Florida"]
    assert outcome.changes["IPTC:CodedCharacterSet"] is None


def test_a_persons_edit_after_tagging_survives_undo(tmp_path: Path) -> None:
    photo = person_xmp(tmp_path / "p.jpg")
    tag(photo)
    exiftool_set(photo, "-XMP-dc:Subject+=Chelsea")
    undo_file(photo, settings=MetadataSettings(), dry_run=False)
    out = subprocess.run(
        ["exiftool", "-j", "-XMP-dc:Subject", str(photo)], capture_output=True, text=True
    )
    assert json.loads(out.stdout)[0]["Subject"] == ["Grandma", "Chelsea"]


def test_a_sidecar_phototag_created_alone_is_deleted(tmp_path: Path) -> None:
    raw = tmp_path / "IMG_1.CR3"
    raw.write_bytes(b"a RAW file phototag must never rewrite")
    tag(raw)
    sidecar = raw.with_name("IMG_1.CR3.xmp")
    assert sidecar.exists()
    outcome = undo_file(raw, settings=MetadataSettings(), dry_run=False)
    assert outcome.action == UndoAction.SIDECAR_DELETED and not sidecar.exists()


def test_an_existing_sidecar_gets_its_values_back(tmp_path: Path) -> None:
    raw = tmp_path / "IMG_2.CR3"
    raw.write_bytes(b"not really raw")
    sidecar = raw.with_name("IMG_2.CR3.xmp")
    subprocess.run(
        ["exiftool", "-q", "-XMP-dc:Subject=mine", "-XMP-xmp:Label=Red", "-o", str(sidecar)],
        check=True,
    )
    before = everything(sidecar)
    tag(raw)
    undo_file(raw, settings=MetadataSettings(), dry_run=False)
    after = everything(sidecar)
    drop = {"System:FileSize"}  # exiftool lays the packet out again
    assert {k: v for k, v in after.items() if k not in drop} == {
        k: v for k, v in before.items() if k not in drop
    }
