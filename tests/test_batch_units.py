"""The pure parts behind the batch features: backlog figures, verdicts, per-field merging."""

from __future__ import annotations

from pathlib import Path

import pytest

from phototag.config import Settings, VlmPartSettings
from phototag.domain import FileSig, Health, TagResult, Tags
from phototag.intake.discovery import verdict
from phototag.reporting.progress import Backlog, BacklogTracker, format_duration, render_bar
from phototag.states import Status
from phototag.store.records import FileRecord
from phototag.taggers.vlm.split import combine, combine_health, part_settings, profile_label

SIG = FileSig(size=10, mtime_ns=5)


def record(status: str, *, dry_run: bool = False, sig: FileSig = SIG) -> FileRecord:
    return FileRecord(
        id=1,
        path=Path("/r/a.jpg"),
        size=sig.size,
        mtime_ns=sig.mtime_ns,
        sha256=None,
        out_sha256=None,
        status=Status(status),
        attempts=1,
        last_error=None,
        result=None,
        backend=None,
        model=None,
        prompt_digest=None,
        fallback=False,
        dry_run=dry_run,
        queued_at=None,
        started_at=None,
        finished_at=None,
        updated_at=0.0,
    )


def test_backlog_counts_from_the_last_idle_moment_and_ends_when_empty() -> None:
    tracker = BacklogTracker()
    assert tracker.observe(now_s=0, finished_total=0, remaining=0).total == 0
    tracker.observe(now_s=10, finished_total=3, remaining=0)  # idle again after 3 photos
    backlog = tracker.observe(now_s=12, finished_total=5, remaining=6)  # 2 done since
    assert (backlog.finished, backlog.total, backlog.elapsed_s) == (2, 8, 2)
    assert backlog.rate_per_s == 1.0 and backlog.eta_s == 6.0
    done = tracker.observe(now_s=20, finished_total=11, remaining=0)
    assert (done.finished, done.total, done.eta_s) == (8, 8, 0.0)
    assert tracker.observe(now_s=30, finished_total=11, remaining=0).total == 0


def test_bar_and_durations() -> None:
    bar = render_bar(Backlog(finished=45, remaining=55, elapsed_s=15.0), failed=2, width_chars=10)
    assert bar == "[####......] 45/100   45%  3.0/s  ETA 0:18  (2 failed)"
    young = render_bar(Backlog(finished=0, remaining=5, elapsed_s=0.1), width_chars=4)
    assert young == "[....] 0/5    0%  -.-/s  ETA --:--"
    assert format_duration(3725) == "1:02:05" and format_duration(59.6) == "1:00"


@pytest.mark.parametrize(
    ("known", "dry_run", "expected"),
    [
        (None, False, ("process", "new")),
        (record("deleted"), False, ("process", "new")),
        (record("done", sig=FileSig(11, 5)), False, ("process", "changed since it was last seen")),
        (record("queued"), False, ("process", "already queued")),
        (record("done"), False, ("skip", "already done")),
        (record("done", dry_run=True), False, ("process", "tagged in a dry run only")),
        (record("done", dry_run=True), True, ("skip", "already done")),
        (record("failed"), False, ("skip", "failed before and unchanged (tagctl retry)")),
    ],
)
def test_verdict(known: FileRecord | None, dry_run: bool, expected: tuple[str, str]) -> None:
    assert verdict(known, SIG, dry_run=dry_run) == expected


def test_a_field_model_inherits_what_it_does_not_set(xdg: dict[str, Path]) -> None:
    settings = Settings(
        vlm={
            "model": "main",
            "max_inflight": 8,
            "profile": "portfolio",
            "keywords": {"model": "small", "profile": "stock"},
        }
    )
    part = settings.vlm.keywords
    assert isinstance(part, VlmPartSettings)
    keywords = part_settings(settings.vlm, part)
    assert (keywords.model, keywords.max_inflight, keywords.profile) == ("small", 8, "stock")
    assert keywords.base_url == settings.vlm.base_url and keywords.keywords is None
    assert profile_label(settings.vlm) == "portfolio; keywords: stock"


def test_combine_takes_each_field_from_its_model() -> None:
    def result(model: str, **tags: object) -> TagResult:
        return TagResult(
            tags=Tags(**tags),
            backend="openai",
            model=model,  # type: ignore[arg-type]
            prompt_digest=model * 2,
        )

    main = result("m", title="T", description="short", keywords=("a",))
    merged = combine(main, {"description": result("big", title="x", description="long")})
    assert merged.tags == Tags(title="T", description="long", keywords=("a",))
    assert merged.model == "m; description: big" and len(merged.prompt_digest) == 64
    unhealthy = combine_health(
        {
            "main": Health(ok=True, probes_s={"models": 0.1}),
            "keywords": Health(ok=False, reason="gone", permanent=True),
        }
    )
    assert not unhealthy.ok and unhealthy.permanent
    assert unhealthy.reason == "keywords model: gone"
    assert unhealthy.probes_s == {"main.models": 0.1}
