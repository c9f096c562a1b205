"""A person's IPTC/EXIF metadata, read the MWG way and kept visible in every MWG reader.

The issue's own cases: the IPTC-only "Launch day" photo, the IPTC keyword "sunset" that
the model also says, a Windows-1252 caption without a declared charset, an IPTC
``TimeCreated`` exiv2 would re-serialise, Windows' XP tags, and an IPTC block a tool that
does not know XMP changed after the XMP was written.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import as_list, exiftool, exiftool_edit
from mwgfixtures import iim, jpeg, mwg
from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult, Tags
from phototag.metadata.exiftool import shared
from phototag.metadata.read import IptcCharset, read_snapshot
from phototag.metadata.write import WriteOutcome, write_tags

COFFEE = "Peter’s “best” coffee – 5 €"


def tag(photo: Path, **tags: object) -> WriteOutcome:
    result = TagResult(tags=Tags(**tags), backend="local", model="m")  # type: ignore[arg-type]
    return write_tags(photo, result, settings=MetadataSettings(), expected=FileSig.of(photo))


def launch_day(path: Path) -> Path:
    return jpeg(
        path,
        iptc=iim(
            (5, b"Launch day"),
            (25, b"launch"),
            (25, b"Florida"),
            (60, b"132723"),
            (120, b"My own caption of the launch"),
        ),
    )


def test_an_iptc_only_photo_keeps_its_text_in_every_mwg_reader(tmp_path: Path) -> None:
    photo = launch_day(tmp_path / "launch.jpg")
    tag(photo, title="Rocket", caption="A rocket.", keywords=("rocket", "launch"))
    shown = mwg(photo)
    assert shown["XMP-dc:Title"] == shown["IPTC:ObjectName"] == "Launch day"
    assert shown["MWG:Description"] == "My own caption of the launch"
    assert as_list(shown["MWG:Keywords"]) == ["launch", "Florida", "rocket"]
    assert "Warning" not in str(shown)  # the IPTC digest is current: readers trust both
    tags = exiftool(photo)[0]
    assert as_list(tags["XMP-dc:Subject"]) == as_list(tags["IPTC:Keywords"])
    assert (
        tags["Photoshop:IPTCDigest"]
        == exiftool(photo, args=("-G1", "-CurrentIPTCDigest"))[0]["File:CurrentIPTCDigest"]
    )
    assert as_list(tags["XMP-phototag:Keywords"]) == ["rocket"]  # "launch" was the person's


def test_fill_empty_sees_title_and_caption_in_iptc(tmp_path: Path) -> None:
    photo = launch_day(tmp_path / "launch.jpg")
    outcome = tag(photo, title="Rocket", caption="A rocket.")
    assert not {"Xmp.dc.title", "Xmp.dc.description"} & set(outcome.fields)
    assert exiftool(photo)[0].get("XMP-phototag:Title") is None


def test_iptc_time_and_dates_keep_their_form(tmp_path: Path) -> None:
    photo = launch_day(tmp_path / "launch.jpg")
    tag(photo, keywords=("rocket",))
    verbose = subprocess.run(
        ["exiftool", "-v3", "-IPTC:TimeCreated", str(photo)], capture_output=True, text=True
    ).stdout
    assert "TimeCreated = 132723\n" in verbose  # not "132723+0000", as exiv2 writes it
    assert exiftool(photo)[0]["IPTC:TimeCreated"] == "13:27:23"


def test_a_keyword_the_person_had_is_never_taken_by_a_retag(tmp_path: Path) -> None:
    photo = jpeg(tmp_path / "grandpa.jpg", iptc=iim((25, b"sunset"), (25, b"Grandpa")))
    tag(photo, keywords=("sunset", "beach"))
    assert as_list(mwg(photo)["MWG:Keywords"]) == ["sunset", "Grandpa", "beach"]
    assert as_list(exiftool(photo)[0]["XMP-phototag:Keywords"]) == ["beach"]
    tag(photo, keywords=("rocket", "launch"))  # tagctl retag: an answer without "sunset"
    shown = mwg(photo)
    assert as_list(shown["MWG:Keywords"]) == ["sunset", "Grandpa", "rocket", "launch"]
    assert as_list(exiftool(photo)[0]["IPTC:Keywords"]) == ["sunset", "Grandpa", "rocket", "launch"]


def test_windows_1252_iptc_stays_so_when_phototags_text_fits(tmp_path: Path) -> None:
    photo = jpeg(tmp_path / "coffee.jpg", iptc=iim((120, COFFEE.encode("cp1252"))))
    snapshot = read_snapshot(photo, tool=shared())
    assert snapshot.iptc_charset == IptcCharset.CP1252
    assert snapshot.person.caption == COFFEE
    assert exiftool(photo)[0]["IPTC:Caption-Abstract"] == COFFEE
    tag(photo, caption="Coffee.", keywords=("café",))
    tags = exiftool(photo)[0]
    assert "IPTC:CodedCharacterSet" not in tags  # nothing declared, nothing re-encoded
    assert iim_value(photo, 120) == COFFEE.encode("cp1252")
    assert tags["IPTC:Caption-Abstract"] == COFFEE
    assert tags["XMP-dc:Description"] == COFFEE  # seeded: the person's caption stays shown
    assert as_list(tags["IPTC:Keywords"]) == ["café"]


def test_windows_1252_iptc_is_converted_when_phototags_text_needs_utf8(tmp_path: Path) -> None:
    photo = jpeg(tmp_path / "coffee.jpg", iptc=iim((120, COFFEE.encode("cp1252"))))
    tag(photo, caption="Coffee.", keywords=("café", "猫"))
    tags = exiftool(photo)[0]
    assert tags["IPTC:CodedCharacterSet"] == "UTF8"
    assert tags["IPTC:Caption-Abstract"] == COFFEE  # converted, not garbled
    assert as_list(tags["IPTC:Keywords"]) == ["café", "猫"]


def test_undeclared_utf8_iptc_shows_the_same_in_exiftool_after(tmp_path: Path) -> None:
    iptc = iim((5, "Café Zürich".encode()), (25, "Käse".encode()))
    photo = jpeg(tmp_path / "u.jpg", iptc=iptc)
    snapshot = read_snapshot(photo, tool=shared())
    assert snapshot.iptc_charset == IptcCharset.UTF8
    assert snapshot.person.title == "Café Zürich"
    before = exiftool(photo)[0]  # undeclared: exiftool shows Windows-1252, "CafÃ© ZÃ¼rich"
    tag(photo, keywords=("cafe", "Brötchen"))
    after = exiftool(photo)[0]
    assert "IPTC:CodedCharacterSet" not in after  # declaring UTF-8 would change what it shows
    assert after["IPTC:ObjectName"] == before["IPTC:ObjectName"]
    assert as_list(after["IPTC:Keywords"])[0] == before["IPTC:Keywords"]
    assert iim_value(photo, 5) == "Café Zürich".encode()  # not re-encoded
    as_utf8 = exiftool(photo, args=("-G1", "-charset", "iptc=utf8"))[0]
    assert as_list(as_utf8["IPTC:Keywords"]) == ["Käse", "cafe", "Brötchen"]  # all UTF-8
    assert after["XMP-dc:Title"] == "Café Zürich"  # XMP seeded with the text as written


def iim_value(photo: Path, dataset: int) -> bytes:
    """The bytes of the photo's IPTC application-record ``dataset`` as stored (IIM 4.2: tag
    marker 0x1C, record 2, the dataset's number, a two-byte length)."""
    data = photo.read_bytes()
    at = data.index(bytes([0x1C, 2, dataset])) + 3
    return data[at + 2 : at + 2 + int.from_bytes(data[at : at + 2], "big")]


def test_windows_xp_tags_count_and_are_seeded(tmp_path: Path) -> None:
    photo = jpeg(tmp_path / "xp.jpg")
    exiftool_edit(photo, "-XPTitle=Holiday", "-XPKeywords=beach;Anna", "-XPComment=Us two")
    outcome = tag(photo, title="Beach", caption="A beach.", keywords=("sea",))
    tags = exiftool(photo)[0]
    assert tags["XMP-dc:Title"] == "Holiday" and tags["XMP-dc:Description"] == "Us two"
    assert as_list(tags["XMP-dc:Subject"]) == ["beach", "Anna", "sea"]
    assert tags["IFD0:XPTitle"] == "Holiday"  # untouched
    assert outcome.keywords == ("sea",)


def test_iptc_changed_after_the_xmp_wins_as_mwg_says(tmp_path: Path) -> None:
    photo = launch_day(tmp_path / "launch.jpg")
    tag(photo, keywords=("rocket",))
    # a tool that knows only IPTC changes the keywords: the stored digest no longer fits
    exiftool_edit(photo, "-IPTC:Keywords=Cape Canaveral", "-IPTC:Keywords=launch")
    assert as_list(mwg(photo)["MWG:Keywords"]) == ["Cape Canaveral", "launch"]
    tag(photo, keywords=("rocket", "sky"))
    assert as_list(mwg(photo)["MWG:Keywords"]) == ["Cape Canaveral", "launch", "rocket", "sky"]
