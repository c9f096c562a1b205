"""Facts from EXIF and pixels: pure rules, then the real photographs."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from phototag.domain import ExifFacts
from phototag.processing.imaging import prepare
from phototag.taggers.local.facts import (
    FactKind,
    agreeing_time_of_day,
    camera_name,
    crop_factor,
    fact_hierarchy,
    focal_class,
    local_time,
    orientation,
    percentile,
    read_facts,
    season,
    time_of_day,
    tones,
)

DATA = Path(__file__).parent / "data"
BENCH_PHOTOS = Path(__file__).parent.parent / "bench" / "quality" / "photos"


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


def test_focal_class_is_always_the_35mm_equivalent() -> None:
    # Changed with issue 16: the real focal length alone no longer gives a class (7.5 mm on
    # a compact is about 36 mm equivalent, not "wide angle"); unknown crop -> no class.
    assert focal_class(ExifFacts(focal_length_mm=24)) is None
    assert focal_class(ExifFacts(focal_length_mm=7.5)) is None
    assert focal_class(ExifFacts(focal_length_mm=6.9, focal_length_35mm=26)) == "wide angle"
    assert focal_class(ExifFacts(focal_length_mm=35, focal_length_35mm=52)) == "normal lens"
    assert focal_class(ExifFacts(focal_length_mm=85, focal_length_35mm=85)) == "telephoto"
    assert focal_class(ExifFacts()) is None
    # a 1/2.3" compact: 6.17 x 4.55 mm sensor, 4000 x 3000 px -> crop about 5.6
    compact = ExifFacts(
        focal_length_mm=7.5,
        focal_plane_px_per_mm=(4000 / 6.17, 3000 / 4.55),
        sensor_px=(4000, 3000),
    )
    assert crop_factor(compact) == pytest.approx(5.64, abs=0.05)
    assert focal_class(compact) == "normal lens"
    nonsense = ExifFacts(focal_length_mm=50, focal_plane_px_per_mm=(0.1, 0.1), sensor_px=(10, 10))
    assert crop_factor(nonsense) is None and focal_class(nonsense) is None


def test_crop_factor_from_a_real_canon_photo() -> None:
    # mate-backgrounds' Storm.jpg: Canon EOS 400D at 18 mm, FocalPlaneXResolution 4433/inch
    # for 3888 px (a 22.2 mm APS-C sensor): 18 mm x 1.6 = 29 mm equivalent, wide angle
    image = prepare(BENCH_PHOTOS / "mate-storm.jpg", max_edge_px=384, max_pixels=50_000_000)
    assert crop_factor(image.exif) == pytest.approx(1.6, abs=0.03)
    assert read_facts(image).focal_class == "wide angle"


def test_local_time_trusts_offset_then_gps_then_the_clock() -> None:
    clock = datetime(2015, 6, 21, 2, 5)
    assert local_time(ExifFacts(captured_at=clock, utc_offset_min=180)) == clock
    # GPS says 10:00 UTC at 150 E (Sydney): 20:00 local solar time, whatever the clock says
    sydney = ExifFacts(captured_at=clock, gps=(-33.9, 150.0), gps_utc=datetime(2018, 4, 2, 10))
    assert local_time(sydney) == datetime(2018, 4, 2, 20)
    assert time_of_day(local_time(sydney)) == "evening"
    assert local_time(ExifFacts(captured_at=clock)) == clock


def test_night_must_agree_with_the_pixels() -> None:
    assert agreeing_time_of_day("night", mean_luma=0.7) is None  # a daylit fog at 02:05
    assert agreeing_time_of_day("night", mean_luma=0.1) == "night"
    assert agreeing_time_of_day("evening", mean_luma=0.7) == "evening"


def test_a_bright_photo_at_two_in_the_morning_is_not_night() -> None:
    # plasma's ColdRipple: a white foggy jetty, camera clock 02:05, no offset, no GPS
    image = prepare(BENCH_PHOTOS / "plasma-coldripple.jpg", max_edge_px=384, max_pixels=10**8)
    assert image.exif.captured_at is not None and image.exif.captured_at.hour == 2
    assert read_facts(image).time_of_day is None


def test_offset_time_is_read_from_the_file(tmp_path: Path) -> None:
    photo = tmp_path / "offset.jpg"
    shutil.copy(DATA / "chelsea.jpg", photo)
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", "-OffsetTimeOriginal=+01:00", str(photo)],
        check=True,
    )
    image = prepare(photo, max_edge_px=256, max_pixels=50_000_000)
    assert image.exif.utc_offset_min == 60


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
    # Changed with issue 16: facts are no flat keywords; switched on, each kind goes under
    # its own branch; orientation is never one ("landscape" and "portrait" are genres).
    image = prepare(DATA / "chelsea.jpg", max_edge_px=1024, max_pixels=50_000_000)
    facts = read_facts(image)
    assert fact_hierarchy(facts, kinds=frozenset()) == []
    everything = fact_hierarchy(facts, kinds=frozenset(FactKind))
    assert everything[:5] == [
        "Camera|Canon|EOS 5D Mark III",
        "Lens|EF24-70mm f/2.8L II USM",
        "Date|2012|December",
        "Season|Winter",
        "Time of day|Evening",
    ]
    assert "Colour|Brown" in everything
    assert not any("landscape" in h.casefold() or "portrait" in h.casefold() for h in everything)
    assert fact_hierarchy(facts, kinds=frozenset({FactKind.DATE})) == ["Date|2012|December"]


def test_a_model_with_a_comma_is_one_node() -> None:
    image = prepare(DATA / "chelsea.jpg", max_edge_px=256, max_pixels=50_000_000)
    facts = read_facts(image)
    odd = type(facts)(
        **{**{f: getattr(facts, f) for f in facts.__slots__}, "camera": "Olympus C40Z,D40Z"}
    )
    assert fact_hierarchy(odd, kinds=frozenset({FactKind.CAMERA})) == ["Camera|Olympus|C40Z,D40Z"]


def test_facts_without_colour_names_differ_in_nothing_else() -> None:
    # a VLM's supplement names colours only when colour keywords are on
    image = prepare(DATA / "chelsea.jpg", max_edge_px=1024, max_pixels=50_000_000)
    named, unnamed = read_facts(image), read_facts(image, colours=False)
    assert named.tones.colours and unnamed.tones.colours == ()
    assert replace(named, tones=replace(named.tones, colours=())) == unnamed
    kinds = frozenset(FactKind) - {FactKind.COLOUR}
    assert fact_hierarchy(named, kinds=kinds) == fact_hierarchy(unnamed, kinds=kinds)


@pytest.mark.parametrize("size", [1, 2, 3, 20, 2304, 2305])
def test_the_partial_sort_percentile_is_numpys(size: int) -> None:
    rng = np.random.default_rng(size)
    for values in (
        rng.random(size, dtype=np.float32),
        np.round(rng.random(size, dtype=np.float32), 1),  # ties
        np.zeros(size, dtype=np.float32),
    ):
        for q in (0, 50, 95, 100):
            expected = float(np.percentile(values, q))
            assert percentile(values, q) == pytest.approx(expected, abs=1e-7)
