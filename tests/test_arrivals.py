"""How photos really arrive: each pattern ends with the final file tagged exactly once, and
nothing is ever done with a name that was only a step on the way."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest

from conftest import DATA, PHOTOS
from daemon_harness import DaemonProcess, keywords_of, vlm_env, wait_for, write_slowly
from fakevlm import FakeVLM
from phototag.store.reader import IndexReader
from test_crash import small_photos
from test_daemon_vlm import make_photos


def _other_filesystem(near: Path) -> Path | None:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != near.stat().st_dev:
        return shm
    return None


def _rename_after_slow_write(src: Path, temp: Path, final: Path) -> None:
    write_slowly(src, temp, chunks=6, interval_s=0.15)
    temp.rename(final)


@pytest.mark.slow
def test_every_arrival_pattern_ends_tagged_once(
    tmp_path: Path, inbox: Path, daemon: DaemonProcess
) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    for name in PHOTOS:
        shutil.copyfile(DATA / name, staging / name)
    (inbox / "sub").mkdir()
    expected: list[Path] = []

    subprocess.run(["cp", staging / "astronaut.jpg", inbox / "cp.jpg"], check=True)
    expected.append(inbox / "cp.jpg")
    subprocess.run(["mv", staging / "chelsea.jpg", inbox / "mv-same-fs.jpg"], check=True)
    expected.append(inbox / "mv-same-fs.jpg")
    other = _other_filesystem(tmp_path)
    if other is not None:
        foreign = other / f"phototag-test-{os.getpid()}.jpg"
        shutil.copyfile(DATA / "rocket.jpg", foreign)
        subprocess.run(["mv", foreign, inbox / "mv-other-fs.jpg"], check=True)
        expected.append(inbox / "mv-other-fs.jpg")
    # rsync writes ".name.XXXXXX" beside the target, then renames it
    subprocess.run(["rsync", "-a", f"{staging}/coffee.jpg", f"{inbox}/sub/"], check=True)
    expected.append(inbox / "sub" / "coffee.jpg")
    writers = [
        # a browser: "x.jpg.crdownload" growing slowly, then renamed
        (DATA / "motorcycle.jpg", inbox / "download.jpg.crdownload", inbox / "download.jpg"),
        # WinSCP-style sftp: "x.jpg.filepart", then renamed
        (DATA / "coffee.jpg", inbox / "sftp.jpg.filepart", inbox / "sftp.jpg"),
    ]
    threads = [threading.Thread(target=_rename_after_slow_write, args=args) for args in writers]
    # OpenSSH-style sftp: the final name itself, written in chunks
    threads.append(
        threading.Thread(
            target=write_slowly,
            args=(DATA / "chelsea.jpg", inbox / "sftp-direct.jpg"),
            kwargs={"chunks": 6, "interval_s": 0.15},
        )
    )
    expected += [final for _, _, final in writers] + [inbox / "sftp-direct.jpg"]
    # a camera import: many files written at once into a new dated folder
    card = tmp_path / "card"
    card.mkdir()
    small_photos(card, 40, seed=5)
    camera = inbox / "DCIM" / "100CANON"
    camera.mkdir(parents=True)
    threads.append(
        threading.Thread(
            target=shutil.copytree, args=(card, camera), kwargs={"dirs_exist_ok": True}
        )
    )
    expected += [camera / p.name for p in card.iterdir()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    daemon.wait_done(len(expected), timeout_s=120)
    lines = Counter(r["path"] for r in daemon.jsonl())
    assert lines == Counter(str(p) for p in expected)  # once each, and no temporary name
    reader = IndexReader.open(daemon.state / "index.sqlite3")
    assert all(reader.get(p).status == "done" for p in expected)
    # the real photographs; the card's synthetic frames have no content to name, and facts
    # are no flat keywords by default any more (issue 16), so they may get none
    for path in (p for p in expected if p.parent != camera):
        keywords = keywords_of(path)
        assert keywords and len(keywords) == len(set(keywords)), path
    status = daemon.status()
    assert status["counts"]["done"] == len(expected) and status["counts"]["failed"] == 0


@pytest.mark.slow
def test_overwritten_in_place_is_retagged_once(inbox: Path, daemon: DaemonProcess) -> None:
    target = inbox / "photo.jpg"
    shutil.copyfile(DATA / "chelsea.jpg", target)
    daemon.wait_done(1)
    first = [r for r in daemon.jsonl() if r["path"] == str(target)]
    with target.open("wb") as fh:  # same inode, new content (an editor's "save")
        fh.write((DATA / "rocket.jpg").read_bytes())
    reader = IndexReader.open(daemon.state / "index.sqlite3")
    wait_for(
        lambda: len(daemon.jsonl()) == 2 and reader.get(target).status == "done",
        timeout_s=60,
        what="the new content to be tagged",
        log=daemon.log_path,
    )
    second = daemon.jsonl()[-1]
    assert second["path"] == str(target) and second["sha256"] != first[0]["sha256"]
    keywords = [str(k) for k in keywords_of(target)]  # exiftool gives "2018" as a number
    assert len(keywords) == len(set(keywords))
    assert sorted(keywords) == sorted(second["keywords"])
    assert "cat" not in keywords  # the cat's tags were replaced, not merged in
    wait_for(lambda: daemon.status()["queue_depth"] == 0, timeout_s=10, what="an idle queue")
    assert len(daemon.jsonl()) == 2


@pytest.mark.slow
def test_truncated_and_rewritten_while_queued_is_tagged_once_with_the_new_content(
    tmp_path: Path, inbox: Path
) -> None:
    with FakeVLM() as fake:
        env = vlm_env(fake, PHOTOTAG_VLM__MAX_INFLIGHT="1", PHOTOTAG_WORKERS="1")
        daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env).start()
        try:
            fake.hold()  # one request at a time, unanswered: the queue holds the rest
            staging = tmp_path / "staging"
            staging.mkdir()
            for photo in make_photos(staging, 6):  # ahead of it: one in flight, some claimed
                photo.rename(inbox / photo.name)
            target = inbox / "queued.jpg"
            shutil.copyfile(DATA / "chelsea.jpg", target)
            reader = IndexReader.open(daemon.state / "index.sqlite3")
            wait_for(
                lambda: (r := reader.get(target)) and r.status == "queued",
                timeout_s=30,
                what="the photo to wait in the queue",
            )
            with target.open("r+b") as fh:
                fh.truncate(0)
            write_slowly(DATA / "rocket.jpg", target, chunks=4, interval_s=0.1)
            fake.release()
            daemon.wait_done(7, timeout_s=90)
            records = [r for r in daemon.jsonl() if r["path"] == str(target)]
            assert len(records) == 1 and records[0]["status"] == "done"
            new_content = hashlib.sha256((DATA / "rocket.jpg").read_bytes()).hexdigest()
            assert reader.get(target).sha256 == records[0]["sha256"] == new_content
            assert keywords_of(target)
        finally:
            assert daemon.stop() == 0
