"""Issue 14 point 6: a person's edit is final.

A photo phototag tagged and a person then edited with another tool (exiftool here) is
recognised as a metadata-only change and never tagged again; a keyword of phototag's that
the person removed is never written back (re-tag, ``tagctl retag``, ``retag --stale``, a new
model); a text the person changed stays theirs whatever ``overwrite`` says, unless
``--overwrite`` is given for that run; ``tagctl show`` lists both. Shown on the real daemon
with the fake VLM counting requests, on an embedded-metadata JPEG and on a DNG's sidecar.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from conftest import DATA, as_list, exiftool, exiftool_edit
from daemon_harness import DaemonProcess, vlm_env, wait_for
from fakevlm import FakeVLM
from phototag.config import MetadataSettings, Settings, load_settings
from phototag.domain import FileSig, Health, PreparedImage, TagResult, Tags
from phototag.metadata.edits import PersonEdits, person_edits
from phototag.metadata.provenance import Provenance
from phototag.metadata.show import read_tags
from phototag.metadata.write import write_tags
from phototag.paths import INDEX_NAME
from phototag.processing.changes import Change, classify_change
from phototag.processing.circuit import Circuit
from phototag.processing.pipeline import Outcome, Pipeline, PipelineOptions
from phototag.states import Ending
from phototag.store.queue import Index
from phototag.store.schema import MIGRATIONS, SCHEMA_VERSION
from phototag.taggers import Tagger, make_tagger
from rawfixture import write_dng

RESULT = TagResult(
    tags=Tags(
        title="A tabby cat",
        caption="A tabby cat looks at the camera.",
        keywords=("cat", "tabby", "fur"),
        hierarchical=("Animals|Cats|cat",),
    ),
    backend="openai",
    model="fake-vlm",
    prompt_digest="ab" * 32,
)


def edit(path: Path, *args: str) -> None:
    """A person's edit with another tool."""
    exiftool_edit(path, *args)


def read(path: Path) -> dict[str, object]:
    (meta,) = exiftool(
        path, args=("-XMP-dc:Subject", "-IPTC:Keywords", "-XMP-dc:Title", "-XMP-lr:all")
    )
    return meta


def keywords(meta: dict[str, object], key: str = "Subject") -> list[str]:
    return [str(k) for k in as_list(meta.get(key))]


def tag(
    path: Path, result: TagResult = RESULT, *, settings: MetadataSettings | None = None
) -> None:
    write_tags(path, result, settings=settings or MetadataSettings(), expected=FileSig.of(path))


# -- the merge, on a real JPEG ---------------------------------------------------------------


def test_a_removed_keyword_is_never_written_back_and_the_persons_stays(photo: Path) -> None:
    tag(photo)
    edit(photo, "-XMP-dc:Subject-=cat", "-XMP-dc:Subject+=Chelsea")
    tag(photo)  # a re-tag with the same answer
    tag(photo, TagResult(tags=Tags(keywords=("Cat", "whiskers")), backend="x", model="new"))
    meta = read(photo)
    assert keywords(meta) == ["Chelsea", "whiskers"]  # "Cat" is the removed "cat"
    # phototag takes its own "cat" out of IPTC too, and out of its hierarchies
    assert "cat" not in [k.casefold() for k in keywords(meta, "Keywords")]
    assert all(
        h.rpartition("|")[2].casefold() != "cat" for h in as_list(meta.get("HierarchicalSubject"))
    )
    shown = read_tags(photo, settings=MetadataSettings())
    assert shown["person"]["rejected"] == ["cat"]


def test_a_changed_title_is_the_persons_even_with_overwrite_replace(photo: Path) -> None:
    tag(photo)
    edit(photo, "-XMP-dc:Title=My Chelsea")
    tag(photo, settings=MetadataSettings(overwrite="replace"))
    assert read(photo)["Title"] == "My Chelsea"
    tag(photo, settings=MetadataSettings(overwrite="replace"))  # and in every run after
    assert read(photo)["Title"] == "My Chelsea"
    assert read_tags(photo, settings=MetadataSettings())["person"]["changed"] == ["title"]
    run = MetadataSettings().overwrite_for_this_run()  # phototagd / backfill --overwrite
    tag(photo, settings=run)
    assert read(photo)["Title"] == "A tabby cat"
    assert read_tags(photo, settings=MetadataSettings())["person"]["changed"] == []


def test_a_cleared_title_is_not_filled_again(photo: Path) -> None:
    tag(photo)
    edit(photo, "-XMP-dc:Title=")
    tag(photo)
    assert "Title" not in read(photo)


def test_person_edits_compare_keywords_as_phototag_merges_them() -> None:
    previous = Provenance(
        generator="phototag",
        backend="openai",
        model="m",
        prompt_digest="",
        time="2026-12-01T00:00:00+00:00",
        keywords=("cat", "tabby"),
        texts=(("title", "A cat"),),
        rejected=("dog",),
    )
    xmp = {"XMP-dc:Subject": ["Tabby", "Chelsea"], "XMP-dc:Title": "A cat"}
    edits = person_edits(xmp, previous)
    assert edits.rejected == ("dog", "cat")  # kept from before, and newly removed
    assert edits.changed == ()
    assert person_edits(xmp, None).rejected == ()
    # no record (another tool dropped it): what the index says phototag wrote stands in
    fallback = person_edits(xmp, None, written_before=["cat", "tabby", "dog"])
    assert fallback == PersonEdits(rejected=("cat", "dog"))


# -- the decision and the index -------------------------------------------------------------


def test_classify_change(tmp_path: Path) -> None:
    index = Index(tmp_path / INDEX_NAME)
    path = tmp_path / "a.jpg"
    index.enqueue(path, FileSig(size=1, mtime_ns=1))
    (job,) = index.claim(1)
    assert classify_change(index.get_id(job.id), sha256="s1", image_sha256="i1") is Change.NEW
    index.finish(
        job.id,
        status="done",
        sha256="s0",
        out_sha256="s1",
        image_sha256="i1",
        result={"keywords": ["cat"]},
    )
    record = index.get_id(job.id)
    assert record is not None and record.image_sha256 == "i1"
    # the bytes phototag left, no re-tag asked for: only the file's time, or the sidecar of
    # a RAW, changed
    assert classify_change(record, sha256="s1", image_sha256="i1") is Change.METADATA_ONLY
    assert classify_change(record, sha256="s2", image_sha256="i1") is Change.METADATA_ONLY
    assert classify_change(record, sha256="s2", image_sha256="i2") is Change.NEW_PIXELS
    assert classify_change(record, sha256="s2", image_sha256=None) is Change.NEW_PIXELS
    # a re-tag asked for is done even after a metadata edit the daemon has not seen yet
    assert index.requeue_done(under=path) == 1
    again = index.get_id(job.id)
    assert classify_change(again, sha256="s2", image_sha256="i1") is Change.NEW_PIXELS
    assert classify_change(again, sha256="s1", image_sha256="i1") is Change.SAME_BYTES
    (job,) = index.claim(1)
    index.finish(job.id, status="done", sha256="r0", out_sha256=None, result={"keywords": []})
    sidecar_tagged = index.get_id(job.id)  # a RAW: phototag wrote its sidecar, not the file
    assert classify_change(sidecar_tagged, sha256="r0", image_sha256=None) is Change.SAME_BYTES
    index.close()


def test_a_version_3_index_gains_the_image_hash_column(tmp_path: Path) -> None:
    path = tmp_path / INDEX_NAME
    db = sqlite3.connect(path)
    for step in MIGRATIONS[:3]:
        db.executescript(step)
    db.execute(
        "INSERT INTO files (path, size, mtime_ns, status, updated_at) VALUES (?, 1, 1, 'done', 0)",
        (b"/p/a.jpg",),
    )
    db.execute("PRAGMA user_version=3")
    db.commit()
    db.close()
    index = Index(path)
    record = index.get(Path("/p/a.jpg"))
    assert record is not None and record.image_sha256 is None and record.status == "done"
    index.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


class Counting:
    """The real embedded tagger, counting how often it is asked."""

    def __init__(self, tagger: Tagger) -> None:
        self._tagger = tagger
        self.name = tagger.name
        self.calls = 0

    @property
    def model(self) -> str:
        return self._tagger.model

    @property
    def prompt_digest(self) -> str:
        return self._tagger.prompt_digest

    def tag(self, image: PreparedImage) -> TagResult:
        self.calls += 1
        return self._tagger.tag(image)

    def preflight(self) -> Health:
        return self._tagger.preflight()


def pipeline(settings: Settings, index: Index, tagger: Counting) -> Pipeline:
    circuit = Circuit(tagger=tagger, interval_s=3600)
    return Pipeline(
        options=PipelineOptions.from_settings(settings, paced=False),
        index=index,
        tagger=tagger,
        circuit=circuit,
        on_outcome=lambda _: None,
    )


def process(pipe: Pipeline, index: Index, path: Path) -> Outcome:
    index.enqueue(path, FileSig.of(path))
    (job,) = index.claim(1)
    return pipe.process(job)


def test_the_pipeline_tells_a_metadata_edit_from_new_pixels(
    xdg: dict[str, Path], tmp_path: Path, photo: Path
) -> None:
    cli = {"backend": "local", "roots": [str(tmp_path)], "state_dir": str(tmp_path / "state")}
    settings = load_settings(cli=cli)
    index = Index(settings.index_path)
    tagger = Counting(make_tagger(settings))
    real = pipeline(settings, index, tagger)
    dry = pipeline(load_settings(cli={**cli, "dry_run": True}), index, tagger)
    try:
        assert process(real, index, photo).change is Change.NEW and tagger.calls == 1
        edit(photo, "-XMP-dc:Subject+=Chelsea")
        # a dry run notes the edit too, and the record still says phototag's write is real
        assert process(dry, index, photo).change is Change.METADATA_ONLY
        record = index.get(photo)
        assert record is not None and not record.dry_run and tagger.calls == 1
        edit(photo, "-XMP-dc:Title=Mine")
        outcome = process(real, index, photo)
        assert outcome.change is Change.METADATA_ONLY and outcome.ending is Ending.DONE
        assert tagger.calls == 1
        Image.open(DATA / "coffee.jpg").save(photo)  # new pixels under the same name
        assert process(real, index, photo).change is Change.NEW_PIXELS and tagger.calls == 2
    finally:
        index.close()


# -- the real daemon -------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeVLM]:
    server = FakeVLM(models=("fake-vlm", "fake-vlm-2")).start()
    yield server
    server.stop()


def tagging_requests(fake: FakeVLM) -> int:
    """Chat requests that asked for tags (the preflight's colour probe is not one)."""
    return sum(
        1 for r in fake.chat_requests if r.images and "What colour is this image?" not in r.text
    )


def wait_records(daemon: DaemonProcess, count: int) -> list[dict[str, object]]:
    return wait_for(
        lambda: (lines := daemon.jsonl()) and len(lines) >= count and lines,
        timeout_s=60,
        what=f"{count} JSONL records",
        log=daemon.log_path,
    )


def index_row(daemon: DaemonProcess, path: Path) -> tuple[int, int, str, str]:
    db = sqlite3.connect(f"file:{daemon.state / INDEX_NAME}?mode=ro", uri=True)
    try:
        return db.execute(
            "SELECT size, mtime_ns, sha256, out_sha256 FROM files WHERE path=?",
            (str(path).encode(),),
        ).fetchone()
    finally:
        db.close()


def show(daemon: DaemonProcess, path: Path) -> dict[str, object]:
    out = daemon.tagctl("show", "--json", str(path), check=True)
    (report,) = json.loads(out.stdout)
    return report


def retag(daemon: DaemonProcess, *args: str) -> int:
    out = daemon.tagctl("retag", "--json", *args, check=True)
    return int(json.loads(out.stdout)["queued"])


@pytest.mark.slow
def test_the_daemon_keeps_a_persons_edit_of_a_jpeg(tmp_path: Path, fake: FakeVLM) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    photo = inbox / "chelsea.jpg"
    # overwrite = "replace" in the settings: a text the person changed is still theirs
    env = vlm_env(fake, PHOTOTAG_METADATA__OVERWRITE="replace")
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env).start()
    try:
        shutil.copyfile(DATA / "chelsea.jpg", photo)
        daemon.wait_done(1)
        assert tagging_requests(fake) == 1
        assert "cat" in keywords(read(photo))

        edit(photo, "-XMP-dc:Subject-=cat", "-XMP-dc:Subject+=Chelsea", "-XMP-dc:Title=Mine")
        records = wait_records(daemon, 2)
        assert records[-1]["change"] == "metadata-only", records[-1]
        assert tagging_requests(fake) == 1  # recognised without a request
        stat, digest = photo.stat(), hashlib.sha256(photo.read_bytes()).hexdigest()
        now = (stat.st_size, stat.st_mtime_ns, digest, digest)  # the new file state
        wait_for(  # the JSONL line is written just before the index
            lambda: index_row(daemon, photo) == now, timeout_s=10, what="the index to note it"
        )
        assert daemon.tagctl("rescan", "--json", check=True).returncode == 0
        assert tagging_requests(fake) == 1 and len(daemon.jsonl()) == 2  # nothing queued

        assert retag(daemon, str(photo)) == 1
        wait_records(daemon, 3)
        daemon.wait_done(1)
        assert tagging_requests(fake) == 2  # a retag asked for does ask the model
        meta = read(photo)
        assert "cat" not in keywords(meta) and "cat" not in keywords(meta, "Keywords")
        assert {"Chelsea", "tabby"} <= set(keywords(meta))
        assert meta["Title"] == "Mine"
        report = show(daemon, photo)
        person = report["person"]
        assert (person["rejected"], person["changed"]) == (["cat"], ["title"])
        assert person["title"] == "Mine" and person["keywords"] == ["Chelsea"]
        text = daemon.tagctl("show", str(photo), check=True).stdout
        assert "removed by a person (never written again): cat" in text
        assert "changed by a person (theirs now): title" in text
    finally:
        assert daemon.stop() == 0

    # edited while phototag was not running: the catch-up scan notes it, no request
    edit(photo, "-XMP-dc:Subject+=Garden")
    env = vlm_env(fake, PHOTOTAG_VLM__MODEL="fake-vlm-2")
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env).start()
    try:
        records = wait_records(daemon, 4)
        assert records[-1]["change"] == "metadata-only", records[-1]
        daemon.wait_done(1)
        assert tagging_requests(fake) == 2
        # a new model: retag --stale tags it again, and still never writes "cat"
        assert retag(daemon, "--stale") == 1
        wait_records(daemon, 5)
        daemon.wait_done(1)
        assert tagging_requests(fake) == 3
        meta = read(photo)
        assert "cat" not in keywords(meta)
        assert {"Chelsea", "Garden", "tabby"} <= set(keywords(meta))
        assert meta["Title"] == "Mine"
    finally:
        assert daemon.stop() == 0


@pytest.mark.slow
def test_the_daemon_keeps_a_persons_edit_of_a_raw_sidecar(tmp_path: Path, fake: FakeVLM) -> None:
    inbox, staging = tmp_path / "inbox", tmp_path / "staging"
    inbox.mkdir()
    staging.mkdir()
    dng = write_dng(staging / "IMG.dng", Image.open(DATA / "chelsea.jpg"))
    sidecar = inbox / "IMG.dng.xmp"
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake)).start()
    try:
        dng.rename(inbox / "IMG.dng")
        daemon.wait_done(1)
        assert tagging_requests(fake) == 1
        assert "cat" in keywords(read(sidecar))

        # darktable/digiKam rewrite the sidecar: no job at all
        edit(sidecar, "-XMP-dc:Subject-=cat", "-XMP-dc:Subject+=Chelsea")
        # and a person's edit inside the RAW itself: the image data stays the same
        edit(inbox / "IMG.dng", "-XMP-xmp:Rating=4", "-EXIF:Artist=Me")
        records = wait_records(daemon, 2)
        assert records[-1]["change"] == "metadata-only", records[-1]
        daemon.wait_done(1)  # the JSONL line goes first; retag counts only a finished row
        assert tagging_requests(fake) == 1

        assert retag(daemon, str(inbox / "IMG.dng")) == 1
        wait_records(daemon, 3)
        daemon.wait_done(1)
        assert tagging_requests(fake) == 2
        meta = read(sidecar)
        assert "cat" not in keywords(meta) and {"Chelsea", "tabby"} <= set(keywords(meta))
        assert show(daemon, inbox / "IMG.dng")["person"]["rejected"] == ["cat"]

        # a tool that rewrites the sidecar from its own database, without phototag's
        # record, and without "fur": the index still knows what phototag wrote there
        sidecar.unlink()
        keep = ("-XMP-dc:Subject=tabby", "-XMP-dc:Subject=Chelsea")
        subprocess.run(
            ["exiftool", "-q", *keep, "-o", str(sidecar), str(DATA / "chelsea.jpg")], check=True
        )
        assert show(daemon, inbox / "IMG.dng")["provenance"] is None
        assert retag(daemon, str(inbox / "IMG.dng")) == 1
        wait_records(daemon, 4)
        daemon.wait_done(1)
        assert tagging_requests(fake) == 3
        meta = read(sidecar)
        assert "fur" not in keywords(meta) and "cat" not in keywords(meta)
        assert {"Chelsea", "tabby"} <= set(keywords(meta))
        assert {"cat", "fur"} <= set(show(daemon, inbox / "IMG.dng")["person"]["rejected"])
    finally:
        assert daemon.stop() == 0


@pytest.mark.slow
def test_the_daemon_keeps_a_persons_edit_of_a_heic(tmp_path: Path, fake: FakeVLM) -> None:
    """No parser finds HEIC's image data: the decoded pixels tell the edit apart."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    staging = tmp_path / "cat.heic"
    Image.open(DATA / "chelsea.jpg").save(staging, format="HEIF")
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake)).start()
    try:
        staging.rename(inbox / "cat.heic")
        daemon.wait_done(1)
        assert tagging_requests(fake) == 1
        edit(inbox / "cat.heic", "-XMP-xmp:Rating=4")
        records = wait_records(daemon, 2)
        assert records[-1]["change"] == "metadata-only", records[-1]
        assert tagging_requests(fake) == 1
    finally:
        assert daemon.stop() == 0
