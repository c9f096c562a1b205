"""Shared fixtures: real photographs, a private XDG environment, and exiftool as the reader."""

from __future__ import annotations

import atexit
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from phototag.metadata.exiftool import ExifTool

DATA = Path(__file__).parent / "data"
PHOTOS = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "motorcycle.jpg", "rocket.jpg")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A private copy of a real photograph (the cat), safe to modify."""
    dest = tmp_path / "chelsea.jpg"
    shutil.copyfile(DATA / "chelsea.jpg", dest)
    return dest


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """An empty folder to watch."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def daemon(tmp_path: Path, inbox: Path) -> Iterator[object]:
    """The real phototagd watching ``inbox``, with the embedded backend."""
    from daemon_harness import DaemonProcess

    proc = DaemonProcess(home=tmp_path / "home", roots=[inbox]).start()
    yield proc
    if proc.proc and proc.proc.poll() is None:
        assert proc.stop() == 0


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PHOTOTAG_* setting of the person running the suite leaks into a test."""
    import os

    for name in list(os.environ):
        if name.upper().startswith("PHOTOTAG_"):
            monkeypatch.delenv(name)


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """Point HOME and the XDG folders at temp folders (PHOTOTAG_* are cleared for every
    test by ``_hermetic``)."""
    dirs = {
        "HOME": tmp_path / "home",
        "XDG_CONFIG_HOME": tmp_path / "home/.config",
        "XDG_STATE_HOME": tmp_path / "home/.local/state",
        "XDG_RUNTIME_DIR": tmp_path / "run",
    }
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(name, str(path))
    dirs["XDG_RUNTIME_DIR"].chmod(0o700)
    yield dirs


# One stock exiftool (without phototag's config) per test process: a new Perl process for
# every read cost ~0.2 s of CPU, hundreds of times over in the suite.
_READER = ExifTool(config=False)
atexit.register(_READER.close)


def exiftool(*paths: Path, args: tuple[str, ...] = ("-G1", "-struct")) -> list[dict]:
    """Read metadata back with exiftool, the independent reader."""
    out = _READER.execute("-j", *args, *map(str, paths))
    if not out.stdout.strip():
        raise AssertionError(f"exiftool read nothing: {out.stderr}")
    return json.loads(out.stdout)


def exiftool_edit(path: Path, *args: str) -> None:
    """A person's edit with exiftool (``-overwrite_original``), as another tool makes it."""
    out = _READER.execute("-overwrite_original", *args, str(path))
    if out.errors:
        raise AssertionError(f"exiftool could not edit {path.name}: {out.errors}")


def as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# The longest modules, longest first (measured with pytest --durations): the test
# processes take modules in collection order, and one of these started late is the end of
# the run (the 10,000-file test alone is a few minutes). xdist hands a process whose module
# has at most two tests left a second module at once: the two after the first four wait
# behind the 10,000-file and SIGKILL tests. The two after them, which mostly wait out a
# 30-second outage, then start while those two still keep the cores busy (idle CPU over a
# run 60 -> 45 s, 2 cores).
LONGEST_FIRST = (
    "test_faults_volume.py",
    "test_crash.py",
    "test_corpus.py",
    "test_packaging.py",
    "test_apply.py",
    "test_arrivals.py",
    "test_daemon_vlm.py",
    "test_vlm_tagger.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, the longest modules at their head, so that with several test
    processes the long ones start at once and the short ones fill the gaps, instead of one
    long test running on alone at the end."""

    def order(item: pytest.Item) -> tuple[bool, int]:
        name = item.path.name
        rank = LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)
        return item.get_closest_marker("slow") is None, rank

    items.sort(key=order)
