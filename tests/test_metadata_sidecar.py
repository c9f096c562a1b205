"""RAW and HEIC photos get an XMP sidecar: named as configured, merged, never clobbered."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import as_list, exiftool
from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult, Tags
from phototag.errors import MetadataWriteError
from phototag.metadata.show import read_tags
from phototag.metadata.write import WriteOutcome, needs_sidecar, sidecar_path, write_tags

RAW_BYTES = b"a RAW file phototag must never rewrite"


def result(*keywords: str, title: str = "") -> TagResult:
    return TagResult(tags=Tags(title=title, keywords=keywords), backend="local", model="m")


def tag(photo: Path, tags: TagResult, **options: object) -> WriteOutcome:
    settings = MetadataSettings(**options)  # type: ignore[arg-type]
    return write_tags(photo, tags, settings=settings, expected=FileSig.of(photo))


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    path = tmp_path / "IMG_1.CR3"
    path.write_bytes(RAW_BYTES)
    return path


@pytest.mark.parametrize(
    "name",
    ["a.CR2", "a.cr3", "a.NEF", "a.arw", "a.dng", "a.RAF", "a.orf", "a.rw2", "a.heic", "a.HEIF"],
)
def test_raw_and_heic_need_a_sidecar(name: str) -> None:
    assert needs_sidecar(Path(name))


@pytest.mark.parametrize("name", ["a.jpg", "a.JPEG", "a.png", "a.tif", "a.webp"])
def test_the_others_are_written_in_place(name: str) -> None:
    assert not needs_sidecar(Path(name))


def test_sidecar_naming() -> None:
    assert sidecar_path(Path("/p/IMG_1.CR3"), naming="append") == Path("/p/IMG_1.CR3.xmp")
    assert sidecar_path(Path("/p/IMG_1.CR3"), naming="replace") == Path("/p/IMG_1.xmp")


def test_an_existing_upper_case_sidecar_is_the_one_used(raw: Path) -> None:
    existing = raw.with_name("IMG_1.XMP")
    existing.write_bytes(b"")
    assert sidecar_path(raw, naming="replace") == existing


@pytest.mark.parametrize(
    ("naming", "name"), [("append", "IMG_1.CR3.xmp"), ("replace", "IMG_1.xmp")]
)
def test_a_raw_gets_a_new_sidecar_and_is_never_touched(raw: Path, naming: str, name: str) -> None:
    sig = FileSig.of(raw)
    outcome = tag(raw, result("cat", "sofa", title="Cat"), sidecar_naming=naming)
    assert raw.read_bytes() == RAW_BYTES and FileSig.of(raw) == sig
    assert outcome.sidecar and outcome.target == raw.with_name(name) and outcome.written
    assert outcome.sig is None and outcome.sha256 is None and outcome.note == "sidecar: RAW"
    tags = exiftool(outcome.target)[0]
    assert as_list(tags["XMP-dc:Subject"]) == ["cat", "sofa"]
    assert tags["XMP-dc:Title"] == "Cat"
    assert as_list(tags["XMP-phototag:Sources"]) == ["IMG_1.CR3"]
    assert not any(k.startswith("IPTC") for k in tags)


def test_an_existing_sidecar_is_merged_never_replaced(raw: Path) -> None:
    sidecar = raw.with_name("IMG_1.CR3.xmp")
    subprocess.run(
        [
            "exiftool",
            "-q",
            "-o",
            str(sidecar),
            "-XMP-dc:Subject=Grandma",
            "-XMP-lr:HierarchicalSubject=People|Grandma",
            "-XMP-digiKam:TagsList=People/Grandma",
            "-XMP-xmp:Rating=3",
            "-XMP-dc:Title=Oma",
        ],
        check=True,
    )
    for i in range(3):
        tag(
            raw,
            TagResult(
                tags=Tags(title="A cat", keywords=("cat", f"k{i}"), hierarchical=("Animals|Cat",)),
                backend="local",
                model="m",
            ),
        )
    tags = exiftool(sidecar)[0]
    assert as_list(tags["XMP-dc:Subject"]) == ["Grandma", "cat", "k2"]
    assert as_list(tags["XMP-lr:HierarchicalSubject"]) == ["People|Grandma", "Animals|Cat"]
    assert as_list(tags["XMP-digiKam:TagsList"]) == ["People/Grandma"]
    assert tags["XMP-xmp:Rating"] == 3
    assert tags["XMP-dc:Title"] == "Oma"


def test_a_shared_sidecar_keeps_both_photos_keywords(tmp_path: Path) -> None:
    cr3, heic = tmp_path / "IMG_1.CR3", tmp_path / "IMG_1.HEIC"
    cr3.write_bytes(RAW_BYTES)
    heic.write_bytes(b"heic")
    for _ in range(2):
        tag(cr3, result("raw-kw", "cat"), sidecar_naming="replace")
        tag(heic, result("heic-kw", "cat"), sidecar_naming="replace")
    tags = exiftool(tmp_path / "IMG_1.xmp")[0]
    assert as_list(tags["XMP-dc:Subject"]) == ["raw-kw", "cat", "heic-kw"]
    assert as_list(tags["XMP-phototag:Sources"]) == ["IMG_1.CR3", "IMG_1.HEIC"]


def test_accessibility_fields_reach_the_sidecar(raw: Path) -> None:
    tags = Tags(caption="A cat.", description="A long description.", keywords=("cat",))
    outcome = tag(raw, TagResult(tags=tags, backend="local", model="m"))
    read = exiftool(outcome.target)[0]
    assert read["XMP-iptcCore:AltTextAccessibility"] == "A cat."
    assert read["XMP-iptcCore:ExtDescrAccessibility"] == "A long description."
    assert read["XMP-dc:Description"] == "A cat."


def test_an_invalid_sidecar_is_left_alone(raw: Path) -> None:
    sidecar = raw.with_name("IMG_1.CR3.xmp")
    sidecar.write_bytes(b"<not xmp")
    with pytest.raises(MetadataWriteError):
        tag(raw, result("cat"))
    assert sidecar.read_bytes() == b"<not xmp"
    assert sorted(p.name for p in raw.parent.iterdir()) == ["IMG_1.CR3", "IMG_1.CR3.xmp"]


def test_a_sidecar_in_a_read_only_folder_fails(raw: Path) -> None:
    raw.parent.chmod(0o555)
    try:
        with pytest.raises(MetadataWriteError, match="read-only"):
            tag(raw, result("cat"))
    finally:
        raw.parent.chmod(0o755)


def test_read_tags_reads_the_sidecar(raw: Path) -> None:
    assert read_tags(raw, settings=MetadataSettings())["target"] is None
    tag(raw, result("cat"))
    shown = read_tags(raw, settings=MetadataSettings())
    assert shown["sidecar"] is True and shown["target"].endswith("IMG_1.CR3.xmp")
    assert shown["phototag"]["keywords"] == ["cat"]
