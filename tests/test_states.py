"""Statuses, job endings, decisions and skip reasons are StrEnums: code decides on the
members, and their values are the strings the index and the JSONL always stored.

The pipeline runs for real (a real photo, a real SQLite index, the real stages); only
the tagger stage is a stand-in, raising what a model's answer would make it raise.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

import phototag.store
from phototag.config import Settings, load_settings
from phototag.domain import FileSig, Health, PreparedImage, TagResult
from phototag.errors import (
    BadAnswer,
    BadImage,
    DiskFull,
    FileChanged,
    FileGone,
    JobError,
    MetadataWriteError,
)
from phototag.intake.selection import Selection, SkipReason, entry_skip_reason, size_skip_reason
from phototag.metadata.imagehash import hash_file
from phototag.processing.circuit import Circuit
from phototag.processing.pipeline import Outcome, Pipeline, PipelineOptions
from phototag.states import Ending, Status
from phototag.store.queue import Index
from phototag.store.records import Decision, decide

DATA = Path(__file__).parent / "data"

# what phototag 0.1 wrote before these were enums: an index or a JSONL line of then must
# read back the same, so no migration
OLD_STATUSES = ("queued", "processing", "done", "failed", "skipped", "deleted", "undone")
OLD_JSONL_STATUSES = ("done", "adopted", "queued", "failed", "deleted")


def test_stored_values_are_the_strings_stored_before() -> None:
    assert tuple(Status) == OLD_STATUSES  # also the order tagctl status lists them in
    assert {e.value for e in Ending} == set(OLD_JSONL_STATUSES)
    assert [d.value for d in Decision] == ["queue", "in-flight", "failed", "unchanged"]
    assert json.dumps({"status": Ending.ADOPTED}) == '{"status": "adopted"}'


def test_each_ending_leaves_the_index_row_it_always_left() -> None:
    assert {e: e.status for e in Ending} == {
        Ending.DONE: Status.DONE,
        Ending.ADOPTED: Status.DONE,  # it took over the done row of the photo it was
        Ending.REQUEUED: Status.QUEUED,
        Ending.FAILED: Status.FAILED,
        Ending.DELETED: Status.DELETED,
    }


def test_the_store_sql_names_only_statuses_the_enum_knows() -> None:
    """Status literals stay in the store's SQL; each must be a value of Status."""
    named: set[str] = set()
    for path in Path(phototag.store.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                named |= set(re.findall(r"'([a-z]+)'", node.value))
    assert named and named <= {s.value for s in Status}, named - set(Status)


def test_rows_of_an_older_phototag_read_back_as_members(tmp_path: Path) -> None:
    index = Index(tmp_path / "index.sqlite3")
    try:
        db = sqlite3.connect(index.path)
        with db:  # rows as an older phototag wrote them: plain text
            for n, status in enumerate(OLD_STATUSES):
                db.execute(
                    "INSERT INTO files (path, size, mtime_ns, status, queued_at, updated_at) "
                    "VALUES (?, 1, 1, ?, 0, 0)",
                    (os.fsencode(tmp_path / f"{n}.jpg"), status),
                )
        for n, status in enumerate(OLD_STATUSES):
            record = index.get(tmp_path / f"{n}.jpg")
            assert record is not None and record.status is Status(status)
        counts = index.reader().counts()
        assert all(counts[status] == 1 for status in Status)
        job = index.claim(1)[0]  # the queued one
        index.finish(job.id, status=Status.DONE, result={"keywords": ["cat"]})
        row = db.execute("SELECT status, typeof(status) FROM files WHERE id=?", (job.id,))
        assert row.fetchone() == ("done", "text")  # the very text an older one reads
        db.close()
    finally:
        index.close()


class _Tagger:
    """The tagger stage: ``error`` is what the model's answer makes it raise; None: it
    must not be reached at all."""

    name = "local"
    model = "stand-in"
    prompt_digest = ""

    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def tag(self, image: PreparedImage) -> TagResult:
        raise self.error or AssertionError("the tagger was called")

    def preflight(self) -> Health:
        return Health(ok=True)

    def close(self) -> None:
        pass


def _settings(inbox: Path) -> Settings:
    return load_settings(cli={"roots": [str(inbox)]})


def _pipeline(settings: Settings, index: Index, tagger: _Tagger, seen: list[Outcome]) -> Pipeline:
    return Pipeline(
        options=PipelineOptions.from_settings(settings, paced=False),
        index=index,
        tagger=tagger,
        circuit=Circuit(tagger=tagger, interval_s=60),
        on_outcome=seen.append,
    )


def _photo(inbox: Path, name: str) -> Path:
    path = inbox / name
    shutil.copyfile(DATA / "chelsea.jpg", path)
    quiet = time.time() - 60  # long written: no writer can still be at it
    os.utime(path, (quiet, quiet))
    return path


class _Later(JobError):
    """An error the pipeline has never heard of: its ending alone says what to do."""

    ending = Ending.REQUEUED


JOB_ERRORS: dict[type[JobError], Ending] = {
    FileGone: Ending.DELETED,
    FileChanged: Ending.REQUEUED,
    BadImage: Ending.FAILED,
    MetadataWriteError: Ending.FAILED,
    DiskFull: Ending.REQUEUED,
    BadAnswer: Ending.FAILED,
}


def test_every_job_error_states_how_its_job_ends() -> None:
    def below(cls: type[JobError]) -> set[type[JobError]]:
        return {sub for direct in cls.__subclasses__() for sub in {direct, *below(direct)}}

    assert below(JobError) - {_Later} == set(JOB_ERRORS)
    assert {cls: cls.ending for cls in JOB_ERRORS} == JOB_ERRORS


@pytest.mark.parametrize(
    "error",
    [
        FileGone("gone"),
        FileChanged("changed"),
        BadImage("corrupt"),
        MetadataWriteError("refused"),
        DiskFull("no room", folder=Path("/"), need_bytes=1),
        BadAnswer("not JSON", raw="{oops"),
        _Later("not now"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_job_ends_as_its_error_says(xdg: dict[str, Path], inbox: Path, error: JobError) -> None:
    settings = _settings(inbox)
    index = Index(settings.index_path)
    try:
        photo = _photo(inbox, "cat.jpg")
        index.enqueue(photo, FileSig.of(photo))
        seen: list[Outcome] = []
        outcome = _pipeline(settings, index, _Tagger(error), seen).process(index.claim(1)[0])
        assert outcome.ending is error.ending and seen == [outcome]
        assert outcome.error == str(error)
        assert outcome.raw == (error.raw if isinstance(error, BadAnswer) else None)
        record = index.get(photo)
        assert record is not None and record.status is error.ending.status
        line = outcome.record(dry_run=False)
        assert json.loads(json.dumps(line))["status"] == error.ending.value
    finally:
        index.close()


def test_adopted_is_a_jsonl_status_over_a_done_row(xdg: dict[str, Path], inbox: Path) -> None:
    """A photo moved while phototag was down takes the record of the photo it was."""
    settings = _settings(inbox)
    index = Index(settings.index_path)
    try:
        moved = _photo(inbox, "moved.jpg")
        before = inbox / "before.jpg"  # its old name, no longer on disk
        index.enqueue(before, FileSig.of(moved))
        donor = index.claim(1)[0]
        result = {"title": "A cat", "keywords": ["cat"]}
        sha256 = hash_file(moved).sha256
        index.finish(
            donor.id, status=Status.DONE, sha256=sha256, result=result, backend="local", model="m"
        )
        index.enqueue(moved, FileSig.of(moved))
        seen: list[Outcome] = []
        outcome = _pipeline(settings, index, _Tagger(None), seen).process(index.claim(1)[0])
        assert outcome.ending is Ending.ADOPTED and outcome.reused_from == before
        assert json.loads(json.dumps(outcome.record(dry_run=False)))["status"] == "adopted"
        record = index.get(moved)
        assert record is not None and record.status is Ending.ADOPTED.status is Status.DONE
        assert record.result == result and index.get(before) is None
        assert index.reader().counts()[Status.DONE] == 1
    finally:
        index.close()


def test_decisions_are_members(tmp_path: Path) -> None:
    index = Index(tmp_path / "index.sqlite3")
    try:
        path, sig = tmp_path / "a.jpg", FileSig(1, 1)
        assert decide(None, sig) is Decision.QUEUE
        index.enqueue(path, sig)
        assert decide(index.get(path), sig) is Decision.IN_FLIGHT
        index.finish(index.claim(1)[0].id, status=Status.FAILED, error="x")
        assert decide(index.get(path), sig) is Decision.FAILED
    finally:
        index.close()


def test_skip_reasons_are_members_with_the_variable_part_in_the_message(
    xdg: dict[str, Path], tmp_path: Path
) -> None:
    root = tmp_path / "in"
    root.mkdir()
    selection = Selection.from_settings(Settings(roots=[root]))
    assert selection.skip_reason(tmp_path / "a.jpg") is SkipReason.OUTSIDE_ROOTS
    assert selection.skip_reason(root / ".a.jpg") is SkipReason.HIDDEN_FILE
    (root / "link.jpg").symlink_to(DATA / "chelsea.jpg")
    os.mkfifo(root / "pipe.jpg")
    link = entry_skip_reason(root / "link.jpg", follow_symlinks=False)
    assert link is not None and link.reason is SkipReason.SYMLINK
    assert link.message == "symbolic link, not followed (follow_symlinks is off)"
    fifo = entry_skip_reason(root / "pipe.jpg", follow_symlinks=False)
    assert fifo is not None and fifo.reason is SkipReason.NOT_REGULAR
    gone = entry_skip_reason(root / "gone.jpg", follow_symlinks=False)
    assert gone is not None and gone.reason is SkipReason.CANNOT_STAT
    assert gone.message == "cannot stat: No such file or directory"
    big = size_skip_reason(2_000_000_000, max_file_bytes=1_000_000_000)
    assert big is not None and big.reason is SkipReason.TOO_LARGE
    assert big.message == "file is 2.0 GB, over max_file_bytes (1.0 GB)"
