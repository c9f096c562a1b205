"""XMP other tools wrote loosely: each photo is written (only the malformed part
repaired, every value kept) or gets a sidecar with the reason; never a failed job."""

from __future__ import annotations

import io
import shutil
import subprocess
import zlib
from importlib import resources
from pathlib import Path

import pytest
from PIL import Image

from conftest import as_list, exiftool, exiftool_edit
from mwgfixtures import jpeg, mwg, packet
from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult, Tags
from phototag.metadata.exiftool import CONFIG
from phototag.metadata.show import read_tags
from phototag.metadata.undo import undo_file
from phototag.metadata.write import write_tags

CORPUS = Path(__file__).parent / "data" / "corpus"

RESULT = TagResult(tags=Tags(title="Rocket", keywords=("rocket",)), backend="local", model="m")
SUBJECT = "<dc:subject><rdf:Bag><rdf:li>mine</rdf:li></rdf:Bag></dc:subject>"
TITLE = "<dc:title><rdf:Alt><rdf:li xml:lang='x-default'>My title</rdf:li></rdf:Alt></dc:title>"

PACKETS = {
    # XMP Toolkit error 203 in exiv2 (4 of 71 real photos from Linux desktop packages)
    "duplicate-property": packet(f"{TITLE}\n{TITLE}\n{SUBJECT}"),
    "trailing-garbage": packet(SUBJECT + TITLE, padding=" " * 4000) + b"\x00\x00junk<<>>",
    "odd-padding": packet(SUBJECT + TITLE, padding="\t \n" * 333 + " "),
    "misdeclared-namespace": packet(
        SUBJECT + TITLE, namespaces="xmlns:xmp='http://ns.adobe.com/xap/1.0/WRONG'"
    ).replace(b"</rdf:Description>", b"<xmp:Rating>3</xmp:Rating></rdf:Description>"),
}


def tag(photo: Path) -> object:
    return write_tags(photo, RESULT, settings=MetadataSettings(), expected=FileSig.of(photo))


@pytest.mark.parametrize("kind", sorted(PACKETS))
def test_loose_xmp_is_repaired_and_every_value_kept(tmp_path: Path, kind: str) -> None:
    photo = jpeg(tmp_path / f"{kind}.jpg", xmp=PACKETS[kind])
    outcome = tag(photo)
    assert outcome.written and not outcome.sidecar  # type: ignore[attr-defined]
    tags = exiftool(photo)[0]
    assert as_list(tags["XMP-dc:Subject"]) == ["mine", "rocket"]
    assert tags["XMP-dc:Title"] == "My title"


def test_an_empty_xmpmeta_is_filled(tmp_path: Path) -> None:
    photo = jpeg(tmp_path / "empty.jpg", xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'></x:xmpmeta>")
    tag(photo)
    tags = exiftool(photo)[0]
    assert as_list(tags["XMP-dc:Subject"]) == ["rocket"] and tags["XMP-dc:Title"] == "Rocket"


def test_an_undeclared_namespace_sends_the_tags_to_a_sidecar_with_the_reason(
    tmp_path: Path,
) -> None:
    body = f"{SUBJECT}<foo:bar>kept</foo:bar>"
    photo = jpeg(tmp_path / "undeclared.jpg", xmp=packet(body))
    data = photo.read_bytes()
    outcome = tag(photo)
    assert photo.read_bytes() == data  # nothing of the person's can be lost
    assert outcome.sidecar and outcome.written  # type: ignore[attr-defined]
    assert "namespace" in outcome.note  # type: ignore[attr-defined]
    sidecar = exiftool(photo.with_name(photo.name + ".xmp"))[0]
    assert as_list(sidecar["XMP-dc:Subject"]) == ["mine", "rocket"]


def test_extended_xmp_over_several_app1_segments_is_kept_and_written(tmp_path: Path) -> None:
    photo = jpeg(tmp_path / "extended.jpg")
    history = "step " * 30_000 + "end"  # 150 KB: exiftool splits it as XMP part 3 says
    args = tmp_path / "args"
    args.write_text(f"-XMP-dc:Subject=mine\n-XMP-photoshop:Instructions={history}\n")
    exiftool_edit(photo, "-@", str(args))
    segments = photo.read_bytes().count(b"http://ns.adobe.com/xmp/extension/\x00")
    assert segments >= 3
    tag(photo)
    tags = exiftool(photo)[0]
    assert as_list(tags["XMP-dc:Subject"]) == ["mine", "rocket"]
    assert tags["XMP-photoshop:Instructions"] == history
    assert "Warning" not in str(exiftool(photo, args=("-Warning",)))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def test_png_xmp_after_the_image_data_is_kept_and_written(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 90)).save(buffer, format="PNG")
    data = buffer.getvalue()
    itxt = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + packet(SUBJECT + TITLE)
    end = data.rindex(b"IEND") - 4  # some tools append XMP after IDAT, just before IEND
    photo = tmp_path / "after-idat.png"
    photo.write_bytes(data[:end] + _png_chunk(b"iTXt", itxt) + data[end:])
    before = Image.open(photo).tobytes()
    outcome = tag(photo)
    assert outcome.written and not outcome.sidecar  # type: ignore[attr-defined]
    tags = exiftool(photo)[0]
    assert as_list(tags["XMP-dc:Subject"]) == ["mine", "rocket"]
    assert tags["XMP-dc:Title"] == "My title"
    assert Image.open(photo).tobytes() == before


def test_png_xmp_in_an_imagemagick_raw_profile_becomes_one_packet(tmp_path: Path) -> None:
    photo = tmp_path / "raw-profile.png"
    photo.write_bytes(
        (Path(__file__).parent / "data" / "corpus" / "png-raw-profile.png").read_bytes()
    )
    before = Image.open(photo).tobytes()
    outcome = tag(photo)
    assert outcome.written and not outcome.sidecar  # type: ignore[attr-defined]
    tags = exiftool(photo, args=("-G1", "-struct", "-a"))[0]
    assert "ExifTool:Warning" not in tags  # no "Duplicate XMP"
    assert as_list(tags["XMP-dc:Subject"]) == ["Rakete", "rocket"]
    assert tags["XMP-dc:Description"] == "Start bei Nacht"
    assert b"Raw profile type xmp" not in photo.read_bytes()
    assert Image.open(photo).tobytes() == before


def test_xmp_only_in_a_photoshop_irb_is_left_as_it_was_and_undo_restores_the_file(
    tmp_path: Path,
) -> None:
    # MWG readers ignore a TIFF's XMP that only its Photoshop image resources hold (its
    # standard place is tag 700): its values are not what anyone sees, so phototag neither
    # shows them as the person's nor copies them into the standard XMP, and keeps them as
    # they are; undo takes out the standard XMP phototag created
    photo = tmp_path / "tiff-xmp-in-irb.tif"
    shutil.copy2(CORPUS / photo.name, photo)
    before, irb = listing(photo), irb_xmp(photo)
    assert "[XMP-dc] Title : Scan 1998" in before  # exiftool reads it when not strict
    assert read_tags(photo, settings=MetadataSettings())["person"]["keywords"] == []
    tag(photo)
    shown = mwg(photo)
    assert shown["XMP-dc:Title"] == "Rocket" and as_list(shown["MWG:Keywords"]) == ["rocket"]
    assert irb_xmp(photo) == irb  # byte for byte
    undo_file(photo, settings=MetadataSettings(), dry_run=False)
    assert listing(photo) == before


# what only describes the file's layout: its name, times, and where the image data starts
LAYOUT = ("[System]", "[ExifTool]", "[IFD0] StripOffsets")


def listing(photo: Path) -> list[str]:
    """``exiftool -a -G1 -s``: every tag, duplicates included, but the layout's."""
    out = subprocess.run(
        ["exiftool", "-a", "-G1", "-s", str(photo)], capture_output=True, text=True, check=True
    ).stdout
    lines = [" ".join(line.split()) for line in out.splitlines()]
    return [line for line in lines if not line.startswith(LAYOUT)]


def irb_xmp(photo: Path) -> bytes:
    """The bytes of the XMP resource in the photo's Photoshop IRB."""
    with resources.as_file(CONFIG) as config:
        return subprocess.run(
            ["exiftool", "-config", str(config), "-b", "-Photoshop:NonStandardXMP", str(photo)],
            capture_output=True,
            check=True,
        ).stdout
