"""tagctl show FILE: what phototag wrote, what was there, where and when."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from phototag.cli.tagctl import main
from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult, Tags
from phototag.metadata.write import write_tags
from phototag.reporting import html
from phototag.reporting.html import person_keywords_of


def test_show_prints_phototags_output_and_what_was_there(
    photo: Path, xdg: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
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
    result = TagResult(
        tags=Tags(title="Cat", keywords=("cat", "sofa")),
        backend="openai",
        model="qwen2.5-vl",
        prompt_digest="ab12",
    )
    write_tags(photo, result, settings=MetadataSettings(), expected=FileSig.of(photo))

    assert main(["show", str(photo)]) == 0
    text = capsys.readouterr().out
    assert "in the file" in text and "model qwen2.5-vl" in text
    assert "keywords: cat; sofa" in text
    assert "XMP-dc:Subject: Grandma" in text and "title: Minou" in text

    assert main(["show", "--json", str(photo)]) == 0
    shown = json.loads(capsys.readouterr().out)[0]
    assert shown["phototag"]["keywords"] == ["cat", "sofa"]
    assert shown["provenance"]["time"]


def test_show_on_an_untagged_raw_says_so(
    tmp_path: Path, xdg: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "IMG_1.NEF"
    raw.write_bytes(b"raw")
    assert main(["show", str(raw)]) == 0
    assert "no sidecar yet" in capsys.readouterr().out


def test_show_on_a_missing_file_fails(
    tmp_path: Path, xdg: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", str(tmp_path / "gone.jpg")]) == 1
    assert "gone.jpg" in capsys.readouterr().err


def test_the_report_reads_the_persons_keywords_from_xmp_exiv2_refuses(tmp_path: Path) -> None:
    # the packet repeats xmp:Rating: exiv2 fails with "XMP Toolkit error 203"
    photo = tmp_path / "duplicate-property.jpg"
    shutil.copy2(Path(__file__).parent / "data" / "corpus" / photo.name, photo)
    result = TagResult(tags=Tags(keywords=("sun", "Sunrise")), backend="local", model="m")
    write_tags(photo, result, settings=MetadataSettings(), expected=FileSig.of(photo))
    keywords = person_keywords_of(photo, settings=MetadataSettings())
    assert keywords == ("wallpaper", "sunrise")  # "Sunrise" was the person's already


def test_the_summary_page_reads_a_photos_keywords_again_only_once_it_changed(
    photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def person_sets(keyword: str) -> None:  # in place, mtime kept: only the ctime moves
        subject = f"-XMP-dc:Subject={keyword}"
        subprocess.run(
            ["exiftool", "-q", "-P", "-overwrite_original_in_place", subject, str(photo)],
            check=True,
        )

    person_sets("mine")
    reads: list[Path] = []
    real = html.read_tags
    monkeypatch.setattr(
        html, "read_tags", lambda path, **kw: reads.append(path) or real(path, **kw)
    )
    keywords = html.PersonKeywords(metadata=MetadataSettings())
    assert keywords(photo) == keywords(photo) == ("mine",)
    assert reads == [photo]
    sig = FileSig.of(photo)
    person_sets("ours")
    assert FileSig.of(photo) == sig
    assert keywords(photo) == ("ours",)
    assert reads == [photo, photo]
