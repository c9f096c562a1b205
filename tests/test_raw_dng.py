"""A real RAW file end to end: a DNG (written by tests/rawfixture.py) that libraw opens.

phototag must tag a RAW from the preview its camera embedded and never decode (or even
unpack) the sensor data. The fixture's preview and its raw CFA data are different pictures
(the raw data is flat green), so every test can tell which one phototag looked at.
"""

from __future__ import annotations

import io
import time
from datetime import datetime
from pathlib import Path
from typing import Literal

import pytest
import rawpy
from PIL import Image, ImageOps, ImageStat

from conftest import DATA, as_list, exiftool
from daemon_harness import DaemonProcess
from phototag.processing.imaging import prepare
from phototag.processing.raw import open_preview
from rawfixture import MAKE, MODEL, write_dng

LIMITS = {"max_edge_px": 384, "max_pixels": 50_000_000}
COLOURS = ((220, 30, 30), (30, 30, 220), (240, 240, 240), (20, 20, 20))  # no green anywhere


def quadrants(size: tuple[int, int] = (160, 120)) -> Image.Image:
    """Red, blue / white, black quadrants: every orientation of it looks different."""
    width, height = size
    image = Image.new("RGB", size)
    boxes = ((0, 0), (width // 2, 0), (0, height // 2), (width // 2, height // 2))
    for (left, top), colour in zip(boxes, COLOURS, strict=True):
        image.paste(colour, (left, top, left + width // 2, top + height // 2))
    return image


def quadrant_means(image: Image.Image) -> list[tuple[float, ...]]:
    width, height = image.size
    boxes = ((0, 0), (width // 2, 0), (0, height // 2), (width // 2, height // 2))
    return [
        tuple(ImageStat.Stat(image.crop((x, y, x + width // 2, y + height // 2))).mean)
        for x, y in boxes
    ]


def upright(preview: Image.Image, orientation: int) -> Image.Image:
    """What a viewer shows: Pillow's own reading of the EXIF orientation."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    preview.save(buf, format="PNG", exif=exif.tobytes())
    return ImageOps.exif_transpose(Image.open(buf)).convert("RGB")


def test_the_fixture_is_a_dng_that_libraw_and_exiftool_read(tmp_path: Path) -> None:
    path = write_dng(tmp_path / "IMG_1.dng", quadrants(), orientation=6)
    (meta,) = exiftool(path, args=("-G1", "-a"))
    assert meta["File:FileType"] == "DNG"
    assert meta["IFD0:DNGVersion"] == "1.4.0.0"
    assert meta["IFD0:SubfileType"] == "Reduced-resolution image"
    assert meta["IFD0:Orientation"] == "Rotate 90 CW"
    assert meta["SubIFD:SubfileType"] == "Full-resolution image"
    assert meta["SubIFD:PhotometricInterpretation"] == "Color Filter Array"
    assert meta["Composite:CFAPattern"] == "[Red,Green][Green,Blue]"
    with rawpy.imread(str(path)) as raw:
        assert raw.sizes.flip == 6
        thumb = raw.extract_thumb()
        assert thumb.format == rawpy.ThumbFormat.JPEG
        preview = Image.open(io.BytesIO(thumb.data))
        assert preview.size == (160, 120)
        for got, want in zip(quadrant_means(preview), COLOURS, strict=True):
            assert got == pytest.approx(want, abs=4)
        # libraw reads the sensor data too (the test below proves phototag never does)
        assert raw.raw_image.shape == (48, 64)
        assert raw.raw_pattern.tolist() == [[0, 1], [3, 2]] and raw.color_desc == b"RGBG"
        assert raw.raw_image[:2, :2].tolist() == [[0, 50000], [50000, 0]]
        assert raw.postprocess().reshape(-1, 3).mean(axis=0).tolist() == [0, 255, 0]


@pytest.mark.parametrize("preview_format", ["jpeg", "rgb"])  # libraw: JPEG or BITMAP thumb
@pytest.mark.parametrize("orientation", range(1, 9))
def test_prepare_returns_the_upright_preview_not_the_raw_data(
    tmp_path: Path, orientation: int, preview_format: Literal["jpeg", "rgb"]
) -> None:
    preview = quadrants()
    path = write_dng(
        tmp_path / "IMG_1.dng", preview, orientation=orientation, preview_format=preview_format
    )
    prepared = prepare(path, **LIMITS)
    want = upright(preview, orientation)
    assert prepared.image.mode == "RGB"
    assert prepared.image.size == want.size == prepared.original_size
    for got, expected in zip(quadrant_means(prepared.image), quadrant_means(want), strict=True):
        assert got == pytest.approx(expected, abs=4)
    red, green, blue = ImageStat.Stat(prepared.image).mean  # the raw data is all green
    assert green < min(red, blue)


def test_the_raw_data_is_never_even_read(tmp_path: Path) -> None:
    path = write_dng(tmp_path / "IMG_1.dng", quadrants(), raw_size=(64, 48))
    path.write_bytes(path.read_bytes()[: -64 * 48 * 2])  # cut the sensor data off
    with rawpy.imread(str(path)) as raw, pytest.raises(rawpy.LibRawIOError):
        raw.unpack()
    prepared = prepare(path, **LIMITS)
    assert quadrant_means(prepared.image)[0] == pytest.approx(COLOURS[0], abs=4)


def test_camera_and_date_come_through_and_a_missing_date_stays_missing(tmp_path: Path) -> None:
    taken = datetime(2024, 7, 14, 18, 30, 5)
    dated = prepare(write_dng(tmp_path / "a.dng", quadrants(), taken=taken), **LIMITS)
    assert (dated.exif.make, dated.exif.model, dated.exif.captured_at) == (MAKE, MODEL, taken)
    undated = prepare(write_dng(tmp_path / "b.dng", quadrants()), **LIMITS)
    assert undated.exif.make == MAKE
    assert undated.exif.captured_at is None  # libraw says 1970-01-01 (its epoch) here


def test_a_missing_date_stays_missing_in_any_time_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_dng(tmp_path / "b.dng", quadrants())
    try:
        for zone in ("America/New_York", "Asia/Tokyo"):  # libraw's epoch is in local time
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            exif = open_preview(path).getexif()
            assert 0x0132 not in exif and 0x9003 not in exif.get_ifd(0x8769)  # DateTime(Original)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.slow
@pytest.mark.parametrize(("naming", "sidecar"), [("append", "IMG.dng.xmp"), ("replace", "IMG.xmp")])
def test_the_daemon_tags_a_dng_into_a_sidecar(tmp_path: Path, naming: str, sidecar: str) -> None:
    inbox, staging = tmp_path / "inbox", tmp_path / "staging"
    inbox.mkdir()
    staging.mkdir()
    cat = Image.open(DATA / "chelsea.jpg").convert("RGB")  # landscape, 451x300
    # stored on its side, as a camera held upright stores it, with Orientation 8 to undo that
    dng = write_dng(
        staging / "IMG.dng",
        cat.transpose(Image.Transpose.ROTATE_270),
        orientation=8,
        taken=datetime(2024, 7, 14, 18, 30, 5),
    )
    original = dng.read_bytes()
    env = {
        "PHOTOTAG_METADATA__SIDECAR_NAMING": naming,
        "PHOTOTAG_LOCAL__FACT_KEYWORDS": '["date", "camera"]',  # facts are opt-in (issue 16)
    }
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env).start()
    try:
        dng.rename(inbox / "IMG.dng")
        status = daemon.wait_done(1)
        assert status["counts"]["done"] == 1, daemon.jsonl()
    finally:
        assert daemon.stop() == 0
    assert (inbox / "IMG.dng").read_bytes() == original  # the RAW is never rewritten
    assert sorted(p.name for p in inbox.iterdir()) == sorted(["IMG.dng", sidecar])
    (meta,) = exiftool(
        inbox / sidecar,
        args=("-XMP-dc:Subject", "-XMP-dc:Title", "-XMP-lr:All"),
    )
    keywords = [str(k) for k in as_list(meta.get("Subject"))]
    hierarchy = [str(k) for k in as_list(meta.get("HierarchicalSubject"))]
    assert meta.get("Title") and keywords, meta
    assert "cat" in keywords  # the tagger saw the preview (the raw data is flat green)
    # Changed with issue 16: orientation is no keyword ("landscape" is a genre) and facts
    # are switched-on hierarchical keywords; the description still says the frame.
    assert "landscape" not in keywords and "portrait" not in keywords
    assert "Date|2024|July" in hierarchy and not any("1970" in h for h in hierarchy)
    assert any(h.startswith("Camera|") and MODEL.split()[-1] in h for h in hierarchy), hierarchy
    (record,) = daemon.jsonl()
    assert record["metadata"]["sidecar"] is True
    assert "Horizontal frame" in record["description"]  # Orientation 8 applied
