"""tagctl search: FTS5 over the index's titles, captions, descriptions and keywords."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from phototag.domain import FileSig
from phototag.store.queue import Index
from phototag.store.schema import MIGRATIONS
from phototag.store.search import fts_query

PHOTOS = {
    "cat.jpg": ("A tabby cat", "A cat on a red sofa.", "", ["cat", "sofa", "indoor"]),
    "car.jpg": ("Red car", "A red car by the sea-side.", "An old red car parked.", ["car"]),
    "dog.jpg": ("A dog", "A dog runs on the beach.", "Waves behind.", ["dog", "beach"]),
    "both.jpg": ("Cat and dog", "They sleep.", "", ["cat", "dog", "catamaran"]),
}


def result(title: str, caption: str, description: str, keywords: list[str]) -> dict[str, object]:
    return {"title": title, "caption": caption, "description": description, "keywords": keywords}


def tagged(index: Index, path: Path, values: tuple[str, str, str, list[str]]) -> None:
    index.enqueue(path, FileSig(size=1, mtime_ns=1))
    job = next(j for j in index.claim(10) if j.path == path)
    index.finish(job.id, status="done", result=result(*values), backend="local", model="m")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    state = tmp_path / "state"
    index = Index(state / "index.sqlite3")
    for name, values in PHOTOS.items():
        tagged(index, tmp_path / name, values)
    index.close()
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PHOTOTAG_")},
        "PHOTOTAG_STATE_DIR": str(state),
        "PHOTOTAG_ROOTS": json.dumps([str(tmp_path)]),
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
    }


def search(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "phototag.cli.tagctl", "search", *args],
        env=env,
        capture_output=True,
        timeout=60,
    )


def names(out: bytes, sep: bytes = b"\n") -> set[str]:
    return {Path(os.fsdecode(p)).name for p in out.split(sep) if p}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (["cat"], {"cat.jpg", "both.jpg"}),  # a word, not a part of "catamaran"
        (["cat", "dog"], {"both.jpg"}),  # every word must match
        (["cat", "OR", "car"], {"cat.jpg", "both.jpg", "car.jpg"}),
        (["dog", "NOT", "cat"], {"dog.jpg"}),
        (["cat", "AND", "sofa"], {"cat.jpg"}),
        (["cata*"], {"both.jpg"}),  # a prefix
        (['"red car"'], {"car.jpg"}),  # a phrase: "A cat on a red sofa" has no "red car"
        (["red"], {"cat.jpg", "car.jpg"}),
        (["sea-side"], {"car.jpg"}),  # quoted for FTS5, matched as a phrase
        (["keywords:beach"], {"dog.jpg"}),
        (["parked"], {"car.jpg"}),  # in the description
        (["TABBY"], {"cat.jpg"}),
    ],
)
def test_queries(env: dict[str, str], query: list[str], expected: set[str]) -> None:
    found = search(env, *query)
    assert found.returncode == 0, found.stderr
    assert names(found.stdout) == expected


@pytest.mark.slow
def test_nothing_found_is_exit_1_and_a_bad_query_exit_2(env: dict[str, str]) -> None:
    none = search(env, "giraffe")
    assert none.returncode == 1 and none.stdout == b""
    bad = search(env, "NOT")
    assert bad.returncode == 2 and b"cannot search" in bad.stderr
    assert search(env).returncode == 2  # no QUERY at all


def test_nul_separated_and_json(env: dict[str, str], tmp_path: Path) -> None:
    nul = search(env, "-0", "dog")
    assert nul.returncode == 0 and nul.stdout.endswith(b"\0") and b"\n" not in nul.stdout
    assert names(nul.stdout, b"\0") == {"dog.jpg", "both.jpg"}
    js = search(env, "--json", "car")
    records = [json.loads(line) for line in js.stdout.splitlines()]
    assert [r["path"] for r in records] == [str(tmp_path / "car.jpg")]
    assert records[0]["result"]["title"] == "Red car" and records[0]["status"] == "done"


@pytest.mark.slow
def test_the_fts_table_follows_retags_moves_and_deletions(
    env: dict[str, str], tmp_path: Path
) -> None:
    index = Index(Path(env["PHOTOTAG_STATE_DIR"]) / "index.sqlite3")
    tagged(index, tmp_path / "cat.jpg", ("A lion", "A lion.", "", ["lion"]))  # re-tagged
    index.move(tmp_path / "dog.jpg", tmp_path / "puppy.jpg")
    index.mark_deleted(tmp_path / "car.jpg")
    index.close()
    assert names(search(env, "cat").stdout) == {"both.jpg"}
    assert names(search(env, "lion").stdout) == {"cat.jpg"}
    assert names(search(env, "beach").stdout) == {"puppy.jpg"}
    assert search(env, "car").returncode == 1


def test_a_version_3_index_gets_its_results_indexed(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    for step in MIGRATIONS[:3]:
        db.executescript(step)
    db.execute("PRAGMA user_version=3")
    db.execute(
        "INSERT INTO files (path, size, mtime_ns, status, result, updated_at) "
        "VALUES (?, 1, 1, 'done', ?, 0)",
        (b"/p/old.jpg", json.dumps(result(*PHOTOS["dog.jpg"]))),
    )
    db.close()
    index = Index(path)
    assert [p.name for p in index.reader().search_paths(fts_query(["beach"]))] == ["old.jpg"]
    index.close()


def test_fts_query_quotes_only_what_fts5_would_refuse() -> None:
    assert fts_query(["cat", "OR", "dog*"]) == "cat OR dog*"
    assert fts_query(["don't", '"open']) == '"don\'t" "open"'
    assert fts_query(["title:sea-side*"]) == 'title:"sea-side"*'
    with pytest.raises(ValueError):
        fts_query([" "])
