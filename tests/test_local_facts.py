"""Facts from EXIF and pixels: pure rules, then the real photographs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from phototag.domain import ExifFacts
from phototag.processing.imaging import prepare
from phototag.taggers.local.facts import (
    camera_name,
    fact_keywords,
    focal_class,
    orientation,
    read_facts,
    season,
    time_of_day,
    tones,
)

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("make", "model", "expected"),
    [
        ("Canon", "Canon EOS 5D", "Canon EOS 5D"),
        ("NIKON CORPORATION", "NIKON D3X", "Nikon D3X"),
        ("SONY", "ILCE-7M3", "Sony ILCE-7M3"),
        ("FUJIFILM", "X-T3", "Fujifilm X-T3"),
        ("OLYMPUS IMAGING CORP.", "E-M5", "Olympus E-M5"),
        ("Apple", "iPhone 15 Pro", "Apple iPhone 15 Pro"),
        ("SpaceX", None, "SpaceX"),
        (None, "Mystery 1", "Mystery 1"),
        (None, None, None),
    ],
)
def test_camera_name_drops_the_repeated_make(
    make: str | None, model: str | None, expected: str | None
) -> None:
    assert camera_name(make, model) == expected


def test_focal_class_prefers_the_35mm_equivalent() -> None:
    assert focal_class(ExifFacts(focal_length_mm=24)) == "wide angle"
    assert focal_class(ExifFacts(focal_length_mm=50)) == "normal lens"
    assert focal_class(ExifFacts(focal_length_mm=85)) == "telephoto"
    assert focal_class(ExifFacts(focal_length_mm=6.9, focal_length_35mm=26)) == "wide angle"
    assert focal_class(ExifFacts(focal_length_mm=35, focal_length_35mm=52)) == "normal lens"
    assert focal_class(ExifFacts()) is None


def test_orientation_season_and_time_of_day() -> None:
    assert orientation((6000, 4000)) == "landscape"
    assert orientation((4000, 6000)) == "portrait"
    assert orientation((512, 500)) == "square"
    assert [season(m, latitude=None) for m in (12, 1, 4, 7, 10)] == [
        "winter",
        "winter",
        "spring",
        "summer",
        "autumn",
    ]
    assert season(4, latitude=-33.9) == "autumn"
    assert season(12, latitude=-33.9) == "summer"
    assert [time_of_day(datetime(2020, 1, 1, h)) for h in (3, 8, 13, 19, 23)] == [
        "night",
        "morning",
        "afternoon",
        "evening",
        "night",
    ]


def test_tones_of_plain_images() -> None:
    grey = tones(Image.new("RGB", (300, 200), (128, 128, 128)))
    assert grey.monochrome and grey.colours == ("grey",) and grey.brightness is None
    sky = tones(Image.new("RGB", (300, 200), (40, 110, 230)))
    assert not sky.monochrome and sky.colours == ("blue",)
    half = np.zeros((100, 200, 3), dtype=np.uint8)
    half[:, :100] = (220, 30, 30)
    half[:, 100:] = (250, 250, 250)
    split = tones(Image.fromarray(half))
    assert set(split.colours) == {"red", "white"}
    assert tones(Image.new("RGB", (50, 50), (10, 10, 10))).brightness == "dark"
    assert tones(Image.new("RGB", (50, 50), (240, 240, 235))).brightness == "bright"


def test_facts_of_the_cat_photograph() -> None:
    image = prepare(DATA / "chelsea.jpg", max_edge_px=1024, max_pixels=50_000_000)
    keywords = fact_keywords(read_facts(image))
    assert keywords[:8] == [
        "Canon EOS 5D Mark III",
        "EF24-70mm f/2.8L II USM",
        "wide angle",
        "landscape",
        "2012",
        "December",
        "winter",
        "evening",
    ]
    assert "colour" in keywords and "brown" in keywords
