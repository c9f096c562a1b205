"""tagctl undo: tag + undo gives back the photo's metadata exactly as it was.

The proof compares ``exiftool -a -G1`` before tagging with after tag (+ re-tag) + undo. The
only tags allowed to differ describe the file's layout, named one by one in LAYOUT.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pyexiv2
import pytest
from PIL import Image

from conftest import DATA, exiftool_edit
from daemon_harness import DaemonProcess
from mwgfixtures import iim, jpeg
from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult, Tags
from phototag.metadata.undo import UndoAction, undo_file
from phototag.metadata.write import write_tags
from phototag.store.queue import Index

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
    where = {"SourceFile", "System:Directory"}  # the folder it is in, when it was moved
    return {k: v for k, v in tags.items() if k not in LAYOUT | where}


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
    exiftool_edit(
        path,
        "-XMP-dc:Subject=Grandma",
        "-XMP-dc:Title=Minou",
        "-XMP-xmp:Rating=4",
        "-IPTC:Keywords=Grandma",
        "-XPComment=from Windows",
    )
    return path


def webp(path: Path) -> Path:
    Image.open(DATA / "chelsea.jpg").save(path, format="WEBP")
    return path


def person_webp(path: Path) -> Path:
    webp(path)
    exiv2 = pyexiv2.Image(str(path))  # exiftool 12.57 cannot write WebP
    try:
        exiv2.modify_xmp({"Xmp.dc.subject": ["Grandma"], "Xmp.xmp.Rating": "4"})
    finally:
        exiv2.close()
    return path


FIXTURES = {
    "plain.jpg": plain,
    "launch.jpg": launch,
    "person.jpg": person_xmp,
    "plain.webp": webp,
    "person.webp": person_webp,
}


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
    # phototag's text fitted the caption's Windows-1252: no charset was declared
    assert "IPTC:CodedCharacterSet" not in outcome.changes


def test_undo_gives_windows_1252_iptc_back_after_phototag_declared_utf8(tmp_path: Path) -> None:
    photo = launch(tmp_path / "launch.jpg")
    before = everything(photo)
    tag(photo, TagResult(tags=Tags(keywords=("rocket", "ロケット")), backend="local", model="m"))
    assert everything(photo)["IPTC:CodedCharacterSet"] == "UTF8"  # ロケット needs it
    outcome = undo_file(photo, settings=MetadataSettings(), dry_run=False)
    assert outcome.changes["IPTC:CodedCharacterSet"] is None
    after = everything(photo)
    assert {k: after.get(k) for k in before | after} == {k: before.get(k) for k in before | after}


def test_a_persons_edit_after_tagging_survives_undo(tmp_path: Path) -> None:
    photo = person_xmp(tmp_path / "p.jpg")
    tag(photo)
    exiftool_edit(photo, "-XMP-dc:Subject+=Chelsea")
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


def tagctl_json(daemon: DaemonProcess, *args: str) -> tuple[int, dict]:
    run = daemon.tagctl(*args, "--json")
    return run.returncode, json.loads(run.stdout) if run.stdout.strip() else {}


def record_status(daemon: DaemonProcess, photo: Path) -> str:
    index = Index(daemon.state / "index.sqlite3")
    try:
        record = index.get(photo)
        return record.status if record else ""
    finally:
        index.close()


@pytest.mark.slow
def test_undo_through_the_running_daemon_then_retag(tmp_path: Path) -> None:
    inbox, staging = tmp_path / "inbox", tmp_path / "staging"
    inbox.mkdir()
    staging.mkdir()
    photo = inbox / "launch.jpg"
    source = launch(staging / "launch.jpg")
    before = everything(source)
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox]).start()
    try:
        source.rename(photo)
        daemon.wait_done(1)
        assert everything(photo) != before
        code, report = tagctl_json(daemon, "undo", str(inbox))
        assert code == 0 and report["undone"] == 1, report
        after = everything(photo)
        assert {k: after.get(k) for k in before | after} == {
            k: before.get(k) for k in before | after
        }
        # the watcher saw the change and a scan walks the folder: nothing is queued again
        assert tagctl_json(daemon, "rescan")[0] == 0
        status = daemon.status()
        assert status["counts"]["undone"] == 1 and status["queue_depth"] == 0
        assert tagctl_json(daemon, "retag", str(photo)) == (0, {"queued": 1})
        daemon.wait_done(1)
        assert "XMP-phototag:Generator" in everything(photo)
    finally:
        assert daemon.stop() == 0


@pytest.mark.slow
def test_undo_with_the_daemon_stopped_and_a_dry_run_first(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    photo = inbox / "cat.jpg"
    shutil.copyfile(DATA / "chelsea.jpg", tmp_path / "cat.jpg")
    before = everything(tmp_path / "cat.jpg")
    env = {"PHOTOTAG_ROOTS": json.dumps([str(inbox)])}  # tagctl's roots, from the config
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env).start()
    try:
        (tmp_path / "cat.jpg").rename(photo)
        daemon.wait_done(1)
    finally:
        assert daemon.stop() == 0
    tagged = photo.read_bytes()
    run = daemon.tagctl("undo", "--dry-run", str(photo))
    assert run.returncode == 0, run.stderr
    assert "would undo" in run.stdout and "remove the XMP block" in run.stdout
    assert photo.read_bytes() == tagged
    code, report = tagctl_json(daemon, "undo", str(inbox))
    assert code == 0 and report["undone"] == 1 and not report["dry_run"]
    after = everything(photo)
    assert {k: after.get(k) for k in before | after} == {k: before.get(k) for k in before | after}
    assert record_status(daemon, photo) == "undone"
