"""The embedded default on real photographs: what is in them, where, who, and the facts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from phototag.config import Settings
from phototag.domain import PreparedImage, TagResult, Tags
from phototag.processing.imaging import prepare
from phototag.taggers import Tagger
from phototag.taggers.local.tagger import LocalTagger

DATA = Path(__file__).parent / "data"


def _image(name: str) -> PreparedImage:
    return prepare(DATA / name, max_edge_px=1024, max_pixels=50_000_000)


def _lower(tags: Tags) -> set[str]:
    return {k.lower() for k in tags.keywords}


@pytest.fixture(scope="module")
def tagger() -> LocalTagger:
    local = LocalTagger(settings=Settings())
    yield local
    local.close()


def test_it_is_a_tagger_and_loads(tagger: LocalTagger) -> None:
    assert isinstance(tagger, Tagger)
    health = tagger.preflight()
    assert health.ok, health.reason
    assert set(health.probes_s) == {"classifier", "faces", "places"}
    assert tagger.model == "phototag-local/efficientnet-lite0"


def test_the_cat_is_a_cat(tagger: LocalTagger) -> None:
    result = tagger.tag(_image("chelsea.jpg"))
    assert result.backend == "local"
    assert {"cat", "animal"} <= _lower(result.tags)
    assert any(h.startswith("Animals|Cats|") for h in result.tags.hierarchical)
    assert result.tags.caption.endswith("with a Canon EOS 5D Mark III.")
    assert "December 2012" in result.tags.caption


def test_the_coffee_is_coffee(tagger: LocalTagger) -> None:
    tags = tagger.tag(_image("coffee.jpg")).tags
    assert {"coffee", "cup"} & _lower(tags)
    assert tags.title == "Espresso"
    assert "Drinks|Coffee|Espresso" in tags.hierarchical


def test_the_astronaut_is_a_portrait(tagger: LocalTagger) -> None:
    tags = tagger.tag(_image("astronaut.jpg")).tags
    assert {"portrait", "person"} <= _lower(tags)
    assert tags.keywords[0] == "portrait"
    assert "one person" in tags.caption


def test_gps_gives_city_region_and_country(tagger: LocalTagger) -> None:
    tags = tagger.tag(_image("gps_paris.jpg")).tags
    assert {"paris", "france"} <= _lower(tags)
    assert "Places|France|Ile-de-France|Paris" in tags.hierarchical
    assert tags.title.endswith("in Paris, France")


def test_southern_gps_flips_the_season(tagger: LocalTagger) -> None:
    tags = tagger.tag(_image("gps_sydney.jpg")).tags  # taken in April
    assert {"sydney", "australia", "autumn"} <= _lower(tags)
    assert "spring" not in _lower(tags)


def test_one_result_no_duplicates_stable_order(tagger: LocalTagger) -> None:
    image = _image("gps_paris.jpg")
    first, second = tagger.tag(image), tagger.tag(image)
    assert first == second
    assert len(_lower(first.tags)) == len(first.tags.keywords)
    assert len(first.tags.keywords) <= Settings().max_keywords


def test_settings_turn_parts_off() -> None:
    settings = Settings()
    settings.local.classifier = False
    settings.local.places = False
    settings.local.faces = False
    settings.max_keywords = 5
    local = LocalTagger(settings=settings)
    assert local.model == "phototag-local/facts"
    assert local.preflight().ok
    tags = local.tag(_image("gps_paris.jpg")).tags
    assert not {"paris", "france", "moped", "motorcycle"} & _lower(tags)
    assert not tags.hierarchical
    assert tags.keywords == ("Sony ILCE-7M3", "FE 50mm F1.8", "normal lens", "landscape", "2020")
    assert tags.title == "Afternoon in October 2020"


def test_threshold_and_top_k_are_settings() -> None:
    settings = Settings()
    settings.local.min_confidence = 0.99
    tags = LocalTagger(settings=settings).tag(_image("chelsea.jpg")).tags
    assert "cat" not in _lower(tags)


def test_supplement_adds_facts_and_places_not_labels(tagger: LocalTagger) -> None:
    vlm = TagResult(
        tags=Tags(
            title="Street scene",
            keywords=("scooter", "street", "Paris"),
            hierarchical=("Vehicles|Scooter",),
        ),
        backend="openai",
        model="some-vlm",
    )
    result = tagger.supplement(vlm, _image("gps_paris.jpg"))
    keywords = result.tags.keywords
    assert keywords[:3] == ("scooter", "street", "Paris")
    assert keywords.count("Paris") == 1
    assert {"france", "sony ilce-7m3", "autumn"} <= {k.lower() for k in keywords}
    assert "moped" not in keywords and "motorcycle" not in keywords
    assert result.tags.hierarchical == ("Vehicles|Scooter", "Places|France|Ile-de-France|Paris")
    assert result.tags.title == "Street scene" and result.backend == "openai"


def test_supplement_respects_max_keywords() -> None:
    settings = Settings()
    settings.max_keywords = 4
    vlm = TagResult(tags=Tags(keywords=("a1", "b2", "c3")), backend="openai", model="m")
    result = LocalTagger(settings=settings).supplement(vlm, _image("gps_paris.jpg"))
    assert result.tags.keywords == ("a1", "b2", "c3", "Paris")


def test_threads_share_one_model_safely() -> None:
    local = LocalTagger(settings=Settings())  # loads on first use, from four threads at once
    images = [_image(name) for name in ("chelsea.jpg", "coffee.jpg", "astronaut.jpg")] * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(local.tag, images))
    assert results[:3] == results[3:6] == results[9:12]
