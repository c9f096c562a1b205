"""One job through the stages: check, hash, keep a person's edit, reuse or tag, write, record.

Each stage is a short function; :meth:`Pipeline.process` times them and turns every
outcome, good or bad, into exactly one index update and one JSONL record.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from phototag import __version__
from phototag.config import MetadataSettings, Settings
from phototag.domain import FileSig, TagResult, Tags
from phototag.errors import (
    BackendUnavailable,
    BadImage,
    DiskFull,
    FileChanged,
    FileGone,
    JobError,
)
from phototag.intake.mounts import FullDisks
from phototag.intake.selection import entry_skip_reason, size_skip_reason
from phototag.metadata.atomic import check_no_writer
from phototag.metadata.imagehash import hash_file, pixels_sha256
from phototag.metadata.text import valid_result
from phototag.metadata.write import WriteOutcome, write_tags
from phototag.processing.changes import Change, classify_change
from phototag.processing.circuit import Circuit
from phototag.processing.imaging import prepare
from phototag.processing.reuse import Reuse, dry_run_reuse, identity_of
from phototag.states import Ending, Status
from phototag.store.queue import Index
from phototag.store.records import FileRecord, Job, display_path
from phototag.taggers import Paced, Tagger

if TYPE_CHECKING:
    from phototag.taggers.local.tagger import LocalTagger

JSONL_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """What a :class:`Pipeline` reads of the settings (:meth:`from_settings`)."""

    writer_quiet_s: float  # a writer seen at work this recently: re-queued
    follow_symlinks: bool
    max_file_bytes: int
    max_image_pixels: int
    max_edge_px: int  # the longest edge the tagger is shown
    workers: int  # photos read and decoded at once
    requeue_after_s: float  # a job that goes back to the queue waits this long
    metadata: MetadataSettings
    writes_metadata: bool
    supplement: bool  # with a VLM: the embedded tagger adds facts and places
    fallback: bool  # with a VLM: the embedded tagger stands in while it is down
    profile: str | None  # with a VLM: the prompt profile(s) recorded with its results

    @classmethod
    def from_settings(cls, settings: Settings, *, paced: bool) -> PipelineOptions:
        """``paced``: the tagger is a VLM (:class:`phototag.taggers.Paced`)."""
        profile = None
        if paced:
            from phototag.taggers.vlm.split import profile_label  # loaded with the VLM tagger

            profile = profile_label(settings.vlm)
        return cls(
            writer_quiet_s=settings.writer_quiet_s,
            follow_symlinks=settings.follow_symlinks,
            max_file_bytes=settings.max_file_bytes,
            max_image_pixels=settings.max_image_pixels,
            # a VLM sees up to vlm.max_edge_px; the embedded tagger needs far less (faster
            # decode)
            max_edge_px=settings.vlm.max_edge_px if paced else settings.max_edge_px,
            workers=settings.workers,
            requeue_after_s=max(settings.debounce_s, 1.0),
            metadata=settings.metadata,
            writes_metadata=settings.writes_metadata,
            supplement=settings.local.with_vlm,
            fallback=settings.local.fallback,
            profile=profile,
        )


@dataclass(slots=True)
class Outcome:
    """Everything known about one finished job; becomes the index row and the JSONL line."""

    job: Job
    ending: Ending  # the JSONL line's status; ending.status is the index row's
    sha256: str | None = None
    image_sha256: str | None = None  # the image data without its metadata blocks
    change: Change | None = None  # how the file differs from the index's record of it
    known: FileRecord | None = None  # the index's record of the file before this job
    result: TagResult | None = None
    write: WriteOutcome | None = None
    error: str | None = None
    reused_from: Path | None = None
    notes: list[str] = field(default_factory=list)
    durations_s: dict[str, float] = field(default_factory=dict)
    raw: str | None = None
    profile: str | None = None  # the prompt profile(s), when a VLM tagged it in this job

    def record(self, *, dry_run: bool) -> dict[str, Any]:
        tags = self.result.tags if self.result else Tags()
        write = self.write
        return {
            "schema": JSONL_SCHEMA,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "version": __version__,
            "path": display_path(self.job.path),
            "status": self.ending,
            "sha256": self.sha256,
            "change": self.change,
            "backend": self.result.backend if self.result else None,
            "model": self.result.model if self.result else None,
            "prompt_digest": self.result.prompt_digest if self.result else None,
            "profile": self.profile,
            "fallback": bool(self.result and self.result.fallback),
            "title": tags.title,
            "caption": tags.caption,
            "description": tags.description,
            "keywords": list(tags.keywords),
            "hierarchical": list(tags.hierarchical),
            "metadata": {
                "written": bool(write and write.written),
                "target": display_path(write.target) if write and write.target else None,
                "sidecar": bool(write and write.sidecar),
                "fields": list(write.fields) if write else [],
                "note": write.note if write else "",
            },
            "dry_run": dry_run,
            "reused_from": display_path(self.reused_from) if self.reused_from else None,
            "durations_s": {k: round(v, 4) for k, v in self.durations_s.items()},
            "notes": self.notes + (list(self.result.notes) if self.result else []),
            "error": self.error,
            "raw": self.raw,
        }


def result_summary(result: TagResult, *, sha256: str | None) -> dict[str, Any]:
    """What the index keeps of a result: enough to reuse it for a byte-identical copy, or
    to write it after a dry run. ``sha256`` is the input it was made from: a later failure
    updates the row's sha256 column, never the result."""
    tags = result.tags
    return {
        "sha256": sha256,
        "fallback": result.fallback,
        "title": tags.title,
        "caption": tags.caption,
        "description": tags.description,
        "alt_text": tags.alt_text,
        "keywords": list(tags.keywords),
        "hierarchical": list(tags.hierarchical),
        "notes": list(result.notes),
    }


def result_from_record(record: FileRecord) -> TagResult:
    data = record.result or {}
    return TagResult(
        tags=Tags(
            title=data.get("title", ""),
            caption=data.get("caption", ""),
            description=data.get("description", ""),
            alt_text=data.get("alt_text", ""),
            keywords=tuple(data.get("keywords", ())),
            hierarchical=tuple(data.get("hierarchical", ())),
        ),
        backend=record.backend or "",
        model=record.model or "",
        prompt_digest=record.prompt_digest or "",
    )


class Pipeline:
    """Runs jobs; thread-safe (each call works on its own job)."""

    def __init__(
        self,
        *,
        options: PipelineOptions,
        index: Index,
        tagger: Tagger,
        circuit: Circuit,
        on_outcome: Callable[[Outcome], None],
        companion: LocalTagger | None = None,
    ) -> None:
        """``companion``: with a VLM, the embedded tagger that adds facts and places and/or
        stands in while the VLM is down, as ``options`` say (:func:`companion_for`)."""
        self._options = options
        self._index = index
        self._tagger = tagger
        self._circuit = circuit
        self._on_outcome = on_outcome
        self.full_disks = FullDisks()  # photo disks with no room to write: work pauses
        self._supplement = companion.supplement if companion and options.supplement else None
        self._fallback = companion if companion and options.fallback else None
        # at most `workers` photos are read and decoded at once, however many threads wait
        # on a VLM: the CPU and memory they need stay bounded, and at a start the first
        # photos reach the server sooner than if every thread decoded at the same time
        self._decoding = threading.BoundedSemaphore(options.workers)
        # with a VLM, at most `workers` photos beyond the server's current limit hold a
        # decoded image: the rest wait before they are read, so memory follows the limit
        # ("auto" moves it) and never the thread count (workers + the cap)
        self._admission = _Admission(
            extra=options.workers,
            limit=(lambda: _current_limit(tagger)) if isinstance(tagger, Paced) else None,
        )

    @property
    def has_fallback(self) -> bool:
        return self._fallback is not None

    def process(self, job: Job) -> Outcome:
        outcome = Outcome(job=job, ending=Ending.FAILED)
        started = time.perf_counter()
        try:
            self._run(job, outcome)
        except JobError as exc:  # the error says how the job ends
            outcome.ending, outcome.error, outcome.raw = exc.ending, str(exc), exc.raw
            if outcome.ending is Ending.DELETED and self._follow(outcome) != job.path:
                outcome.ending = Ending.REQUEUED  # renamed, not deleted: the watcher moved
                # its record, so it is tagged under its new name
        except BackendUnavailable as exc:  # not the job's fault: it waits for the backend
            outcome.ending, outcome.error = Ending.REQUEUED, f"backend unavailable: {exc}"
            self._circuit.record_failure(exc)
        except Exception as exc:  # a bug must cost one job, never the pool
            logger.opt(exception=True).error("internal error on {}", display_path(job.path))
            outcome.ending = Ending.FAILED
            outcome.error = f"internal error: {type(exc).__name__}: {exc}"
        outcome.durations_s["total"] = time.perf_counter() - started
        try:  # the JSONL line before the index: a crash between them redoes the job (a
            self._on_outcome(outcome)  # second line), never leaves a done job without one
        finally:
            self._record(outcome)
        return outcome

    # -- stages ---------------------------------------------------------------------------

    def _run(self, job: Job, outcome: Outcome) -> None:
        with _timed(outcome, "check"):
            sig = _current_sig(job)
            check_no_writer(
                job.path, quiet_s=self._options.writer_quiet_s, now_ns=time.time_ns()
            )  # a writer still at work: re-queued, never tagged half-written
            follow = self._options.follow_symlinks
            max_bytes = self._options.max_file_bytes
            if skip := entry_skip_reason(job.path, follow_symlinks=follow) or size_skip_reason(
                sig.size, max_file_bytes=max_bytes
            ):
                raise BadImage(skip.message)  # never opened: swapped for a link, or far too large
        with self._admission:
            with self._decoding:
                with _timed(outcome, "hash"):
                    hashes = hash_file(job.path)
                    outcome.sha256, outcome.image_sha256 = hashes.sha256, hashes.image_sha256
                if self._keep_metadata_edit(job, outcome, sig) or self._reuse(job, outcome, sig):
                    return
                with _timed(outcome, "prepare"):
                    image = prepare(
                        job.path,
                        max_edge_px=self._options.max_edge_px,
                        max_pixels=self._options.max_image_pixels,
                    )
                if outcome.image_sha256 is None:  # HEIC, CR3, ...: compare the decoded pixels
                    outcome.image_sha256 = pixels_sha256(image.image)
                    if self._keep_metadata_edit(job, outcome, sig):
                        return
            with _timed(outcome, "tag"):
                outcome.result = self._tag(image)
            del image  # out before the next photo may be decoded
        if outcome.result.prompt_digest:  # a prompt was sent: its profile is recorded
            outcome.profile = self._options.profile
        self._write_result(outcome, sig)
        outcome.ending = Ending.DONE

    def _follow(self, outcome: Outcome) -> Path:
        """Where the job's photo is now. A rename while it was tagged (``a.jpg`` to
        ``b.jpg``, ``trip/`` to ``trip-2024/``) moves its record, so the answer is written
        to the photo where it now is, and recorded under that path, without asking again."""
        record = self._index.get_id(outcome.job.id)
        if record is not None and record.path != outcome.job.path:
            logger.info(
                "moved while being tagged: {} -> {}",
                display_path(outcome.job.path),
                display_path(record.path),
            )
            outcome.job = replace(outcome.job, path=record.path)
        return outcome.job.path

    def _tag(self, image: Any) -> TagResult:
        """The tagger's answer with its texts made valid for XMP and IPTC (what is written,
        recorded and reported is then the same text)."""
        if not self._circuit.healthy and self._fallback is not None:
            return valid_result(replace(self._fallback.tag(image), fallback=True))
        result = self._tagger.tag(image)
        self._circuit.record_success()
        return valid_result(self._supplement(result, image) if self._supplement else result)

    def _keep_metadata_edit(self, job: Job, outcome: Outcome, sig: FileSig) -> bool:
        """Another tool edited only the metadata of a photo phototag tagged: the person's
        edit is final, so the index notes the file's new state and nothing is tagged."""
        record = outcome.known = self._index.get_id(job.id)
        outcome.change = classify_change(
            record, sha256=outcome.sha256 or "", image_sha256=outcome.image_sha256
        )
        if outcome.change is not Change.METADATA_ONLY:
            return False
        assert record is not None  # classify_change says METADATA_ONLY only for a record
        # the same bytes as before (a RAW or HEIC whose sidecar was edited): its image hash
        # is the record's, not computed again, and must stay for the next change
        outcome.image_sha256 = outcome.image_sha256 or record.image_sha256
        outcome.result = replace(result_from_record(record), fallback=record.fallback)
        outcome.notes.append("metadata edited by another tool, image data unchanged: kept")
        outcome.write = _nothing_written(sig, outcome.sha256)
        outcome.ending = Ending.DONE
        return True

    def _reuse(self, job: Job, outcome: Outcome, sig: FileSig) -> bool:
        """A dry run tagged this very file, or a byte-identical file was tagged before:
        moved while we were down, or copied."""
        if self._apply_dry_run(outcome, sig):
            return True
        donor = self._index.find_tagged_copy(outcome.sha256 or "")
        if donor is None or donor.id == job.id:
            return False
        if donor.status is Status.DELETED or not donor.path.exists():
            self._index.adopt(job.id, donor)
            outcome.ending, outcome.reused_from = Ending.ADOPTED, donor.path
            outcome.result = result_from_record(donor)
            outcome.notes.append("moved while phototag was not running: record kept")
            return True
        outcome.result = result_from_record(donor)
        outcome.reused_from = donor.path
        if donor.out_sha256 == outcome.sha256:
            outcome.notes.append("copy of a photo phototag already tagged: nothing to write")
            outcome.write = _nothing_written(sig, outcome.sha256)
        else:
            outcome.notes.append("byte-identical copy: stored result reused, tagger not called")
            self._write_result(outcome, sig)
        outcome.ending = Ending.DONE
        return True

    def _apply_dry_run(self, outcome: Outcome, sig: FileSig) -> bool:
        """Write the result a dry run stored for this file, when it would come out the same."""
        own = outcome.known  # the index's record, read by _keep_metadata_edit just before
        if not self._options.writes_metadata or own is None:
            return False
        verdict = dry_run_reuse(own, sha256=outcome.sha256, now=identity_of(self._tagger))
        if verdict is not Reuse.APPLY:
            if verdict is not None:
                outcome.notes.append(verdict)
            return False
        outcome.result = result_from_record(own)
        outcome.notes.append("result of its dry run written: tagger not called")
        self._write_result(outcome, sig)
        outcome.ending = Ending.DONE
        return True

    def _write_result(self, outcome: Outcome, sig: FileSig) -> None:
        """Write ``outcome.result`` where the photo is now (it may have moved), timed."""
        assert outcome.result is not None
        with _timed(outcome, "write"):
            outcome.write = self._write(
                self._follow(outcome), outcome.result, sig, _written_before(outcome)
            )

    def _write(
        self, path: Path, result: TagResult, sig: FileSig, written_before: tuple[str, ...]
    ) -> WriteOutcome:
        dry_run = not self._options.writes_metadata
        try:
            return write_tags(
                path,
                result,
                settings=self._options.metadata,
                expected=sig,
                dry_run=dry_run,
                written_before=written_before,
            )
        except DiskFull as exc:  # the photo is as it was: work pauses until there is room
            self.full_disks.full(exc.folder, need_bytes=exc.need_bytes)
            raise

    def _record(self, outcome: Outcome) -> None:
        job = outcome.job
        if outcome.ending is Ending.ADOPTED:
            return  # Index.adopt gave it the donor's done row when the job took it over
        if outcome.ending is Ending.REQUEUED:
            try:
                new_sig = FileSig.of(job.path)
            except OSError:
                new_sig = None
            # changed under us, or the backend is down: try again once things settle
            self._index.requeue(
                job.id,
                sig=new_sig,
                error=outcome.error,
                delay_s=self._options.requeue_after_s,
            )
            return
        if outcome.ending is Ending.DELETED:
            self._index.finish(job.id, status=Status.DELETED, error=outcome.error)
            return
        if outcome.ending is Ending.FAILED:
            self._index.finish(
                job.id, status=Status.FAILED, sha256=outcome.sha256, error=outcome.error
            )
            return
        result, write = outcome.result, outcome.write
        assert result is not None and write is not None
        # a metadata-only change keeps the record of phototag's real, earlier write
        dry_run = outcome.change is not Change.METADATA_ONLY and not self._options.writes_metadata
        self._index.finish(
            job.id,
            status=Status.DONE,
            sig=write.sig,
            sha256=outcome.sha256,
            out_sha256=write.sha256 if write.written else outcome.sha256,
            image_sha256=outcome.image_sha256,  # a write leaves the image data as it was
            result=result_summary(result, sha256=outcome.sha256),
            backend=result.backend,
            model=result.model,
            prompt_digest=result.prompt_digest,
            fallback=result.fallback,
            dry_run=dry_run,
        )


class _Admission:
    """Lets at most ``extra + limit()`` threads in at once; ``limit`` None: everyone."""

    def __init__(self, *, extra: int, limit: Callable[[], int] | None) -> None:
        self._extra, self._limit = extra, limit
        self._cond = threading.Condition()
        self._inside = 0

    def __enter__(self) -> None:
        if self._limit is None:
            return
        with self._cond:
            # the timeout: a limit can rise while nobody leaves (an idle start)
            while self._inside >= self._extra + self._limit():
                self._cond.wait(timeout=1.0)
            self._inside += 1

    def __exit__(self, *_: object) -> None:
        if self._limit is None:
            return
        with self._cond:
            self._inside -= 1
            self._cond.notify(max(1, self._extra + self._limit() - self._inside))


def _current_limit(tagger: Paced) -> int:
    return sum(status.limit for status in tagger.concurrency().values())


class _timed:
    def __init__(self, outcome: Outcome, stage: str) -> None:
        self._outcome, self._stage = outcome, stage

    def __enter__(self) -> None:
        self._t0 = time.perf_counter()

    def __exit__(self, *_: object) -> None:
        spent = time.perf_counter() - self._t0
        self._outcome.durations_s[self._stage] = (
            self._outcome.durations_s.get(self._stage, 0) + spent
        )


def _nothing_written(sig: FileSig, sha256: str | None) -> WriteOutcome:
    """The write stage's outcome when the file already carries what it should."""
    return WriteOutcome(
        written=False,
        target=None,
        sidecar=False,
        fields=(),
        keywords=(),
        sig=sig,
        sha256=sha256,
    )


def _written_before(outcome: Outcome) -> tuple[str, ...]:
    """The keywords phototag wrote into this very photo last time, when its bytes are still
    as phototag last knew them (a re-tag; a RAW whose sidecar another tool rewrote): a
    person's removal of one is known even if that tool dropped phototag's record. Never
    for new pixels under the same name: that is another photo."""
    record = outcome.known
    if outcome.change is not Change.SAME_BYTES or record is None or not record.result:
        return ()
    return tuple(record.result.get("keywords", ()))


def _current_sig(job: Job) -> FileSig:
    try:
        sig = FileSig.of(job.path)
    except FileNotFoundError as exc:
        raise FileGone("file disappeared before it could be processed") from exc
    if sig != job.sig:
        raise FileChanged("file changed since it was queued; waiting for it to settle")
    return sig


def companion_for(settings: Settings, tagger: Tagger) -> LocalTagger | None:
    """The embedded tagger beside a VLM, when hybrid use or the fallback asks for one."""
    if not isinstance(tagger, Paced) or not (settings.local.with_vlm or settings.local.fallback):
        return None
    from phototag.taggers.local.tagger import LocalTagger

    return LocalTagger.from_settings(settings)
