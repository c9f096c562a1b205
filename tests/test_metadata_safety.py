"""A photo is never harmed: for every fixture (photos already carrying other tools'
metadata), the pixels and everything phototag does not write are unchanged, what a person
wrote is kept, and a failure or a crash at any instant leaves the old file or the new one."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import as_list, exiftool
from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult, Tags
from phototag.errors import DiskFull, MetadataWriteError
from phototag.metadata.write import remove_stale_temp_files, write_tags

MAKE_FIXTURES = Path(__file__).parent / "data" / "meta" / "make_fixtures.py"
IN_PLACE = (
    "lightroom.jpg",
    "digikam.jpg",
    "iptc-latin1.jpg",
    "iptc-utf8.jpg",
    "makernote-icc-gps.jpg",
    "person.png",
    "person.tiff",
    "person.webp",
)
# What phototag writes (or exiv2 necessarily rewrites), by exiftool name.
WRITTEN = (
    "IPTC:Keywords",
    "IPTC:ObjectName",
    "IPTC:Caption-Abstract",
    "XMP-dc:Subject",
    "XMP-dc:Title",
    "XMP-dc:Description",
    "XMP-lr:HierarchicalSubject",
    "XMP-iptcCore:AltTextAccessibility",
    "XMP-iptcCore:ExtDescrAccessibility",
)
REWRITTEN = (
    "IPTC:CodedCharacterSet",
    "XMP-x:XMPToolkit",
    "IFD0:StripOffsets",
    # a new IPTC block starts with its records' versions; MWG: the digest of the IPTC
    # phototag wrote, so that readers trust IPTC and XMP alike
    "IPTC:EnvelopeRecordVersion",
    "IPTC:ApplicationRecordVersion",
    "Photoshop:IPTCDigest",
)
RESULT = TagResult(
    tags=Tags(
        title="Titel mit ß",
        caption="Légende 日本語",
        description="Lange Beschreibung",
        keywords=("cat", "Café", "Katze", "🐱"),
        hierarchical=("Tiere|Katze",),
    ),
    backend="local",
    model="efficientnet-lite0",
)


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("meta")
    subprocess.run([sys.executable, str(MAKE_FIXTURES), str(dest)], check=True, capture_output=True)
    return dest


@pytest.fixture(params=IN_PLACE)
def fixture_photo(request: pytest.FixtureRequest, fixtures: Path, tmp_path: Path) -> Path:
    dest = tmp_path / request.param
    shutil.copy2(fixtures / request.param, dest)
    return dest


def everything(path: Path) -> dict[str, object]:
    tags = exiftool(path, args=("-G1", "-a", "-struct", "-b"))[0]
    return {
        k: v
        for k, v in tags.items()
        if not k.startswith(("System:", "File:", "XMP-phototag:", "SourceFile"))
    }


def pixels(path: Path) -> tuple[str, tuple[int, int], bytes, bytes | None]:
    with Image.open(path) as im:
        im.load()
        return im.mode, im.size, im.tobytes(), im.info.get("icc_profile")


def tag(path: Path, result: TagResult = RESULT) -> None:
    write_tags(path, result, settings=MetadataSettings(), expected=FileSig.of(path))


def test_pixels_and_everything_else_are_unchanged(fixture_photo: Path) -> None:
    before, image_before = everything(fixture_photo), pixels(fixture_photo)
    tag(fixture_photo)
    after = everything(fixture_photo)
    assert pixels(fixture_photo) == image_before
    untouched = set(before) | set(after)
    untouched -= {*WRITTEN, *REWRITTEN}
    assert {k: after.get(k) for k in untouched} == {k: before.get(k) for k in untouched}
    assert "Warning" not in str(exiftool(fixture_photo, args=("-Warning", "-Error")))


def test_what_was_there_is_kept_and_retags_never_duplicate(fixture_photo: Path) -> None:
    before = everything(fixture_photo)
    for _ in range(3):
        tag(fixture_photo)
    after = everything(fixture_photo)
    for key in WRITTEN:
        old, new = as_list(before.get(key)), as_list(after.get(key))
        assert new[: len(old)] == old, key  # the person's values first, unchanged
        assert len(new) == len(set(new)), key
    subject = as_list(after["XMP-dc:Subject"])
    assert {"cat", "Katze", "🐱"} <= set(subject)
    if fixture_photo.suffix != ".webp":
        assert after["IPTC:CodedCharacterSet"] == "UTF8"
        assert {"cat", "Katze", "🐱"} <= set(as_list(after["IPTC:Keywords"]))
    else:
        assert not any(k.startswith("IPTC:") for k in after)


def test_latin1_iptc_is_kept_readable_after_the_utf8_declaration(
    fixtures: Path, tmp_path: Path
) -> None:
    photo = tmp_path / "iptc-latin1.jpg"
    shutil.copy2(fixtures / photo.name, photo)
    tag(photo)
    tags = exiftool(photo)[0]
    assert as_list(tags["IPTC:Keywords"])[:3] == ["Moto", "Café racer", "Übergröße"]
    assert tags["IPTC:ObjectName"] == "Rennmaschine für Straße"
    assert tags["IPTC:By-line"] == "José"


@pytest.mark.parametrize(
    ("error", "raised", "message"),
    [  # a full disk is waited out (the job is re-queued); another failure fails the job
        (OSError(28, "No space left on device"), DiskFull, "no space left"),
        (OSError(5, "Input/output error"), MetadataWriteError, "Input/output error"),
    ],
)
def test_a_failed_rename_leaves_the_photo_as_it_was(
    photo: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: OSError,
    raised: type[Exception],
    message: str,
) -> None:
    data, sig = photo.read_bytes(), FileSig.of(photo)

    def refuse(*_args: object) -> None:
        raise error

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(raised, match=message):
        write_tags(photo, RESULT, settings=MetadataSettings(), expected=sig)
    assert photo.read_bytes() == data and FileSig.of(photo) == sig
    assert [p.name for p in photo.parent.iterdir()] == [photo.name]


def test_a_corrupt_file_fails_cleanly(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    with pytest.raises(MetadataWriteError):
        write_tags(broken, RESULT, settings=MetadataSettings(), expected=FileSig.of(broken))
    assert broken.read_bytes() == b"\xff\xd8\xff\xe0 this is not a JPEG"
    assert [p.name for p in tmp_path.iterdir()] == ["broken.jpg"]


def test_a_read_only_photo_fails_with_a_reason(photo: Path) -> None:
    # Mode bits count even when phototag runs as root: a person meant "do not change".
    photo.chmod(0o444)
    data = photo.read_bytes()
    with pytest.raises(MetadataWriteError, match="read-only"):
        tag(photo)
    assert photo.read_bytes() == data


def test_a_read_only_folder_fails_with_a_reason(photo: Path) -> None:
    photo.parent.chmod(0o555)
    try:
        with pytest.raises(MetadataWriteError, match="read-only"):
            tag(photo)
    finally:
        photo.parent.chmod(0o755)


def test_a_read_only_photo_falls_back_to_a_sidecar_when_configured(photo: Path) -> None:
    photo.chmod(0o444)
    data = photo.read_bytes()
    outcome = write_tags(
        photo,
        RESULT,
        settings=MetadataSettings(readonly_fallback="sidecar"),
        expected=FileSig.of(photo),
    )
    assert photo.read_bytes() == data
    assert outcome.sidecar and outcome.target == photo.with_name("chelsea.jpg.xmp")
    assert outcome.sig is None and "read-only" in outcome.note
    assert "cat" in as_list(exiftool(outcome.target)[0]["XMP-dc:Subject"])


CRASH_CHILD = """
import sys
from pathlib import Path
from phototag.config import MetadataSettings
from phototag.metadata.write import write_tags
from phototag.domain import FileSig, TagResult, Tags
photo = Path(sys.argv[1])
print("ready", flush=True)
i = 0
while True:
    i += 1
    tags = Tags(title=f"t{i}", keywords=("cat", f"k{i}"))
    write_tags(photo, TagResult(tags=tags, backend="local", model="m"),
               settings=MetadataSettings(), expected=FileSig.of(photo))
"""


@pytest.mark.parametrize("delay_s", [0.05, 0.13, 0.21, 0.34, 0.55])
def test_a_crash_at_any_instant_leaves_a_whole_photo(photo: Path, delay_s: float) -> None:
    image_before = pixels(photo)
    child = subprocess.Popen(
        [sys.executable, "-c", CRASH_CHILD, str(photo)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    time.sleep(delay_s)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert pixels(photo) == image_before
    tags = exiftool(photo, args=("-G1", "-Warning", "-Error", "-XMP-dc:Subject"))[0]
    assert "ExifTool:Error" not in tags and "ExifTool:Warning" not in tags
    remove_stale_temp_files(photo.parent)
    assert [p.name for p in photo.parent.iterdir()] == [photo.name]
