"""The image-data hash: the same after a metadata edit (exiftool's, or phototag's own
write), different after a change to the pixels, for every format phototag writes."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from conftest import DATA
from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult, Tags
from phototag.metadata.imagehash import hash_file, pixels_sha256
from phototag.metadata.write import write_tags
from phototag.processing.imaging import prepare
from rawfixture import write_dng

FORMATS = ("jpg", "png", "webp", "tif")


def picture(*, dot: bool = False) -> Image.Image:
    image = Image.open(DATA / "chelsea.jpg").convert("RGB")
    if dot:
        image.putpixel((10, 10), (255, 0, 255))
    return image


def exiftool_edit(path: Path) -> None:
    """A person's metadata edit with another tool (exiftool rewrites the whole file)."""
    subprocess.run(
        [
            "exiftool",
            "-q",
            "-overwrite_original",
            "-XMP-dc:Subject+=Chelsea",
            "-XMP-dc:Title=My cat",
            "-EXIF:Artist=Me",
            "-IPTC:Keywords+=Chelsea",
            str(path),
        ],
        check=True,
    )


@pytest.mark.parametrize("ext", FORMATS)
def test_same_after_an_exiftool_metadata_edit(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"cat.{ext}"
    picture().save(path)
    before = hash_file(path)
    exiftool_edit(path)
    after = hash_file(path)
    assert after.sha256 != before.sha256  # the file did change
    assert after.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert before.image_sha256 is not None
    assert after.image_sha256 == before.image_sha256


@pytest.mark.parametrize("ext", FORMATS)
def test_different_after_a_pixel_change(tmp_path: Path, ext: str) -> None:
    picture().save(tmp_path / f"a.{ext}")
    picture(dot=True).save(tmp_path / f"b.{ext}")
    a, b = hash_file(tmp_path / f"a.{ext}"), hash_file(tmp_path / f"b.{ext}")
    assert a.image_sha256 and b.image_sha256 and a.image_sha256 != b.image_sha256


@pytest.mark.parametrize("ext", FORMATS)
def test_same_after_phototags_own_write(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"cat.{ext}"
    picture().save(path)
    before = hash_file(path)
    result = TagResult(
        tags=Tags(title="A cat", caption="A cat.", keywords=("cat", "tabby")),
        backend="local",
        model="test",
    )
    outcome = write_tags(path, result, settings=MetadataSettings(), expected=FileSig.of(path))
    assert outcome.written
    after = hash_file(path)
    assert after.sha256 == outcome.sha256 != before.sha256
    assert after.image_sha256 == before.image_sha256


def test_a_dng_raw_same_after_an_edit_different_with_other_pixels(tmp_path: Path) -> None:
    path = write_dng(tmp_path / "IMG.dng", picture())
    before = hash_file(path)
    exiftool_edit(path)
    assert hash_file(path).image_sha256 == before.image_sha256 is not None
    other = write_dng(tmp_path / "other.dng", picture(dot=True))
    assert hash_file(other).image_sha256 != before.image_sha256


def test_an_unknown_or_broken_format_has_no_image_hash(tmp_path: Path) -> None:
    text = tmp_path / "notes.heic"
    text.write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(100))
    assert hash_file(text).image_sha256 is None
    cut = tmp_path / "cut.png"
    picture().save(cut)
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    hashes = hash_file(cut)
    assert hashes.image_sha256 is None
    assert hashes.sha256 == hashlib.sha256(data[: len(data) // 2]).hexdigest()


def test_heic_falls_back_to_the_decoded_pixels(tmp_path: Path) -> None:
    path = tmp_path / "cat.heic"
    picture().save(path, format="HEIF")
    other = tmp_path / "other.heic"
    picture(dot=True).resize((300, 200)).save(other, format="HEIF")
    assert hash_file(path).image_sha256 is None  # no parser for HEIF's boxes

    def pixels(p: Path) -> str:
        return pixels_sha256(prepare(p, max_edge_px=256, max_pixels=50_000_000).image)

    before = pixels(path)
    exiftool_edit(path)
    assert pixels(path) == before
    assert pixels(other) != before
