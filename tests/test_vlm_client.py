"""The OpenAI wire protocol without the SDK (phototag.taggers.vlm.client), against the real
fake server on 127.0.0.1 (tests/fakevlm.py): URLs, the request JSON, the key, and each
kind of failure as the tagger's classify() sorts it."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from loguru import logger

from conftest import DATA
from fakevlm import FakeVLM, Step, error, raw, slow
from phototag.config import VlmSettings
from phototag.errors import (
    ApiConnectionError,
    ApiProtocolError,
    ApiStatusError,
    ApiTimeout,
    BackendUnavailable,
)
from phototag.processing.imaging import prepare
from phototag.taggers.vlm.adaptive import Signal
from phototag.taggers.vlm.client import ApiClient, endpoint_url
from phototag.taggers.vlm.tagger import OpenAITagger, classify

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def fake() -> Iterator[FakeVLM]:
    with FakeVLM() as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(5.0)) as client:
        yield client


def chat(
    client: ApiClient, *, response_format: dict[str, Any] | None = None
) -> tuple[dict[str, Any], httpx.Headers]:
    return client.chat(
        model="fake-vlm",
        messages=MESSAGES,
        temperature=0.2,
        max_tokens=100,
        response_format=response_format,
    )


@pytest.mark.parametrize(
    ("base_url", "joined"),
    [
        ("http://h:8000/v1", "http://h:8000/v1/chat/completions"),
        ("http://h:8000/v1/", "http://h:8000/v1/chat/completions"),
        ("http://h:8000", "http://h:8000/chat/completions"),
        ("https://h/openai/v1?api-version=2", "https://h/openai/v1/chat/completions?api-version=2"),
    ],
)
def test_endpoint_url_joins_as_the_sdk_did(base_url: str, joined: str) -> None:
    assert str(endpoint_url(base_url, "chat/completions")) == joined


@pytest.mark.parametrize("slash", ["", "/"], ids=["no-slash", "slash"])
def test_both_endpoints_with_or_without_a_trailing_slash(
    fake: FakeVLM, http: httpx.Client, slash: str
) -> None:
    client = ApiClient(http, base_url=fake.url + slash, api_key=None)
    served, _ = client.models()
    answer, _ = chat(client)
    assert served == ["fake-vlm"]
    assert answer["choices"][0]["message"]["content"]
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
    ]


def test_the_request_json_is_the_apis(fake: FakeVLM, http: httpx.Client) -> None:
    client = ApiClient(http, base_url=fake.url, api_key=None)
    chat(client)
    fmt = {"type": "json_schema", "json_schema": {"name": "p", "schema": {}, "strict": True}}
    chat(client, response_format=fmt)
    plain, with_format = fake.chat_requests
    assert plain.body == {
        "model": "fake-vlm",
        "messages": MESSAGES,
        "temperature": 0.2,
        "max_tokens": 100,
    }
    assert with_format.body is not None and with_format.body["response_format"] == fmt
    assert plain.headers["content-type"] == "application/json"


def test_bearer_header_only_with_a_key(fake: FakeVLM, http: httpx.Client) -> None:
    ApiClient(http, base_url=fake.url, api_key="k-123").models()
    ApiClient(http, base_url=fake.url, api_key=None).models()
    keyed, keyless = fake.requests
    assert keyed.headers["authorization"] == "Bearer k-123"
    assert "authorization" not in keyless.headers


def test_a_tagger_without_a_key_sends_no_authorization(
    fake: FakeVLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK needed a non-empty key and sent ``Bearer not-needed`` to local servers."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    tagger = OpenAITagger(vlm=VlmSettings(base_url=fake.url, model="fake-vlm"), max_keywords=5)
    try:
        assert tagger.preflight().ok
    finally:
        tagger.close()
    assert fake.requests and all("authorization" not in r.headers for r in fake.requests)


@pytest.mark.parametrize(
    ("step", "said"),
    [
        (
            raw(b"<html>It works!</html>", content_type="text/html"),
            "not the API's JSON (text/html)",
        ),
        (raw(b'{"id": "x", "object": "chat.completion"}'), "no 'choices'"),
        (raw(b'{"choices": [{"text": "legacy"}]}'), "no 'choices'"),
        (raw(b"{not json"), "not the API's JSON"),
    ],
    ids=["html", "no-choices", "no-message", "broken-json"],
)
def test_a_2xx_that_is_not_the_apis_json(
    fake: FakeVLM, http: httpx.Client, step: Step, said: str
) -> None:
    fake.script(step)
    client = ApiClient(http, base_url=fake.url, api_key=None)
    with pytest.raises(ApiProtocolError, match=re.escape(said)) as caught:
        chat(client)
    failure = classify(caught.value, base_url="http://vlm", now=0.0)
    assert failure.kind == "transient" and failure.signal is Signal.FAILED
    assert failure.reason.startswith("unexpected answer from http://vlm: not the API's JSON")


def test_a_models_list_without_data(fake: FakeVLM, http: httpx.Client) -> None:
    fake.models_body = b'{"models": [{"name": "llava"}]}'  # Ollama's /api/tags, not /v1
    with pytest.raises(ApiProtocolError, match="no 'data' list"):
        ApiClient(http, base_url=fake.url, api_key=None).models()


def test_a_429_with_retry_after_reaches_classify(fake: FakeVLM, http: httpx.Client) -> None:
    fake.script(error(429, "slow down", retry_after=7))
    with pytest.raises(ApiStatusError) as caught:
        chat(ApiClient(http, base_url=fake.url, api_key=None))
    exc = caught.value
    assert exc.status_code == 429 and exc.headers["retry-after"] == "7"
    assert exc.body == {"error": {"message": "slow down", "type": "fake_error", "code": 429}}
    failure = classify(exc, base_url="http://vlm", now=0.0)
    assert failure.kind == "transient" and failure.retry_after_s == 7.0
    assert failure.signal is Signal.OVERLOAD
    assert failure.reason == "http://vlm answered HTTP 429: slow down"


@pytest.mark.parametrize(
    ("body", "content_type", "said"),
    [
        (
            b'{"error": "model \\"llava\\" not found"}',
            "application/json",
            ': model "llava" not found',
        ),
        (b'{"object": "error", "message": "no such model"}', "application/json", ": no such model"),
        (b"Not Found\n", "text/plain", ": Not Found"),
        (b"", "text/plain", ""),
    ],
    ids=["ollama", "bare-message", "text", "empty"],
)
def test_an_error_body_of_any_shape_gives_the_servers_words(
    fake: FakeVLM, http: httpx.Client, body: bytes, content_type: str, said: str
) -> None:
    fake.script(raw(body, status=404, content_type=content_type))
    with pytest.raises(ApiStatusError) as caught:
        chat(ApiClient(http, base_url=fake.url, api_key=None))
    failure = classify(caught.value, base_url="http://vlm", now=0.0)
    assert failure.kind == "permanent"
    assert failure.reason == f"http://vlm answered HTTP 404{said}; check vlm.base_url and vlm.model"


def test_a_timeout(fake: FakeVLM) -> None:
    fake.script(slow(1.0))
    with httpx.Client(timeout=httpx.Timeout(0.2)) as http, pytest.raises(ApiTimeout) as caught:
        chat(ApiClient(http, base_url=fake.url, api_key=None))
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)
    failure = classify(caught.value, base_url="http://vlm", now=0.0)
    assert failure.kind == "transient" and failure.signal is Signal.TIMEOUT
    assert failure.reason == "no answer from http://vlm in time (timeout)"


def test_a_refused_connection_names_its_cause(http: httpx.Client) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ApiConnectionError) as caught:
        ApiClient(http, base_url=f"http://127.0.0.1:{port}/v1", api_key=None).models()
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert caught.value.headers == {}
    failure = classify(caught.value, base_url="http://vlm", now=0.0)
    assert failure.kind == "transient" and failure.signal is Signal.FAILED
    assert failure.reason.startswith("cannot connect to http://vlm: ConnectError: ")


def test_the_tagger_retries_an_answer_that_is_not_json(
    fake: FakeVLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy's error page with status 200 is retried like a 502, not a crash."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = VlmSettings(base_url=fake.url, model="fake-vlm", retry_base_s=0.01, max_retries=1)
    tagger = OpenAITagger(vlm=settings, max_keywords=5)
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING")
    try:
        assert tagger.preflight().ok
        fake.script(raw(b"<html>Bad gateway</html>", content_type="text/html"))
        image = prepare(DATA / "motorcycle.jpg", max_edge_px=4096, max_pixels=100_000_000)
        assert tagger.tag(image).tags.title == "A tabby cat"
        fake.script(*[raw(b"<html>Bad gateway</html>", content_type="text/html")] * 2)
        with pytest.raises(BackendUnavailable, match="not the API's JSON") as caught:
            tagger.tag(image)
        assert not caught.value.permanent
    finally:
        logger.remove(sink)
        tagger.close()
    assert any("unexpected answer from" in line and "Bad gateway" in line for line in lines)


def test_importing_the_tagger_does_not_import_the_openai_sdk() -> None:
    """The SDK cost 1.3 s of CPU and 27 MB at each VLM process's start (README)."""
    code = "import sys, phototag.taggers.vlm.tagger; print(json.dumps(sorted(sys.modules)))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOTAG_")}
    out = subprocess.run(
        [sys.executable, "-c", f"import json; {code}"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=Path(__file__).parent,
    ).stdout
    modules = json.loads(out)
    assert not [m for m in modules if m == "openai" or m.startswith("openai.")]
    assert "phototag.taggers.vlm.client" in modules
