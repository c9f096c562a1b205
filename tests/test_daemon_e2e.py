"""The real daemon, end to end: photos dropped into a watched folder come out tagged."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from conftest import DATA, PHOTOS, exiftool
from daemon_harness import DaemonProcess, keywords_of, wait_for, write_slowly
from phototag.store.reader import IndexReader


@pytest.mark.slow
def test_photos_come_out_tagged_once(daemon: DaemonProcess, inbox: Path) -> None:
    (inbox / "2024" / "trip").mkdir(parents=True)
    slow = threading.Thread(
        target=write_slowly,
        args=(DATA / "coffee.jpg", inbox / "2024" / "trip" / "coffee.jpg"),
        kwargs={"chunks": 8, "interval_s": 0.3},
    )
    slow.start()
    for name in PHOTOS:
        if name != "coffee.jpg":
            shutil.copyfile(DATA / name, inbox / name)
    slow.join()
    status = daemon.wait_done(len(PHOTOS))
    photos = [inbox / n for n in PHOTOS if n != "coffee.jpg"] + [inbox / "2024/trip/coffee.jpg"]
    for meta in exiftool(*photos, args=("-XMP-dc:all", "-IPTC:Keywords")):
        assert meta.get("Subject"), meta
        assert meta.get("Title"), meta
        assert meta.get("Keywords"), meta
    records = daemon.jsonl()
    assert sorted(r["path"] for r in records) == sorted(str(p) for p in photos)
    assert all(r["status"] == "done" and r["metadata"]["written"] for r in records)
    assert status["counts"]["done"] == len(PHOTOS) and status["counts"]["failed"] == 0
    assert status["running"] is True and status["backend"] == "local"
    reader = IndexReader.open(daemon.state / "index.sqlite3")
    assert all(reader.get(p).status == "done" for p in photos)
    # the daemon's own writes never come back as new work: each settles as unchanged
    daemon.wait_settled(len(PHOTOS))
    assert len(daemon.jsonl()) == len(PHOTOS)
    assert daemon.stop() == 0
    assert (daemon.state / "summary.md").read_text().count("|") > 4  # as the stop leaves it


@pytest.mark.slow
def test_restart_never_retags_and_picks_up_new_files(daemon: DaemonProcess, inbox: Path) -> None:
    shutil.copyfile(DATA / "chelsea.jpg", inbox / "cat.jpg")
    daemon.wait_done(1)
    before = (inbox / "cat.jpg").read_bytes()
    assert daemon.stop() == 0
    shutil.copyfile(DATA / "rocket.jpg", inbox / "rocket.jpg")  # arrives while down
    daemon.start()
    daemon.wait_done(2)
    daemon.wait_settled(1)  # the rocket's own write came back and led to nothing
    assert [r["path"] for r in daemon.jsonl()] == [
        str(inbox / "cat.jpg"),
        str(inbox / "rocket.jpg"),
    ]
    assert (inbox / "cat.jpg").read_bytes() == before
    assert daemon.status()["counts"]["done"] == 2


@pytest.mark.slow
def test_move_rename_copy_and_delete_keep_identity(daemon: DaemonProcess, inbox: Path) -> None:
    shutil.copyfile(DATA / "chelsea.jpg", inbox / "cat.jpg")
    shutil.copyfile(DATA / "coffee.jpg", inbox / "coffee.jpg")
    daemon.wait_done(2)
    (inbox / "pets").mkdir()
    tagged_cat = (inbox / "cat.jpg").read_bytes()
    (inbox / "cat.jpg").rename(inbox / "pets" / "renamed-cat.jpg")
    shutil.copyfile(DATA / "coffee.jpg", inbox / "coffee-copy.jpg")  # byte-identical original
    reader = IndexReader.open(daemon.state / "index.sqlite3")
    wait_for(
        lambda: (r := reader.get(inbox / "pets" / "renamed-cat.jpg")) and r.status == "done",
        timeout_s=30,
        what="the move to be recorded",
    )
    wait_for(
        lambda: (r := reader.get(inbox / "coffee-copy.jpg")) and r.status == "done",
        timeout_s=30,
        what="the copy to be recorded",
    )
    (inbox / "coffee.jpg").unlink()
    wait_for(
        lambda: (r := reader.get(inbox / "coffee.jpg")) and r.status == "deleted",
        timeout_s=30,
        what="the deletion to be recorded",
    )
    records = daemon.jsonl()
    copy = [r for r in records if r["path"] == str(inbox / "coffee-copy.jpg")]
    assert len(copy) == 1 and copy[0]["reused_from"] == str(inbox / "coffee.jpg")
    assert copy[0]["metadata"]["written"] and keywords_of(inbox / "coffee-copy.jpg")
    # a move is never re-tagged: either the watcher saw the rename, or (a fresh folder whose
    # watch was not yet in place) the record is adopted by content hash
    renamed = [r["status"] for r in records if "renamed-cat" in r["path"]]
    assert renamed in ([], ["adopted"]), renamed
    assert reader.get(inbox / "pets" / "renamed-cat.jpg").status == "done"
    assert (inbox / "pets" / "renamed-cat.jpg").read_bytes() == tagged_cat
    assert reader.get(inbox / "cat.jpg") is None
    settled = daemon.status()["settled_unchanged"]
    (inbox / "pets" / "renamed-cat.jpg").rename(inbox / "pets" / "kitty.jpg")  # same folder
    wait_for(
        lambda: (r := reader.get(inbox / "pets" / "kitty.jpg")) and r.status == "done",
        timeout_s=30,
        what="the rename to be recorded",
    )
    daemon.wait_settled(settled + 1)  # the moved file settled and needed no tagging
    assert not [r for r in daemon.jsonl() if "kitty" in r["path"]]


@pytest.mark.slow
def test_bad_files_fail_with_a_reason_and_stay_untouched(
    daemon: DaemonProcess, inbox: Path
) -> None:
    truncated = (DATA / "coffee.jpg").read_bytes()[:20_000]
    bad = {"empty.jpg": b"", "truncated.jpg": truncated, "notes.jpg": b"this is not a photo\n"}
    for name, data in bad.items():
        (inbox / name).write_bytes(data)
    daemon.wait_done(3)
    shutil.copyfile(DATA / "chelsea.jpg", inbox / "good.jpg")  # the daemon keeps going
    daemon.wait_done(4)
    reader = IndexReader.open(daemon.state / "index.sqlite3")
    for name, data in bad.items():
        record = reader.get(inbox / name)
        assert record.status == "failed" and record.last_error, record
        assert (inbox / name).read_bytes() == data
    assert reader.get(inbox / "good.jpg").status == "done"
    errors = {e["path"]: e["error"] for e in daemon.status()["last_errors"]}
    assert "empty" in errors[str(inbox / "empty.jpg")]
    assert daemon.stop() == 0


@pytest.mark.slow
def test_status_works_while_the_daemon_is_down(daemon: DaemonProcess, inbox: Path) -> None:
    shutil.copyfile(DATA / "chelsea.jpg", inbox / "cat.jpg")
    daemon.wait_done(1)
    assert daemon.stop() == 0
    status = daemon.status()
    assert status["running"] is False and status["counts"]["done"] == 1
    text = daemon.tagctl("status").stdout
    assert "not running" in text and "1 done" in text


@pytest.mark.slow
def test_file_written_slowly_over_10s_is_tagged_once_after_its_last_byte(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    proc = DaemonProcess(
        home=tmp_path / "home", roots=[inbox], env={"PHOTOTAG_DEBOUNCE_S": "2"}
    ).start()
    try:
        dest = inbox / "slow.jpg"
        write_slowly(DATA / "motorcycle.jpg", dest, chunks=20, interval_s=0.5)
        finished_writing = time.time()
        proc.wait_done(1, timeout_s=60)
        (record,) = proc.jsonl()
        assert record["status"] == "done"
        reader = IndexReader.open(proc.state / "index.sqlite3")
        assert reader.get(dest).finished_at >= finished_writing
        proc.wait_settled(1)  # its own write came back and led to nothing
        assert len(proc.jsonl()) == 1
    finally:
        assert proc.stop() == 0
