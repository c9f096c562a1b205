"""The OpenAI-compatible tagger against a real HTTP server on 127.0.0.1 (tests/fakevlm.py).

The tagger's own client (phototag.taggers.vlm.client, httpx) talks to the fake over real
sockets; only the answers are scripted.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from loguru import logger
from PIL import Image

from conftest import DATA
from fakevlm import FakeVLM, answer, error, fenced, reset, slow, tags_json
from phototag.config import VlmSettings
from phototag.domain import PreparedImage
from phototag.errors import BackendUnavailable, BadAnswer, BadImage, ConfigError
from phototag.processing.imaging import prepare
from phototag.taggers import Tagger
from phototag.taggers.vlm.tagger import OpenAITagger

MakeTagger = Callable[..., OpenAITagger]


@pytest.fixture
def fake() -> Iterator[FakeVLM]:
    with FakeVLM() as server:
        yield server


@pytest.fixture
def make_tagger(
    fake: FakeVLM, xdg: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[MakeTagger]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    made: list[OpenAITagger] = []

    def make(*, max_keywords: int = 25, **vlm: Any) -> OpenAITagger:
        options: dict[str, Any] = {
            "base_url": fake.url,
            "model": "fake-vlm",
            "retry_base_s": 0.01,
            "retry_max_s": 2.0,
            "timeout_s": 5.0,
            "max_retries": 3,
        }
        options.update(vlm)
        tagger = OpenAITagger(vlm=VlmSettings(**options), max_keywords=max_keywords)
        made.append(tagger)
        return tagger

    yield make
    for tagger in made:
        tagger.close()


def photo(name: str = "motorcycle.jpg") -> PreparedImage:
    return prepare(DATA / name, max_edge_px=4096, max_pixels=100_000_000)


def ready(make_tagger: MakeTagger, fake: FakeVLM, **vlm: Any) -> OpenAITagger:
    """A tagger whose preflight passed, with the fake's record cleared."""
    tagger = make_tagger(**vlm)
    health = tagger.preflight()
    assert health.ok, health.reason
    fake.clear()
    return tagger


# --- preflight ---------------------------------------------------------------------------


def test_is_a_tagger(make_tagger: MakeTagger) -> None:
    tagger = make_tagger()
    assert isinstance(tagger, Tagger)
    assert tagger.name == "openai"
    assert len(tagger.prompt_digest) == 64


def test_preflight_times_each_probe_and_finds_json_schema(
    make_tagger: MakeTagger, fake: FakeVLM
) -> None:
    tagger = make_tagger()
    health = tagger.preflight()
    assert health.ok, health.reason
    assert set(health.probes_s) == {"models", "text", "vision"}
    assert all(v >= 0 for v in health.probes_s.values())
    assert health.checked_at > 0
    assert tagger.json_schema is True
    assert [r.method for r in fake.requests] == ["GET", "POST", "POST"]
    text_probe, vision_probe = fake.chat_requests
    assert text_probe.body is not None
    assert text_probe.body["response_format"]["type"] == "json_schema"
    (square,) = vision_probe.images
    assert (square.mime, square.format, square.size) == ("image/jpeg", "JPEG", (64, 64))


def test_server_without_json_schema_gets_json_in_the_prompt(
    make_tagger: MakeTagger, fake: FakeVLM
) -> None:
    fake.json_schema = False
    tagger = ready(make_tagger, fake)
    assert tagger.json_schema is False
    result = tagger.tag(photo())
    (request,) = fake.chat_requests
    assert request.body is not None
    assert "response_format" not in request.body
    assert "Answer with only a JSON object" in request.text
    assert result.tags.title == "A tabby cat"


def test_missing_model_is_permanent_and_names_what_is_served(
    make_tagger: MakeTagger, fake: FakeVLM
) -> None:
    fake.models = ("llava:7b", "qwen2.5-vl-7b")
    health = make_tagger(model="gpt-4o").preflight()
    assert not health.ok
    assert health.permanent
    assert "'gpt-4o' is not served" in health.reason
    assert "llava:7b, qwen2.5-vl-7b" in health.reason


@pytest.mark.parametrize(
    ("configured", "served", "chosen"),
    [("", ("first", "second"), "first"), ("llava", ("bakllava", "llava:latest"), "llava:latest")],
)
def test_model_id_as_the_server_reports_it(
    make_tagger: MakeTagger,
    fake: FakeVLM,
    configured: str,
    served: tuple[str, ...],
    chosen: str,
) -> None:
    fake.models = served
    tagger = ready(make_tagger, fake, model=configured)
    assert tagger.model == chosen
    assert tagger.tag(photo()).model == chosen


def test_wrong_key_pauses_with_one_clear_message_and_no_key(
    make_tagger: MakeTagger, fake: FakeVLM
) -> None:
    fake.api_key = "the-right-key"
    tagger = make_tagger(api_key="sk-wrong-secret-123")
    health = tagger.preflight()
    assert not health.ok and health.permanent
    assert "rejected the API key (HTTP 401" in health.reason
    assert "sk-wrong-secret-123" not in health.reason
    with pytest.raises(BackendUnavailable) as caught:
        tagger.tag(photo())
    assert caught.value.permanent
    assert "sk-wrong" not in str(caught.value)


def test_key_from_file_or_environment(
    make_tagger: MakeTagger, fake: FakeVLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.api_key = "k-123"
    key_file = tmp_path / "key"
    key_file.write_text("k-123\n")
    assert make_tagger(api_key_file=key_file).preflight().ok
    monkeypatch.setenv("MY_VLM_KEY", "k-123")
    assert make_tagger(api_key_env="MY_VLM_KEY").preflight().ok
    assert fake.requests[-1].headers["authorization"] == "Bearer k-123"


def test_an_unreadable_key_file_is_a_config_error(make_tagger: MakeTagger, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"vlm.api_key_file .*missing.key: cannot read it"):
        make_tagger(api_key_file=tmp_path / "missing.key")


def test_text_only_model_fails_the_vision_probe(make_tagger: MakeTagger, fake: FakeVLM) -> None:
    fake.vision = False
    health = make_tagger().preflight()
    assert not health.ok
    assert "vision probe" in health.reason and "red square" in health.reason
    assert set(health.probes_s) == {"models", "text"}


def test_preflight_never_raises_when_the_server_is_gone(
    make_tagger: MakeTagger, fake: FakeVLM
) -> None:
    tagger = make_tagger()
    fake.stop()
    health = tagger.preflight()
    assert not health.ok and not health.permanent
    assert "cannot connect" in health.reason


def test_first_tag_runs_one_preflight_even_from_many_threads(
    make_tagger: MakeTagger, fake: FakeVLM
) -> None:
    tagger = make_tagger()
    threads = [threading.Thread(target=tagger.tag, args=(photo(),)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.method for r in fake.requests].count("GET") == 1
    assert sum(1 for r in fake.chat_requests if len(r.images) and r.images[0].size != (64, 64)) == 4


# --- one request per image ---------------------------------------------------------------


def test_one_request_per_image_with_a_downscaled_jpeg(
    make_tagger: MakeTagger, fake: FakeVLM
) -> None:
    tagger = ready(make_tagger, fake, max_edge_px=256, max_keywords=3)
    image = photo("motorcycle.jpg")
    result = tagger.tag(image)
    (request,) = fake.chat_requests
    (sent,) = request.images
    assert (sent.mime, sent.format) == ("image/jpeg", "JPEG")
    assert max(sent.size) == 256
    assert sent.nbytes != (DATA / "motorcycle.jpg").stat().st_size
    assert request.body is not None
    assert request.body["model"] == "fake-vlm"
    schema = request.body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["keywords"]["maxItems"] == 3
    assert result.backend == "openai" and result.model == "fake-vlm"
    assert result.prompt_digest == tagger.prompt_digest
    assert result.raw == tags_json()
    assert result.tags.title == "A tabby cat"
    assert result.tags.alt_text == "Tabby cat looking at the camera"
    assert result.tags.keywords == ("cat", "tabby", "fur")


def test_a_large_image_is_shrunk_to_the_byte_limit(make_tagger: MakeTagger, fake: FakeVLM) -> None:
    noise = Image.effect_noise((3000, 2000), 100).convert("RGB")
    big = PreparedImage(path=Path("noise.png"), image=noise, original_size=noise.size, format="PNG")
    tagger = ready(make_tagger, fake, max_edge_px=2048, max_image_bytes=100_000)
    tagger.tag(big)
    (sent,) = fake.chat_requests[0].images
    assert sent.nbytes <= 100_000
    assert max(sent.size) < 2048


def test_language_reaches_the_prompt(make_tagger: MakeTagger, fake: FakeVLM) -> None:
    tagger = ready(make_tagger, fake, language="German", profile="stock")
    tagger.tag(photo())
    text = fake.chat_requests[0].text
    assert "in German" in text and "stock photo agency" in text


# --- answers -----------------------------------------------------------------------------


def test_fenced_json_needs_no_repair(make_tagger: MakeTagger, fake: FakeVLM) -> None:
    tagger = ready(make_tagger, fake)
    fake.script(answer(fenced(tags_json(title="Fenced"))))
    result = tagger.tag(photo())
    assert result.tags.title == "Fenced"
    assert len(fake.chat_requests) == 1
    assert result.notes == ()


def test_malformed_answer_gets_one_text_only_repair(make_tagger: MakeTagger, fake: FakeVLM) -> None:
    tagger = ready(make_tagger, fake)
    fake.script(answer('{"title": "Cat" "caption": "A cat", "keywords": ["cat"]}'))
    result = tagger.tag(photo())
    first, repair = fake.chat_requests
    assert len(first.images) == 1
    assert repair.images == ()
    assert "could not be used" in repair.text and "malformed" in repair.text
    assert result.tags.title == "A tabby cat"
    assert result.raw == tags_json()
    assert result.notes and result.notes[0].startswith("answer repaired")


def test_still_invalid_after_the_repair_fails_with_the_raw_answer(
    make_tagger: MakeTagger, fake: FakeVLM
) -> None:
    tagger = ready(make_tagger, fake)
    fake.script(answer("I think it is a cat."), answer(tags_json(description=None)))
    with pytest.raises(BadAnswer, match="description") as caught:
        tagger.tag(photo())
    assert "I think it is a cat." in caught.value.raw
    assert "A tabby cat" in caught.value.raw
    assert len(fake.chat_requests) == 2


def test_hundreds_of_keywords_are_cut_to_max_keywords(
    make_tagger: MakeTagger, fake: FakeVLM
) -> None:
    tagger = ready(make_tagger, fake, max_keywords=10)
    many = [f"thing{i}" for i in range(300)]
    fake.script(answer(tags_json(keywords=["trees", "tree", "photo", *many])))
    result = tagger.tag(photo())
    assert len(result.tags.keywords) == 10
    assert result.tags.keywords[:2] == ("tree", "thing0")


def test_vocabulary_enum_and_filter(make_tagger: MakeTagger, fake: FakeVLM, tmp_path: Path) -> None:
    vocabulary = tmp_path / "vocabulary.txt"
    vocabulary.write_text("cat: kitten, kitty\nsofa: couch\nmotorcycle\n")
    tagger = ready(make_tagger, fake, vocabulary_file=vocabulary)
    fake.script(answer(tags_json(keywords=["Kittens", "giraffe", "couch", "cat"])))
    result = tagger.tag(photo())
    assert result.tags.keywords == ("cat", "sofa")
    body = fake.chat_requests[0].body
    assert body is not None
    enum = body["response_format"]["json_schema"]["schema"]["properties"]["keywords"]["items"]
    assert enum["enum"] == ["cat", "sofa", "motorcycle"]


# --- errors and retries ------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [error(500), error(503), error(429, retry_after=0), reset(), error(408)],
    ids=["500", "503", "429", "reset", "408"],
)
def test_transient_failures_are_retried(
    make_tagger: MakeTagger, fake: FakeVLM, failure: Any
) -> None:
    tagger = ready(make_tagger, fake)
    fake.script(failure)
    assert tagger.tag(photo()).tags.title == "A tabby cat"
    assert len(fake.chat_requests) == 2
    assert fake.pending == 0


def test_retry_after_is_honoured(make_tagger: MakeTagger, fake: FakeVLM) -> None:
    tagger = ready(make_tagger, fake)
    fake.script(error(429, "slow down", retry_after=1))
    tagger.tag(photo())
    first, second = fake.chat_requests
    assert second.received_at - first.received_at >= 1.0


def test_a_long_retry_after_pauses_instead_of_blocking(
    make_tagger: MakeTagger, fake: FakeVLM
) -> None:
    tagger = ready(make_tagger, fake)
    fake.script(error(429, "quota", retry_after=3600))
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="wait 3600 s") as caught:
        tagger.tag(photo())
    assert not caught.value.permanent
    assert time.monotonic() - started < 2
    assert len(fake.chat_requests) == 1


def test_a_timeout_is_retried(make_tagger: MakeTagger, fake: FakeVLM) -> None:
    tagger = ready(make_tagger, fake, timeout_s=0.5)
    fake.script(slow(1.5))
    assert tagger.tag(photo()).tags.title == "A tabby cat"
    assert len(fake.chat_requests) == 2


def test_retries_run_out_into_backend_unavailable(make_tagger: MakeTagger, fake: FakeVLM) -> None:
    tagger = ready(make_tagger, fake, max_retries=2)
    fake.fail_all = error(502, "bad gateway")
    gave_up = r"HTTP 502: bad gateway \(after 3 attempts\)"
    with pytest.raises(BackendUnavailable, match=gave_up) as caught:
        tagger.tag(photo())
    assert not caught.value.permanent
    assert len(fake.chat_requests) == 3


@pytest.mark.parametrize("status", [400, 413])
def test_a_refused_image_fails_that_job_only(
    make_tagger: MakeTagger, fake: FakeVLM, status: int
) -> None:
    tagger = ready(make_tagger, fake)
    fake.script(error(status, "image could not be processed"))
    with pytest.raises(BadImage, match=f"HTTP {status}: image could not be processed"):
        tagger.tag(photo())
    assert len(fake.chat_requests) == 1
    assert tagger.tag(photo()).tags.title == "A tabby cat"


def test_the_key_never_reaches_the_log(make_tagger: MakeTagger, fake: FakeVLM) -> None:
    secret = "sk-live-do-not-print"
    fake.api_key = secret
    tagger = ready(make_tagger, fake, api_key=secret)
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG")
    try:
        fake.script(error(500, f"echoing {secret}"))
        tagger.tag(photo())
    finally:
        logger.remove(sink)
    assert lines and not any(secret in line for line in lines)
    assert any("***" in line for line in lines)


def test_close_stops_tagging(make_tagger: MakeTagger, fake: FakeVLM) -> None:
    tagger = ready(make_tagger, fake)
    tagger.close()
    with pytest.raises(BackendUnavailable, match="closed"):
        tagger.tag(photo())


# --- concurrency and outages -------------------------------------------------------------


def test_max_inflight_is_never_exceeded(make_tagger: MakeTagger, fake: FakeVLM) -> None:
    tagger = ready(make_tagger, fake, max_inflight=3)
    fake.script(*[slow(0.15)] * 24)
    image = photo("chelsea.jpg")
    threads = [
        threading.Thread(target=lambda: [tagger.tag(image) for _ in range(2)]) for _ in range(12)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake.chat_requests) == 24
    assert fake.max_in_flight == 3


@pytest.mark.slow
@pytest.mark.parametrize(
    "outage_s", [3.0, pytest.param(30.0, marks=pytest.mark.slow)], ids=["3s", "30s"]
)
def test_an_outage_mid_run_loses_nothing_and_tags_each_photo_once(
    make_tagger: MakeTagger, fake: FakeVLM, outage_s: float
) -> None:
    """100 photos, 6 threads, the server down for ``outage_s`` after 30 answers. A job that
    meets BackendUnavailable goes back in the queue and its thread waits for a passing
    preflight, as the daemon's circuit does."""
    tagger = ready(
        make_tagger, fake, max_inflight=4, max_retries=2, retry_base_s=0.05, timeout_s=2.0
    )
    fake.latency_s = 0.05
    base = Image.open(DATA / "chelsea.jpg").convert("RGB")
    images = [
        PreparedImage(
            path=Path(f"p{i}.jpg"),
            image=base.resize((200 + i, 150)),
            original_size=(200 + i, 150),
            format="JPEG",
        )
        for i in range(100)
    ]
    queue = list(range(100))
    results: dict[int, list[str]] = {}
    lock = threading.Lock()
    healthy = threading.Event()
    healthy.set()
    unavailable = 0

    def work() -> None:
        nonlocal unavailable
        while True:
            with lock:
                if not queue:
                    return
                index = queue.pop(0)
            healthy.wait()
            try:
                result = tagger.tag(images[index])
            except BackendUnavailable:
                with lock:
                    queue.append(index)
                    unavailable += 1
                healthy.clear()
                continue
            with lock:
                results.setdefault(index, []).append(result.tags.title)

    def circuit() -> None:
        while len(results) < 100:
            if not healthy.is_set() and tagger.preflight().ok:
                healthy.set()
            time.sleep(0.2)

    def outage() -> None:
        while len(results) < 30:
            time.sleep(0.01)
        fake.stop()
        time.sleep(outage_s)
        fake.start()

    threads = [threading.Thread(target=f) for f in (*[work] * 6, circuit, outage)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=outage_s + 120)
    assert sorted(results) == list(range(100))
    assert all(len(titles) == 1 for titles in results.values())
    assert unavailable > 0  # the outage really happened mid-run
    tagged_widths = {
        r.images[0].size[0] for r in fake.chat_requests if r.images and r.images[0].size != (64, 64)
    }
    assert tagged_widths == {200 + i for i in range(100)}
    assert fake.max_in_flight <= 4


def test_the_fake_records_what_it_was_sent(fake: FakeVLM) -> None:
    """The fake itself: bodies and decoded image parts are kept for assertions."""
    import httpx

    payload = {"model": "fake-vlm", "messages": [{"role": "user", "content": "hi"}]}
    reply = httpx.post(f"{fake.url}/chat/completions", json=payload, timeout=5)
    assert reply.status_code == 200
    assert json.loads(reply.json()["choices"][0]["message"]["content"])["title"]
    assert fake.requests[0].body == payload
