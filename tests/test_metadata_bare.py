"""A JPEG with no metadata block is known without exiftool, and plans exactly as exiftool's
read of it does; anything else is still read by exiftool."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult, Tags
from phototag.errors import MetadataWriteError
from phototag.metadata import read, write
from phototag.metadata.bare import is_bare_jpeg
from phototag.metadata.exiftool import ExifTool, shared
from phototag.metadata.merge import plan_write
from phototag.metadata.read import BARE_JPEG_TAGS, decode_iptc, read_snapshot, reconcile

RESULT = TagResult(
    tags=Tags(
        title="Red square",
        caption="A red square on grey.",
        description="A red square on a grey ground.",
        keywords=("square", "red"),
        hierarchical=("Shapes|Square",),
    ),
    backend="local",
    model="m",
)
# the groups phototag's reader, planner, show and undo look at
READ_GROUPS = ("XMP-", "IPTC:", "IFD0:", "Photoshop:", "File:CurrentIPTCDigest")


def _image() -> Image.Image:
    image = Image.new("RGB", (64, 48), (128, 128, 128))
    image.paste((200, 30, 30), (10, 10, 30, 30))
    return image


def _save(path: Path, **options: object) -> Path:
    _image().save(path, "JPEG", quality=85, **options)
    return path


def _srgb() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


BARE = {
    "baseline": {},
    "progressive": {"progressive": True},
    "icc": {"icc_profile": None},  # filled in below: an sRGB profile in APP2
    "restart": {"restart_marker_blocks": 1},
}


@pytest.mark.parametrize("kind", sorted(BARE))
def test_a_bare_jpeg_plans_as_exiftools_read_of_it(tmp_path: Path, kind: str) -> None:
    options = {**BARE[kind]}
    if kind == "icc":
        options["icc_profile"] = _srgb()
    photo = _save(tmp_path / "a.jpg", **options)
    assert is_bare_jpeg(photo)

    exif_tags = shared().read(photo)
    assert not [k for k in exif_tags if k.startswith(READ_GROUPS)]
    assert {k: exif_tags[k] for k in BARE_JPEG_TAGS} == BARE_JPEG_TAGS

    known = read_snapshot(photo, tool=ExifTool(executable="/nonexistent/exiftool"))
    tags, charset = decode_iptc(exif_tags)
    assert (known.iptc_charset, known.person) == (charset, reconcile(tags))
    for iptc in (True, False):

        def plan(snapshot: read.Snapshot, iptc: bool = iptc) -> object:
            return plan_write(
                snapshot=snapshot,
                iptc=iptc,
                result=RESULT,
                previous=None,
                overwrite="fill-empty",
                source=None,
                time_iso="2026-12-01T00:00:00+00:00",
            )

        assert plan(known) == plan(read.Snapshot(tags, charset, reconcile(tags)))


def _iptc(path: Path) -> Path:
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", "-IPTC:Keywords=mine", str(path)], check=True
    )
    return path


def _trailer(path: Path) -> Path:
    with path.open("ab") as fh:
        fh.write(b"trailing data")
    return path


def _truncated(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[:-2])
    return path


def _png(path: Path) -> Path:
    out = io.BytesIO()
    _image().save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


EXIF = Image.Exif()
EXIF[0x010E] = "my description"  # IFD0 ImageDescription

NOT_BARE = {
    "exif": lambda p: _save(p, exif=EXIF.tobytes()),
    "xmp": lambda p: _save(p, xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>'),
    "comment": lambda p: _save(p, comment=b"a comment"),
    "iptc": lambda p: _iptc(_save(p)),
    "trailer": lambda p: _trailer(_save(p)),
    "truncated": lambda p: _truncated(_save(p)),
    "png": _png,
    "missing": lambda p: p,
}


@pytest.mark.parametrize("kind", sorted(NOT_BARE))
def test_anything_else_is_read_by_exiftool(tmp_path: Path, kind: str) -> None:
    photo = NOT_BARE[kind](tmp_path / "a.jpg")
    assert not is_bare_jpeg(photo)
    with pytest.raises(MetadataWriteError):
        read_snapshot(photo, tool=ExifTool(executable="/nonexistent/exiftool"))


def test_a_dry_run_on_a_bare_jpeg_asks_exiftool_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare, tagged = _save(tmp_path / "bare.jpg"), _save(tmp_path / "exif.jpg", exif=EXIF.tobytes())
    monkeypatch.setattr(write, "shared", lambda: ExifTool(executable="/nonexistent/exiftool"))
    settings = MetadataSettings()

    outcome = write.write_tags(
        bare, RESULT, settings=settings, expected=FileSig.of(bare), dry_run=True
    )
    assert not outcome.written and "Xmp.dc.title" in outcome.fields
    with pytest.raises(MetadataWriteError, match="cannot start exiftool"):
        write.write_tags(
            tagged, RESULT, settings=settings, expected=FileSig.of(tagged), dry_run=True
        )
