"""RAW photos are tagged from their embedded preview, never decoded in full."""

from __future__ import annotations

from pathlib import Path

import pytest

from phototag.errors import BadImage
from phototag.processing.imaging import prepare
from phototag.processing.raw import is_raw, orientation_of_flip


@pytest.mark.parametrize(
    "name", ["a.CR2", "a.cr3", "a.NEF", "a.ARW", "a.dng", "a.raf", "a.ORF", "a.rw2"]
)
def test_raw_suffixes_are_recognised(name: str) -> None:
    assert is_raw(Path(name))


@pytest.mark.parametrize("name", ["a.jpg", "a.heic", "a.png", "a.xmp"])
def test_other_suffixes_are_not_raw(name: str) -> None:
    assert not is_raw(Path(name))


@pytest.mark.parametrize(
    ("flip", "orientation"),
    [(0, 1), (1, 2), (2, 4), (3, 3), (4, 5), (5, 8), (6, 6), (7, 7), (9, 1)],
)
def test_libraw_flip_maps_to_exif_orientation(flip: int, orientation: int) -> None:
    assert orientation_of_flip(flip) == orientation


def test_a_file_libraw_cannot_read_is_a_bad_image(tmp_path: Path) -> None:
    fake = tmp_path / "IMG_1.CR3"
    fake.write_bytes(b"\x00" * 4096)
    with pytest.raises(BadImage, match="RAW"):
        prepare(fake, max_edge_px=256, max_pixels=50_000_000)
