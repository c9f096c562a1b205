"""Faults that harm a photo or its file (issue 15): model text no reader can parse, writers
still at work, extended attributes and hard links, huge images, a full photo disk, large
sidecars."""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pyexiv2
import pytest

from conftest import DATA, as_list, exiftool
from daemon_harness import DaemonProcess, vlm_env, wait_for
from fakevlm import FakeVLM, Step, answer, slow, tags_json
from phototag.config import MetadataSettings, Settings
from phototag.domain import FileSig, TagResult, Tags
from phototag.errors import BadImage, FileChanged
from phototag.metadata.atomic import Lease, backup_path, check_no_writer, lease
from phototag.metadata.text import valid_text
from phototag.metadata.write import remove_stale_temp_files, write_tags
from phototag.processing.imaging import prepare
from phototag.store.reader import IndexReader
from test_faults import fill_disk


@pytest.fixture
def fake() -> FakeVLM:
    server = FakeVLM().start()
    yield server
    server.stop()


@pytest.mark.slow
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
        ("a title\non two lines\twith a tab", "a title on two lines with a tab"),
        ("Zoë's café 🐈", "Zoë's café 🐈"),
    ],
)
def test_valid_text_for_xmp_and_iptc(raw: str, valid: str) -> None:
    assert valid_text(raw) == valid
    valid_text(raw).encode("utf-8")  # no lone surrogate left


def test_a_caption_keeps_its_paragraphs() -> None:
    caption = "First line.\r\nSecond\tline.\x00\n\nThird."
    assert valid_text(caption, multiline=True) == "First line.\nSecond line.\n\nThird."


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


def _from_scan(jpeg: bytes) -> bytes:
    """A JPEG's bytes from its first start-of-scan marker on: the image data and whatever
    trails it (a Motion Photo's video), which a metadata write must leave bit for bit."""
    at = 2  # after SOI
    while jpeg[at] == 0xFF and jpeg[at + 1] != 0xDA:
        at += 2 + int.from_bytes(jpeg[at + 2 : at + 4], "big")
    assert jpeg[at : at + 2] == b"\xff\xda"
    return jpeg[at:]


def motion_photo() -> tuple[bytes, bytes]:
    """(the JPEG part, the trailing video) of a Motion Photo: a real JPEG with 295 KB after
    its end-of-image marker, as phones append the clip."""
    jpeg = (DATA / "chelsea.jpg").read_bytes()
    assert jpeg.endswith(b"\xff\xd9")
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(random.Random(15).randbytes(295_000))
    return jpeg, video


@pytest.mark.slow
def test_a_copy_that_pauses_is_never_tagged_half_written(tmp_path: Path, fake: FakeVLM) -> None:
    """A writer writes a Motion Photo up to the JPEG's end, pauses longer than debounce_s
    with the file still open, then writes the video on the same descriptor."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    jpeg, video = motion_photo()
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake)).start()
    try:
        with (inbox / "PXL_1.MP.jpg").open("wb") as writer:
            writer.write(jpeg)
            writer.flush()
            daemon.wait_heartbeats(2)  # >= 2 s, four times debounce_s, the file open
            assert not daemon.jsonl()  # nothing tagged while the writer is at work
            writer.write(video)
        status = daemon.wait_done(1)
        assert status["counts"].get("failed", 0) == 0
        final = (inbox / "PXL_1.MP.jpg").read_bytes()
        assert _from_scan(final) == _from_scan(jpeg + video)  # image and video bit for bit
        (meta,) = exiftool(inbox / "PXL_1.MP.jpg")
        assert meta["XMP-dc:Title"] == "A tabby cat"
        assert [r["status"] for r in daemon.jsonl()] == ["done"]
        assert daemon.stop() == 0
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill()


@pytest.mark.slow
def test_a_file_still_open_for_writing_at_start_waits_for_its_writer(
    tmp_path: Path, fake: FakeVLM
) -> None:
    """The catch-up scan finds a file quiet for longer than debounce_s: only the kernel
    lease shows that its writer still holds it open."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    jpeg, video = motion_photo()
    path = inbox / "PXL_2.MP.jpg"
    with path.open("wb") as writer:
        writer.write(jpeg)
        writer.flush()
        os.utime(path, ns=(time.time_ns() - 60 * 10**9,) * 2)  # looks long settled
        daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake))
        try:
            daemon.start()
            wait_for(
                lambda: "still open for writing" in daemon.log_path.read_text(),
                timeout_s=30,
                what="the job deferred while the file is open",
                log=daemon.log_path,
            )
            assert not daemon.jsonl() and not fake.chat_requests[2:]  # only the probes
            writer.write(video)
        except BaseException:
            daemon.kill()
            raise
    try:
        daemon.wait_done(1)
        assert _from_scan(path.read_bytes()) == _from_scan(jpeg + video)
        assert [r["status"] for r in daemon.jsonl()] == ["done"]
        assert daemon.stop() == 0
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill()


@pytest.mark.slow
def test_a_photo_opened_by_another_process_during_tagging_is_not_replaced(
    tmp_path: Path, fake: FakeVLM
) -> None:
    """A process opens the photo while the model is answering: the rename waits (the job is
    re-queued) until no one else holds it open."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake)).start()
    try:
        assert daemon.wait_heartbeats(1)["health"]["ok"]
        fake.script(answer(tags_json(title="Held open"), delay_s=1.5))
        path = inbox / "cat.jpg"
        shutil.copyfile(DATA / "chelsea.jpg", path)
        wait_for(lambda: fake.pending == 0, timeout_s=30, what="the tag request")
        with path.open("r+b"):  # e.g. an editor that opened it, not yet writing
            wait_for(
                lambda: "open in another process" in daemon.log_path.read_text(),
                timeout_s=30,
                what="the rename refused while the file is open",
                log=daemon.log_path,
            )
            assert exiftool(path)[0].get("XMP-dc:Title") is None
        daemon.wait_done(1)
        assert exiftool(path)[0]["XMP-dc:Title"] in ("Held open", "A tabby cat")
        assert daemon.stop() == 0
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill()


# a POSIX ACL as the kernel stores it (acl_ea.h): version 2, then (tag, perm, id) entries
_ACL_UNDEFINED_ID = 0xFFFFFFFF


def posix_acl(*, user_id: int) -> bytes:
    """The ACL ``setfacl -m u:<user_id>:r`` gives a 0644 file."""
    entries = [(0x01, 6, _ACL_UNDEFINED_ID), (0x02, 4, user_id), (0x04, 4, _ACL_UNDEFINED_ID)]
    entries += [(0x10, 4, _ACL_UNDEFINED_ID), (0x20, 4, _ACL_UNDEFINED_ID)]
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


DESKTOP_XATTRS = {
    "user.xdg.tags": b"family,holiday",
    "user.xdg.comment": b"Grandma's 80th",
    "user.baloo.rating": b"8",
}


def tagged_result(title: str = "A cat") -> TagResult:
    return TagResult(tags=Tags(title=title, keywords=("cat",)), backend="local", model="m")


def xattrs_of(path: Path) -> dict[str, bytes]:
    return {name: os.getxattr(path, name) for name in os.listxattr(path)}


@pytest.fixture
def xattr_photo(tmp_path: Path) -> Path:
    """The cat with desktop tags, a rating, a comment and an ACL ``u:4242:r``, on a
    filesystem that keeps them (the test is skipped where none does)."""
    path = tmp_path / "cat.jpg"
    shutil.copyfile(DATA / "chelsea.jpg", path)
    path.chmod(0o644)
    try:
        for name, value in DESKTOP_XATTRS.items():
            os.setxattr(path, name, value)
        os.setxattr(path, "system.posix_acl_access", posix_acl(user_id=4242))
    except OSError as exc:
        pytest.skip(f"{tmp_path} keeps no user xattrs or ACLs: {exc}")
    return path


def test_an_in_place_write_keeps_xattrs_acl_mode_owner_and_times(xattr_photo: Path) -> None:
    if os.geteuid() == 0:
        os.chown(xattr_photo, 4242, 4243)
    os.utime(xattr_photo, ns=(1_600_000_000 * 10**9, 1_500_000_000 * 10**9))
    before = os.stat(xattr_photo)
    attrs = xattrs_of(xattr_photo)
    outcome = write_tags(
        xattr_photo, tagged_result(), settings=MetadataSettings(), expected=FileSig.of(xattr_photo)
    )
    assert outcome.written and not outcome.sidecar
    after = os.stat(xattr_photo)
    assert after.st_ino != before.st_ino  # a new file, renamed over the old one
    assert xattrs_of(xattr_photo) == attrs
    assert os.getxattr(xattr_photo, "system.posix_acl_access") == posix_acl(user_id=4242)
    assert (after.st_mode, after.st_uid, after.st_gid) == (
        before.st_mode,
        before.st_uid,
        before.st_gid,
    )
    assert after.st_mtime_ns == before.st_mtime_ns
    assert exiftool(xattr_photo)[0]["XMP-dc:Title"] == "A cat"


def test_a_hard_linked_photo_gets_a_sidecar_and_stays_linked(tmp_path: Path) -> None:
    photo = tmp_path / "inbox" / "cat.jpg"
    album = tmp_path / "album" / "cat.jpg"
    photo.parent.mkdir()
    album.parent.mkdir()
    shutil.copyfile(DATA / "chelsea.jpg", photo)
    os.link(photo, album)
    original = photo.read_bytes()
    outcome = write_tags(
        photo, tagged_result(), settings=MetadataSettings(), expected=FileSig.of(photo)
    )
    assert outcome.sidecar and outcome.note == "sidecar: 2 hard links"
    assert outcome.target == photo.with_name("cat.jpg.xmp")
    assert exiftool(outcome.target)[0]["XMP-dc:Title"] == "A cat"
    assert photo.read_bytes() == original
    assert os.stat(photo).st_nlink == 2 and os.path.samefile(photo, album)


def test_in_place_hardlinks_rewrite_the_same_inode(xattr_photo: Path, tmp_path: Path) -> None:
    album = tmp_path / "album.jpg"
    os.link(xattr_photo, album)
    inode = os.stat(xattr_photo).st_ino
    attrs = xattrs_of(xattr_photo)
    scan = _from_scan(xattr_photo.read_bytes())
    outcome = write_tags(
        xattr_photo,
        tagged_result(),
        settings=MetadataSettings(hardlinks="in-place"),
        expected=FileSig.of(xattr_photo),
    )
    assert outcome.written and not outcome.sidecar
    assert os.stat(xattr_photo).st_ino == inode and os.stat(album).st_nlink == 2
    assert [m["XMP-dc:Title"] for m in exiftool(xattr_photo, album)] == ["A cat", "A cat"]
    assert _from_scan(album.read_bytes()) == scan
    assert xattrs_of(album) == attrs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["album.jpg", "cat.jpg"]  # no backup


def test_an_interrupted_same_inode_rewrite_is_undone_at_the_next_start(tmp_path: Path) -> None:
    photo = tmp_path / "cat.jpg"
    shutil.copyfile(DATA / "chelsea.jpg", photo)
    original = photo.read_bytes()
    backup = backup_path(photo, inode=photo.stat().st_ino)
    backup.write_bytes(original)  # complete, then a crash ...
    with photo.open("r+b") as fh:
        fh.truncate(1000)  # ... half-way through writing the new bytes
    os.link(photo, tmp_path / "album.jpg")
    assert remove_stale_temp_files(tmp_path) == 1
    assert photo.read_bytes() == original == (tmp_path / "album.jpg").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["album.jpg", "cat.jpg"]


def test_a_backup_whose_photo_was_replaced_since_is_kept(tmp_path: Path) -> None:
    photo = tmp_path / "cat.jpg"
    photo.write_bytes(b"the person's newer photo")
    backup = backup_path(photo, inode=photo.stat().st_ino + 1)  # made of another file
    backup.write_bytes(b"old bytes of a file that is gone")
    assert remove_stale_temp_files(tmp_path) == 0
    assert photo.read_bytes() == b"the person's newer photo" and backup.exists()


def _vips_black(path: Path, width: int, height: int) -> Path:
    """A large image made by libvips, which streams it (Pillow would hold it in memory)."""
    subprocess.run(
        ["vips", "black", str(path), str(width), str(height), "--bands", "3"], check=True
    )
    return path


_PEAK_RSS = """
import resource, sys
from pathlib import Path
from phototag.processing.imaging import prepare
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
image = prepare(Path(sys.argv[1]), max_edge_px=1024, max_pixels=200_000_000)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(image.image.size[0], image.image.size[1], (after - before) // 1024)
"""


needs_vips = pytest.mark.skipif(shutil.which("vips") is None, reason="needs libvips-tools")


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 9400x9400 PNG: 88 MP, 258 KB on disk, 265 MB as RGB."""
    png = _vips_black(tmp_path_factory.mktemp("huge") / "huge.png", 9400, 9400)
    assert png.stat().st_size < 1_000_000
    return png


@pytest.mark.slow
@needs_vips
def test_decoding_a_9400_px_png_keeps_memory_bounded(huge_png: Path) -> None:
    png = huge_png
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(png)], capture_output=True, text=True, check=True
    )
    width, height, grown_mb = map(int, out.stdout.split())
    assert (width, height) == (1024, 1024)
    assert grown_mb < 100, f"decoding took the process {grown_mb} MB higher"  # was 340 MB


@needs_vips
def test_max_image_pixels_is_the_one_limit(tmp_path: Path, huge_png: Path) -> None:
    gfx100 = _vips_black(tmp_path / "gfx100.jpg", 11648, 8736)  # 101.8 MP: over Pillow's 89.5
    image = prepare(gfx100, max_edge_px=1024, max_pixels=200_000_000)
    assert image.original_size == (11648, 8736) and max(image.image.size) == 1024
    with pytest.raises(BadImage, match="over the limit of 100"):
        prepare(gfx100, max_edge_px=1024, max_pixels=100_000_000)
    png = huge_png
    with pytest.raises(BadImage, match="over the limit of 50"):
        prepare(png, max_edge_px=512, max_pixels=50_000_000)
    assert max(prepare(png, max_edge_px=512, max_pixels=90_000_000).image.size) == 512


@pytest.mark.slow
def test_a_job_that_crashes_the_daemon_fails_after_max_attempts(
    tmp_path: Path, fake: FakeVLM
) -> None:
    """Each start finds the photo in flight (the daemon died on it, as under a memory limit):
    it is tried again until max_attempts (3 by default; 2 here), then fails instead of
    taking every later start down."""
    assert Settings().max_attempts == 3
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copyfile(DATA / "chelsea.jpg", inbox / "killer.jpg")
    env = vlm_env(fake, PHOTOTAG_MAX_ATTEMPTS="2")
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env)
    for crash in range(2):
        seen = len(fake.chat_requests)
        fake.script(Step(), Step(), slow(60))  # the two probes, then the photo: in flight
        daemon.start()
        wait_for(
            lambda seen=seen: any(r.images for r in fake.chat_requests[seen + 2 :]),
            timeout_s=30,
            what=f"the photo in flight (start {crash + 1})",
            log=daemon.log_path,
        )
        daemon.kill()
        fake.clear()
    daemon.start()
    try:
        wait_for(
            lambda: daemon.status()["counts"].get("failed") == 1,
            timeout_s=30,
            what="the job to fail",
            log=daemon.log_path,
        )
        (record,) = IndexReader.open(daemon.state / "index.sqlite3").records(status="failed")
        assert record.last_error == "crashed the tagger 2 times"
        assert "crashed the tagger 2 times" in daemon.log_path.read_text()
        daemon.wait_heartbeats(1)  # this start's own heartbeat: it is up, not the last one
        assert daemon.stop() == 0
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill()


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_full_photo_disk_pauses_and_the_job_finishes_once_there_is_room(
    tmp_path: Path, fake: FakeVLM
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", inbox], check=True)
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake))
    try:
        daemon.start()
        assert daemon.wait_heartbeats(1)["health"]["ok"]
        fake.script(answer(tags_json(title="After the cleanup"), delay_s=1.5))
        photo = inbox / "cat.jpg"
        shutil.copyfile(DATA / "chelsea.jpg", photo)
        original = photo.read_bytes()
        wait_for(lambda: fake.pending == 0, timeout_s=30, what="the tag request")
        filler = fill_disk(inbox, name=".filler")  # the disk fills while the model answers
        wait_for(
            lambda: "is full" in daemon.log_path.read_text(),
            timeout_s=30,
            what="the photo disk's full error",
            log=daemon.log_path,
        )
        status = daemon.wait_heartbeats(2)  # paused: the job waits, it is not failed
        assert status["counts"].get("failed", 0) == 0 and status["counts"].get("done", 0) == 0
        assert photo.read_bytes() == original
        assert not [p for p in inbox.iterdir() if p.name.startswith(".phototag-")]
        filler.unlink()
        status = daemon.wait_done(1)
        assert status["counts"].get("failed", 0) == 0
        assert exiftool(photo)[0]["XMP-dc:Title"] in ("After the cleanup", "A tabby cat")
        log = daemon.log_path.read_text()
        assert log.count("is full") == 1 and "has room again" in log
        assert "Traceback" not in log
        assert daemon.stop() == 0
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill()
        subprocess.run(["umount", "-l", inbox], check=False)


def test_a_lease_break_does_not_end_the_holder(tmp_path: Path) -> None:
    """Another process opens a file phototag holds a lease on: its open waits for the
    release, and the lease-break signal (SIGIO by default, which ends a process) is not
    one that ends this one."""
    path = tmp_path / "held.jpg"
    path.write_bytes(b"photo")
    with lease(path, exclusive=True) as got:
        assert got is Lease.HELD
        opener = subprocess.Popen([sys.executable, "-c", f"open({str(path)!r}, 'rb').read()"])
        wait_for(
            lambda: "BREAKING" in Path("/proc/locks").read_text(),
            timeout_s=30,
            what="the other process to wait on the lease",
        )
        assert opener.poll() is None  # it waits while the lease is held
    assert opener.wait(timeout=30) == 0  # released: it opened the file


def test_no_lease_is_held_while_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "busy.jpg"
    with path.open("wb") as writer:
        writer.write(b"half a photo")
        with lease(path, exclusive=False) as got:
            assert got is Lease.REFUSED
        with pytest.raises(FileChanged, match="still open for writing"):
            check_no_writer(path, quiet_s=30, now_ns=time.time_ns())
    with lease(path, exclusive=True) as got:
        assert got is Lease.HELD
    check_no_writer(path, quiet_s=30, now_ns=time.time_ns())
