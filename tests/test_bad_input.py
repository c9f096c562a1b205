"""Hostile and odd input: every case ends done, failed or skipped with a reason, the daemon
keeps running, and nothing outside the roots is read or written."""

from __future__ import annotations

import io
import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from conftest import DATA, exiftool
from daemon_harness import DaemonProcess, wait_for
from phototag.store.reader import IndexReader


class _Recorder(FileSystemEventHandler):
    def __init__(self) -> None:
        self.events: list[FileSystemEvent] = []

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.events.append(event)


def _bomb_png(*, width: int, height: int) -> bytes:
    """A valid PNG header claiming a gigantic canvas, with almost no data behind it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _frames(data: bytes) -> list[bytes]:
    """Every frame's decoded pixels."""
    with Image.open(io.BytesIO(data)) as im:
        frames = []
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            frames.append(im.tobytes())
        return frames


def _photo_cases() -> dict[str, bytes]:
    """Decodable but unusual files: each must end done, with its pixels unchanged."""
    rgb = Image.open(DATA / "chelsea.jpg").convert("RGB").resize((320, 240))
    animated = [Image.new("RGB", (64, 48), colour) for colour in ("red", "green", "blue")]
    return {
        "cmyk.jpg": _encoded(rgb.convert("CMYK"), "JPEG", quality=90),
        "deep16.tif": _encoded(Image.new("I;16", (96, 64), 40000), "TIFF"),
        "animated.webp": _encoded(
            animated[0], "WEBP", save_all=True, append_images=animated[1:], lossless=True
        ),
        "png-inside.jpg": _encoded(rgb, "PNG"),  # wrong extension: the content decides
        "new\nline.jpg": (DATA / "coffee.jpg").read_bytes(),
    }


@pytest.mark.slow
def test_bad_input_never_crashes_nor_escapes_the_roots(tmp_path: Path) -> None:
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    inbox.mkdir()
    outside.mkdir()
    secret = outside / "secret.jpg"
    shutil.copyfile(DATA / "rocket.jpg", secret)
    shutil.copyfile(DATA / "astronaut.jpg", outside / "in-linked-folder.jpg")
    outside_before = {p.name: p.read_bytes() for p in outside.iterdir()}
    recorder = _Recorder()
    spy = Observer()
    spy.schedule(recorder, str(outside), recursive=True)
    spy.start()
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox]).start()
    try:
        photos = _photo_cases()
        failing = {
            "empty.jpg": (b"", "empty"),
            "truncated.jpg": ((DATA / "coffee.jpg").read_bytes()[:20_000], "decode"),
            "notes.jpg": (b"this is not a photo\n" * 50, "not an image"),
            "bomb.png": (_bomb_png(width=40_000, height=40_000), "bomb"),
        }
        for name, data in photos.items():
            (inbox / name).write_bytes(data)
        for name, (data, _) in failing.items():
            (inbox / name).write_bytes(data)
        invalid_utf8 = Path(os.fsdecode(os.fsencode(inbox) + b"/bad-\xff\xfe-name.jpg"))
        invalid_utf8.write_bytes((DATA / "chelsea.jpg").read_bytes())
        locked = inbox / "locked.jpg"
        locked.write_bytes((DATA / "motorcycle.jpg").read_bytes())
        locked.chmod(0)
        huge = inbox / "huge.jpg"  # a real JPEG head, then 2 GB of (sparse) nothing
        with huge.open("wb") as fh:  # closed after the truncate: the watcher sees a close
            fh.write((DATA / "chelsea.jpg").read_bytes())  # (os.truncate alone leaves it
            fh.truncate(2 * 1024**3)  # waiting writer_quiet_s for a writer it cannot see)
        links = {
            "outside-link.jpg": secret,
            "loop-a.jpg": inbox / "loop-b.jpg",
            "loop-b.jpg": inbox / "loop-a.jpg",
            "folder-loop.jpg": inbox,
        }
        for name, target in links.items():
            (inbox / name).symlink_to(target)
        (inbox / "linked-folder").symlink_to(outside, target_is_directory=True)
        os.mkfifo(inbox / "fifo.jpg")
        shutil.copyfile(DATA / "chelsea.jpg", inbox / "good-after.jpg")

        expected = {
            **{inbox / n: "done" for n in (*photos, "good-after.jpg")},
            invalid_utf8: "done",
            **{inbox / n: "failed" for n in (*failing, "locked.jpg", "huge.jpg")},
            **{inbox / n: "skipped" for n in (*links, "fifo.jpg")},
        }
        reader = IndexReader.open(daemon.state / "index.sqlite3")

        def settled() -> bool:
            statuses = [(r.status if (r := reader.get(p)) else None) for p in expected]
            final = all(s in ("done", "failed", "skipped") for s in statuses)
            return final and daemon.status().get("queue_depth") == 0

        wait_for(settled, timeout_s=120, what="every bad input to settle", log=daemon.log_path)
        found = {path: reader.get(path) for path in expected}
        assert {p: r.status for p, r in found.items()} == expected
        for path, record in found.items():
            if record.status != "done":
                assert record.last_error, path
        for name, (data, reason) in failing.items():
            assert reason in found[inbox / name].last_error.lower(), found[inbox / name]
            assert (inbox / name).read_bytes() == data
        assert "over max_file_bytes" in found[huge].last_error
        assert any(w in found[locked].last_error for w in ("read-only", "Permission denied"))
        assert "not followed" in found[inbox / "outside-link.jpg"].last_error
        assert found[inbox / "fifo.jpg"].last_error == "not a regular file"

        for name, data in photos.items():  # tagged, pixels exactly as before
            assert _frames((inbox / name).read_bytes()) == _frames(data), name
        safe_copy = tmp_path / "utf8-copy.jpg"
        shutil.copyfile(invalid_utf8, safe_copy)  # exiftool's JSON needs a printable name
        for meta in exiftool(safe_copy, inbox / "cmyk.jpg", args=("-XMP-dc:Subject",)):
            assert meta.get("Subject"), meta
        lines = {r["path"] for r in daemon.jsonl()}
        assert "bad-\\xff\\xfe-name.jpg" in "".join(lines)
        assert str(inbox / "new\nline.jpg") in lines

        assert daemon.proc is not None and daemon.proc.poll() is None
        log = daemon.log_path.read_text(errors="replace")
        assert "Traceback" not in log and "internal error" not in log
        assert not [e for e in recorder.events if not e.is_directory], recorder.events
        assert {p.name: p.read_bytes() for p in outside.iterdir()} == outside_before
    finally:
        spy.stop()
        spy.join()
        locked.chmod(0o644)
        assert daemon.stop() == 0


@pytest.mark.slow
@pytest.mark.parametrize("follow", [False, True])
def test_symlinks_are_followed_only_when_configured(tmp_path: Path, follow: bool) -> None:
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    inbox.mkdir()
    outside.mkdir()
    target = outside / "elsewhere.jpg"
    shutil.copyfile(DATA / "coffee.jpg", target)
    env = {"PHOTOTAG_FOLLOW_SYMLINKS": "true"} if follow else {}
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env).start()
    try:
        (inbox / "link.jpg").symlink_to(target)
        reader = IndexReader.open(daemon.state / "index.sqlite3")
        record = wait_for(
            lambda: (r := reader.get(inbox / "link.jpg")) and r.finished_at and r,
            timeout_s=60,
            what="the link to be decided",
            log=daemon.log_path,
        )
        assert record.status == ("done" if follow else "skipped"), record
        assert target.read_bytes() == (DATA / "coffee.jpg").read_bytes()
    finally:
        assert daemon.stop() == 0
