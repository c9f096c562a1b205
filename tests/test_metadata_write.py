"""write_tags on a real JPEG, read back with exiftool: fields, merge, provenance, atomicity."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import as_list, exiftool
from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult, Tags
from phototag.errors import FileChanged, FileGone
from phototag.metadata.show import read_tags
from phototag.metadata.write import (
    TEMP_PREFIX,
    WriteOutcome,
    remove_stale_temp_files,
    write_tags,
)

RESULT = TagResult(
    tags=Tags(
        title="Tabby cat on a sofa",
        caption="A tabby cat looks at the camera.",
        description="A close view of a tabby cat with green eyes lying on a grey sofa.",
        alt_text="Tabby cat",
        keywords=("cat", "tabby", "sofa"),
        hierarchical=("Animals|Cats|Tabby cat",),
    ),
    backend="openai",
    model="qwen2.5-vl-7b",
    prompt_digest="ab" * 32,
)


def tagged(photo: Path, result: TagResult = RESULT, **options: object) -> WriteOutcome:
    settings = MetadataSettings(**options)  # type: ignore[arg-type]
    return write_tags(photo, result, settings=settings, expected=FileSig.of(photo))


def raw_xmp(path: Path) -> str:
    return subprocess.run(
        ["exiftool", "-b", "-XMP", str(path)], capture_output=True, text=True, check=True
    ).stdout


def with_keywords(*keywords: str, title: str = "") -> TagResult:
    return TagResult(tags=Tags(title=title, keywords=keywords), backend="local", model="m")


def test_every_field_is_written_where_exiftool_reads_it(photo: Path) -> None:
    outcome = tagged(photo)

    tags = exiftool(photo)[0]
    assert as_list(tags["XMP-dc:Subject"]) == ["cat", "tabby", "sofa"]
    assert as_list(tags["IPTC:Keywords"]) == ["cat", "tabby", "sofa"]
    assert tags["IPTC:CodedCharacterSet"] == "UTF8"
    assert as_list(tags["XMP-lr:HierarchicalSubject"]) == ["Animals|Cats|Tabby cat"]
    assert tags["XMP-dc:Title"] == tags["IPTC:ObjectName"] == "Tabby cat on a sofa"
    assert tags["XMP-dc:Description"] == tags["IPTC:Caption-Abstract"] == RESULT.tags.caption
    assert tags["XMP-iptcCore:ExtDescrAccessibility"] == RESULT.tags.description
    assert tags["XMP-iptcCore:AltTextAccessibility"] == "Tabby cat"
    assert tags["XMP-phototag:Generator"].startswith("phototag ")
    assert tags["XMP-phototag:Backend"] == "openai"
    assert tags["XMP-phototag:Model"] == "qwen2.5-vl-7b"
    assert tags["XMP-phototag:PromptDigest"] == "ab" * 32
    assert as_list(tags["XMP-phototag:Keywords"]) == ["cat", "tabby", "sofa"]
    assert "Xmp.dc.subject" in as_list(tags["XMP-phototag:Fields"])
    assert re.match(r"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d", tags["XMP-phototag:Time"])
    assert outcome.written and outcome.target == photo and not outcome.sidecar
    assert outcome.keywords == ("cat", "tabby", "sofa")
    assert "Iptc.Application2.Keywords" in outcome.fields


def test_keyword_lists_are_unordered_bags(photo: Path) -> None:
    tagged(photo)
    xmp = raw_xmp(photo)
    for prop in ("dc:subject", "lr:hierarchicalSubject"):
        body = re.search(rf"<{prop}>(.*?)</{prop}>", xmp, re.S)
        assert body and "<rdf:Bag>" in body.group(1), prop


def test_alt_text_falls_back_to_the_caption(photo: Path) -> None:
    tagged(photo, TagResult(tags=Tags(caption="A cat."), backend="local", model="m"))
    assert exiftool(photo)[0]["XMP-iptcCore:AltTextAccessibility"] == "A cat."


def test_outcome_describes_the_bytes_on_disk(photo: Path) -> None:
    import hashlib

    outcome = tagged(photo)
    assert outcome.sig == FileSig.of(photo)
    assert outcome.sha256 == hashlib.sha256(photo.read_bytes()).hexdigest()


def test_retagging_never_duplicates_and_replaces_only_phototags_output(photo: Path) -> None:
    for i in range(5):
        tagged(photo, with_keywords("cat", "animal", f"run{i}"))
    tags = exiftool(photo)[0]
    assert as_list(tags["XMP-dc:Subject"]) == ["cat", "animal", "run4"]
    assert as_list(tags["IPTC:Keywords"]) == ["cat", "animal", "run4"]
    assert as_list(tags["XMP-phototag:Keywords"]) == ["cat", "animal", "run4"]


def test_a_persons_keywords_and_title_survive_retags(photo: Path) -> None:
    subprocess.run(
        [
            "exiftool",
            "-q",
            "-overwrite_original",
            "-XMP-dc:Subject=Grandma's cat",
            "-XMP-dc:Subject=Cat",
            "-IPTC:Keywords=Grandma's cat",
            "-XMP-dc:Title=Minou",
            "-XMP-xmp:Rating=4",
            str(photo),
        ],
        check=True,
    )
    for _ in range(3):
        outcome = tagged(photo, with_keywords("cat", "sofa", title="A cat"))
    tags = exiftool(photo)[0]
    # "cat" is already there as the person's "Cat": not added twice, not phototag's.
    assert as_list(tags["XMP-dc:Subject"]) == ["Grandma's cat", "Cat", "sofa"]
    assert as_list(tags["IPTC:Keywords"]) == ["Grandma's cat", "sofa"]
    assert tags["XMP-dc:Title"] == "Minou"
    assert "IPTC:ObjectName" not in tags  # IPTC follows XMP: the person's title stands
    assert tags["XMP-xmp:Rating"] == 4
    assert outcome.keywords == ("sofa",)


def test_fill_empty_keeps_a_persons_title_and_replace_overrides_it(photo: Path) -> None:
    subprocess.run(
        [
            "exiftool",
            "-q",
            "-overwrite_original",
            "-XMP-dc:Title=Minou",
            "-IPTC:ObjectName=Minou",
            str(photo),
        ],
        check=True,
    )
    tagged(photo, with_keywords("cat", title="A cat"))
    assert exiftool(photo)[0]["XMP-dc:Title"] == "Minou"
    tagged(photo, with_keywords("cat", title="A cat"), overwrite="replace")
    tags = exiftool(photo)[0]
    assert tags["XMP-dc:Title"] == tags["IPTC:ObjectName"] == "A cat"


def test_phototags_own_title_is_replaced_on_a_retag(photo: Path) -> None:
    tagged(photo, with_keywords("cat", title="First"))
    tagged(photo, with_keywords("cat", title="Second"))
    tags = exiftool(photo)[0]
    assert tags["XMP-dc:Title"] == tags["IPTC:ObjectName"] == "Second"


def test_a_title_a_person_edited_after_phototag_is_kept(photo: Path) -> None:
    tagged(photo, with_keywords("cat", title="First"))
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", "-XMP-dc:Title=Mine", str(photo)], check=True
    )
    tagged(photo, with_keywords("cat", title="Second"))
    assert exiftool(photo)[0]["XMP-dc:Title"] == "Mine"


def test_non_ascii_and_xml_special_text_survive_every_field(photo: Path) -> None:
    words = ("café", "Müller & Söhne", "Straße", "日本語", "cat 🐱", '<b>"x"</b>', "a'b")
    result = TagResult(
        tags=Tags(
            title="Chat tigré 🐱 <&>",
            caption='Größe: 日本語 & "more"',
            description="é ü ß",
            alt_text="🐱",
            keywords=words,
            hierarchical=("Orte|Café",),
        ),
        backend="local",
        model="m",
    )
    tagged(photo, result)
    tags = exiftool(photo)[0]
    assert as_list(tags["XMP-dc:Subject"]) == list(words)
    assert as_list(tags["IPTC:Keywords"]) == list(words)
    assert tags["XMP-dc:Title"] == tags["IPTC:ObjectName"] == "Chat tigré 🐱 <&>"
    assert tags["XMP-dc:Description"] == tags["IPTC:Caption-Abstract"] == result.tags.caption
    assert tags["XMP-iptcCore:ExtDescrAccessibility"] == "é ü ß"
    assert tags["XMP-iptcCore:AltTextAccessibility"] == "🐱"
    assert as_list(tags["XMP-lr:HierarchicalSubject"]) == ["Orte|Café"]


def test_iptc_byte_limits_never_cut_a_character(photo: Path) -> None:
    long_keyword = "日本語" * 10  # 90 bytes of UTF-8
    result = TagResult(
        tags=Tags(title="é" * 40, caption="ü" * 1500, keywords=(long_keyword,)),
        backend="local",
        model="m",
    )
    tagged(photo, result)
    tags = exiftool(photo)[0]
    iptc_keyword = as_list(tags["IPTC:Keywords"])[0]
    assert long_keyword.startswith(iptc_keyword) and len(iptc_keyword.encode()) <= 64
    assert tags["IPTC:ObjectName"] == "é" * 32
    assert tags["IPTC:Caption-Abstract"] == "ü" * 1000
    assert as_list(tags["XMP-dc:Subject"]) == [long_keyword]  # XMP has no limit
    # Re-tagging recognises the cut keyword as phototag's own.
    tagged(photo, result)
    assert as_list(exiftool(photo)[0]["IPTC:Keywords"]) == [iptc_keyword]


def test_mode_and_mtime_are_kept_and_no_temp_file_is_left(photo: Path) -> None:
    photo.chmod(0o640)
    os.utime(photo, ns=(1_600_000_000_000_000_000, 1_600_000_000_123_456_789))
    tagged(photo)
    st = photo.stat()
    assert (st.st_mode & 0o777, st.st_mtime_ns) == (0o640, 1_600_000_000_123_456_789)
    assert [p.name for p in photo.parent.iterdir()] == [photo.name]


def test_keep_mtime_off_updates_the_mtime(photo: Path) -> None:
    os.utime(photo, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    tagged(photo, keep_mtime=False)
    assert photo.stat().st_mtime_ns > 1_600_000_000_000_000_000


def test_a_file_changed_since_it_was_read_is_not_written(photo: Path) -> None:
    before = FileSig.of(photo)
    with photo.open("ab") as fh:
        fh.write(b"\0")
    data = photo.read_bytes()
    with pytest.raises(FileChanged):
        write_tags(photo, RESULT, settings=MetadataSettings(), expected=before)
    assert photo.read_bytes() == data
    assert [p.name for p in photo.parent.iterdir()] == [photo.name]


def test_a_missing_file_is_gone(tmp_path: Path) -> None:
    with pytest.raises(FileGone):
        write_tags(
            tmp_path / "nope.jpg",
            RESULT,
            settings=MetadataSettings(),
            expected=FileSig(size=1, mtime_ns=1),
        )


@pytest.mark.parametrize("options", [{"dry_run": True}, {"write": False}])
def test_dry_run_and_write_off_touch_nothing(photo: Path, options: dict[str, bool]) -> None:
    data, sig = photo.read_bytes(), FileSig.of(photo)
    dry_run = options.get("dry_run", False)
    settings = MetadataSettings(write=options.get("write", True))
    outcome = write_tags(photo, RESULT, settings=settings, expected=sig, dry_run=dry_run)
    assert not outcome.written and outcome.sig is None and outcome.sha256 is None
    assert outcome.keywords == ("cat", "tabby", "sofa")
    assert photo.read_bytes() == data and FileSig.of(photo) == sig


def test_stale_temp_files_are_removed_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "a/b").mkdir(parents=True)
    (tmp_path / f"{TEMP_PREFIX}x1").write_bytes(b"half")
    (tmp_path / f"a/b/{TEMP_PREFIX}x2").write_bytes(b"half")
    (tmp_path / "a/keep.jpg").write_bytes(b"photo")
    (tmp_path / "a/.phototag-other").write_bytes(b"other")
    assert remove_stale_temp_files(tmp_path) == 2
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["a/.phototag-other", "a/keep.jpg"]


def test_read_tags_separates_phototags_output_from_a_persons(photo: Path) -> None:
    subprocess.run(
        [
            "exiftool",
            "-q",
            "-overwrite_original",
            "-XMP-dc:Subject=Grandma",
            "-XMP-dc:Title=Minou",
            str(photo),
        ],
        check=True,
    )
    tagged(photo)
    shown = read_tags(photo, settings=MetadataSettings())
    assert shown["target"] == str(photo) and shown["sidecar"] is False
    assert shown["provenance"]["model"] == "qwen2.5-vl-7b"
    assert shown["phototag"]["keywords"] == ["cat", "tabby", "sofa"]
    assert "title" not in shown["phototag"]  # the person's title was kept
    assert shown["other"]["XMP-dc:Subject"] == ["Grandma"]
    assert shown["other"]["XMP-dc:Title"] == "Minou"
    assert shown["person"]["title"] == "Minou" and shown["person"]["keywords"] == ["Grandma"]
