"""The VLM tagger's adaptive concurrency against a real HTTP server (tests/fakevlm.py):
hosted APIs' rate-limit headers, 429 and Retry-After, fixed numbers, per-field models."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loguru import logger
from PIL import Image

from conftest import DATA
from fakevlm import FakeVLM, RateLimit, error
from phototag.config import VlmPartSettings, VlmSettings
from phototag.domain import PreparedImage
from phototag.taggers import Paced
from phototag.taggers.vlm.adaptive import INITIAL_LIMIT
from phototag.taggers.vlm.split import SplitTagger
from phototag.taggers.vlm.tagger import OpenAITagger


@pytest.fixture
def fake() -> Iterator[FakeVLM]:
    with FakeVLM() as server:
        yield server


def settings_for(fake: FakeVLM, **vlm: Any) -> VlmSettings:
    options: dict[str, Any] = {
        "base_url": fake.url,
        "model": "fake-vlm",
        "retry_base_s": 0.01,
        "retry_max_s": 2.0,
        "timeout_s": 5.0,
        "max_retries": 3,
    }
    options.update(vlm)
    return VlmSettings(**options)


@pytest.fixture
def tagger(
    fake: FakeVLM, xdg: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[OpenAITagger]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    made = OpenAITagger(vlm=settings_for(fake, max_tokens=256), max_keywords=25)
    assert made.preflight().ok
    fake.clear()
    yield made
    made.close()


def images(n: int) -> list[PreparedImage]:
    base = Image.open(DATA / "chelsea.jpg").convert("RGB")
    return [
        PreparedImage(
            path=Path(f"p{i}.jpg"),
            image=base.resize((160 + i, 120)),
            original_size=(160 + i, 120),
            format="JPEG",
        )
        for i in range(n)
    ]


def tag_all(tagger: Any, photos: list[PreparedImage], *, threads: int) -> list[str]:
    todo = list(photos)
    titles: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not todo:
                    return
                image = todo.pop()
            title = tagger.tag(image).tags.title
            with lock:
                titles.append(title)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return titles


@pytest.mark.parametrize(
    "quota",
    [RateLimit(requests=4, window_s=0.6), RateLimit(tokens=3 * 256, window_s=0.6)],
    ids=["requests", "tokens"],
)
def test_a_hosted_apis_rate_limit_headers_are_respected(
    tagger: OpenAITagger, fake: FakeVLM, quota: RateLimit
) -> None:
    """8 threads, 12 photos, a quota of 4 requests (or 3 requests' max_tokens) a window:
    phototag waits for the reset the headers name instead of being refused."""
    fake.rate_limit = quota
    assert tagger.preflight().ok  # as the daemon's: its answers tell the quota
    fake.latency_s = 0.02
    started = time.monotonic()
    titles = tag_all(tagger, images(12), threads=8)
    assert len(titles) == 12
    assert fake.rate_limited == 0
    assert time.monotonic() - started >= 2 * 0.6 * 0.9  # three windows at least were used


def test_a_429_cuts_the_limit_at_once_and_says_so(tagger: OpenAITagger, fake: FakeVLM) -> None:
    lines: list[str] = []
    sink = logger.add(lines.append, level="INFO", format="{message}")
    try:
        assert tagger.concurrency()["main"].limit == INITIAL_LIMIT
        fake.script(error(429, "slow down"))
        tagger.tag(images(1)[0])
    finally:
        logger.remove(sink)
    status = tagger.concurrency()["main"]
    assert status.limit < INITIAL_LIMIT
    assert (status.mode, status.cap, status.in_flight) == ("auto", 64, 0)
    assert status.latency_s is not None
    assert any("concurrency limit 8 -> 1 (overload at 1 in flight" in line for line in lines)


def test_retry_after_holds_every_request_not_only_the_refused_one(
    tagger: OpenAITagger, fake: FakeVLM
) -> None:
    fake.script(error(503, "busy", retry_after=0.5))
    refused_at = time.monotonic()
    tag_all(tagger, images(3), threads=3)
    later = [r.received_at for r in fake.chat_requests[3:]]  # after the first 3 sent at once
    assert later and min(later) - refused_at >= 0.45


def test_a_fixed_number_is_a_fixed_limit(fake: FakeVLM, xdg: dict[str, Path]) -> None:
    fixed = OpenAITagger(vlm=settings_for(fake, max_inflight=3), max_keywords=25)
    try:
        assert fixed.preflight().ok
        fake.script(error(429))
        fake.latency_s = 0.05
        tag_all(fixed, images(12), threads=8)
        status = fixed.concurrency()["main"]
        assert (status.mode, status.limit, status.cap) == ("fixed", 3, 3)
        assert fake.max_in_flight == 3
    finally:
        fixed.close()


def test_each_per_field_model_adapts_on_its_own(fake: FakeVLM, xdg: dict[str, Path]) -> None:
    """The keywords come from a second server that refuses once: its limit is cut, the
    main model's is not."""
    with FakeVLM(models=("small",)) as keywords_server:
        keywords = VlmPartSettings(base_url=keywords_server.url, model="small")
        split = SplitTagger(vlm=settings_for(fake, keywords=keywords), max_keywords=25)
        try:
            assert isinstance(split, Paced)
            assert split.preflight().ok
            keywords_server.script(error(429))
            split.tag(images(1)[0])
            limits = {name: s.limit for name, s in split.concurrency().items()}
            assert limits["main"] == INITIAL_LIMIT
            assert limits["keywords"] < INITIAL_LIMIT
            assert split.most_concurrency == 2 * 64
        finally:
            split.close()
