"""``[metadata] description_field``: which text dc:description and Caption-Abstract carry."""

from __future__ import annotations

from pathlib import Path

from conftest import exiftool
from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult, Tags
from phototag.metadata.write import write_tags

CAPTION = "A tabby cat looks at the camera."
DESCRIPTION = "A close view of a tabby cat with green eyes lying on a grey sofa."
RESULT = TagResult(
    tags=Tags(title="Cat", caption=CAPTION, description=DESCRIPTION, alt_text="Tabby cat"),
    backend="openai",
    model="m",
)


def tagged(photo: Path, **options: object) -> None:
    settings = MetadataSettings(**options)  # type: ignore[arg-type]
    write_tags(photo, RESULT, settings=settings, expected=FileSig.of(photo))


def test_the_caption_goes_to_dc_description_by_default(photo: Path) -> None:
    tagged(photo)
    tags = exiftool(photo)[0]
    assert tags["XMP-dc:Description"] == tags["IPTC:Caption-Abstract"] == CAPTION
    assert tags["XMP-iptcCore:ExtDescrAccessibility"] == DESCRIPTION


def test_description_field_puts_the_long_text_where_managers_show_it(photo: Path) -> None:
    tagged(photo, description_field="description")
    tags = exiftool(photo)[0]
    assert tags["XMP-dc:Description"] == tags["IPTC:Caption-Abstract"] == DESCRIPTION
    assert tags["XMP-iptcCore:ExtDescrAccessibility"] == CAPTION  # the other text stays
    assert tags["XMP-iptcCore:AltTextAccessibility"] == "Tabby cat"


def test_switching_the_setting_moves_phototags_own_texts(photo: Path) -> None:
    tagged(photo)
    tagged(photo, description_field="description")  # fill-empty: only its own text moves
    tags = exiftool(photo)[0]
    assert tags["XMP-dc:Description"] == tags["IPTC:Caption-Abstract"] == DESCRIPTION
    assert tags["XMP-iptcCore:ExtDescrAccessibility"] == CAPTION
