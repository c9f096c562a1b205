"""Which names are photos to tag, and the candidates the stat-only walk finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from phototag.config import Settings
from phototag.intake.scan import candidates
from phototag.intake.selection import Selection


@pytest.fixture
def selection(tmp_path: Path) -> Selection:
    settings = Settings(roots=[tmp_path / "in"], exclude=["*/private/*", "*.thumb.jpg"])
    return Selection.from_settings(settings)


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("a.jpg", None),
        ("b/c/D.JPEG", None),
        ("x.png", None),
        ("x.tif", None),
        ("x.webp", None),
        ("x.heic", None),
        ("x.CR3", None),
        ("x.nef", None),
        ("x.dng", None),
        ("notes.txt", "extension not handled"),
        (".hidden.jpg", "hidden file"),
        (".sync/a.jpg", "in a hidden folder"),
        ("._a.jpg", "AppleDouble resource file"),
        (".a.jpg.Xy12Z9", "temporary name (rsync)"),
        ("a.jpg.part", "temporary name (download or copy in progress)"),
        ("a.jpg.crdownload", "temporary name (download or copy in progress)"),
        ("a.jpg.filepart", "temporary name (download or copy in progress)"),
        ("a.jpg~", "temporary name (download or copy in progress)"),
        ("a.tmp", "temporary name (download or copy in progress)"),
        ("x/private/a.jpg", "excluded by a glob"),
        ("a.thumb.jpg", "excluded by a glob"),
    ],
)
def test_skip_reasons(
    selection: Selection, tmp_path: Path, relative: str, reason: str | None
) -> None:
    assert selection.skip_reason(tmp_path / "in" / relative) == reason


def test_outside_roots_and_include(tmp_path: Path) -> None:
    sel = Selection.from_settings(Settings(roots=[tmp_path / "in"], include=["2024/*"]))
    assert sel.skip_reason(tmp_path / "elsewhere.jpg") == "outside the roots"
    assert sel.skip_reason(tmp_path / "in2" / "a.jpg") == "outside the roots"
    assert sel.skip_reason(tmp_path / "in" / "2024" / "a.jpg") is None
    assert sel.skip_reason(tmp_path / "in" / "2023" / "a.jpg") == "not matched by the include globs"


def test_walk_is_stat_only_and_skips_links_and_loops(selection: Selection, tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "a.jpg").write_bytes(b"x")
    (root / "sub" / "b.png").write_bytes(b"yy")
    (root / "sub" / "c.txt").write_bytes(b"z")
    (root / "sub" / "loop").symlink_to(root)
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"secret")
    (root / "link.jpg").symlink_to(outside)
    found = {p.relative_to(root).as_posix(): sig.size for p, sig in candidates(selection, root)}
    assert found == {"a.jpg": 1, "sub/b.png": 2}
