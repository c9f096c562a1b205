"""Tag with any OpenAI-compatible vision model (vLLM, Ollama, llama.cpp, LM Studio, OpenAI).

One chat-completions request per image carries a downscaled JPEG as a data URL and asks
for one structured answer; an invalid answer gets one text-only repair request. The wire
protocol is :mod:`phototag.taggers.vlm.client` (httpx, no SDK); its errors are translated
here, at the boundary::

    connection refused/reset, timeout, 408/409/429/5xx  retried with backoff, then
                                                        BackendUnavailable (job waits)
    401, 403, 404, other 4xx                            BackendUnavailable(permanent=True)
    400, 413, 415, 422                                  BadImage (that job fails)
    a 2xx answer that is not the API's JSON             retried, then BackendUnavailable
    an answer still invalid after the repair            BadAnswer(raw=...)

The preflight (``GET /models``, a text probe, a vision probe) resolves the model id and
finds, once per preflight rather than per image, whether the server accepts
``response_format`` with a JSON schema.

Every request goes through :class:`phototag.taggers.vlm.adaptive.Slots`: with
``vlm.max_inflight = "auto"`` the number open at once adapts to the server (429, 503 and
timeouts cut it; ``Retry-After`` and ``x-ratelimit-*`` headers hold new requests); a
number fixes it. Only the tagging requests' latencies steer it, not the probes'.
"""

from __future__ import annotations

import base64
import io
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypeVar

import httpx
from loguru import logger
from PIL import Image

from phototag.config import VlmSettings
from phototag.domain import Health, PreparedImage, TagResult, Tags
from phototag.errors import (
    AnswerError,
    ApiConnectionError,
    ApiError,
    ApiStatusError,
    ApiTimeout,
    BackendUnavailable,
    BadAnswer,
    BadImage,
    ConfigError,
    JobError,
)
from phototag.keywords import DEFAULT_POLICY, KeywordPolicy, normalise_keywords
from phototag.redact import redact, redact_url
from phototag.taggers.vlm.adaptive import (
    INITIAL_LIMIT,
    AdaptiveLimit,
    Change,
    Signal,
    Slots,
    SlotsStatus,
    most_inflight,
    quota_from_headers,
    worth_logging,
)
from phototag.taggers.vlm.answer import Answer, parse_answer, repair_prompt
from phototag.taggers.vlm.client import ApiClient
from phototag.taggers.vlm.prompts import build_prompt
from phototag.taggers.vlm.vocabulary import Vocabulary, casefold

T = TypeVar("T")

PROBE_SQUARE_PX = 64
PROBE_COLOUR = "red"
_PROBE_SCHEMA = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}
_BAD_REQUEST = (400, 413, 415, 422)
_TRANSIENT = (408, 409, 425, 429)
_OVERLOADED = (429, 503)  # too many requests at once: the concurrency limit backs off
_UNCAPPED = 10_000  # keyword count before the vocabulary filter applies the real cap


@dataclass(frozen=True, slots=True)
class Failure:
    """What one failed request means."""

    kind: Literal["transient", "permanent", "bad_request"]
    reason: str
    retry_after_s: float | None = None
    signal: Signal = Signal.FAILED  # what it says about the server's capacity


@dataclass(frozen=True, slots=True)
class _Ready:
    model: str  # the id as the server lists it
    json_schema: bool  # the server accepts response_format json_schema


# --- pure decisions -------------------------------------------------------------------


def classify(exc: ApiError, *, base_url: str, now: float) -> Failure:
    """Sort a client error into transient, permanent (needs a person) or bad request."""
    if isinstance(exc, ApiTimeout):
        return Failure(
            "transient", f"no answer from {base_url} in time (timeout)", signal=Signal.TIMEOUT
        )
    if isinstance(exc, ApiConnectionError):
        cause = exc.__cause__
        detail = f": {type(cause).__name__}: {cause}" if cause else ""
        return Failure("transient", f"cannot connect to {base_url}{detail}")
    if not isinstance(exc, ApiStatusError):  # ApiProtocolError: says what was wrong
        return Failure("transient", f"unexpected answer from {base_url}: {exc}")
    code = exc.status_code
    said = server_message(exc.body)
    if code == 401:
        return Failure(
            "permanent",
            f"{base_url} rejected the API key (HTTP 401{said}); "
            "set vlm.api_key_env or vlm.api_key_file",
        )
    if code == 403:
        return Failure("permanent", f"{base_url} denied access (HTTP 403{said}); check the key")
    if code == 404:
        return Failure(
            "permanent", f"{base_url} answered HTTP 404{said}; check vlm.base_url and vlm.model"
        )
    if code in _BAD_REQUEST:
        return Failure("bad_request", f"the server refused the request (HTTP {code}{said})")
    if code in _TRANSIENT or code >= 500:
        headers = exc.headers
        return Failure(
            "transient",
            f"{base_url} answered HTTP {code}{said}",
            retry_after_s=parse_retry_after(
                headers.get("retry-after"), retry_after_ms=headers.get("retry-after-ms"), now=now
            ),
            signal=Signal.OVERLOAD if code in _OVERLOADED else Signal.FAILED,
        )
    return Failure("permanent", f"unexpected HTTP {code} from {base_url}{said}")


def server_message(body: object, *, limit: int = 300) -> str:
    """The server's own words from an error body, as ": ..." (or ""): OpenAI's envelope
    ``{"error": {"message": ...}}``, Ollama's ``{"error": "..."}``, a bare
    ``{"message": ...}``, or plain text."""
    if isinstance(body, dict):
        body = body.get("error", body)
    text = body.get("message") if isinstance(body, dict) else body
    if not text:
        return ""
    text = " ".join(str(text).split())
    return ": " + (text if len(text) <= limit else text[: limit - 1] + "…")


def parse_retry_after(
    value: str | None, *, retry_after_ms: str | None = None, now: float
) -> float | None:
    """Seconds to wait from Retry-After (seconds or HTTP date) or retry-after-ms."""
    try:
        if retry_after_ms is not None:
            return max(0.0, float(retry_after_ms) / 1000)
        if value is None:
            return None
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now) if value else None
    except (TypeError, ValueError):
        return None


def backoff_delay_s(
    attempt: int,
    *,
    base_s: float,
    max_s: float,
    retry_after_s: float | None,
    rand: Callable[[], float],
) -> float:
    """Delay before retry ``attempt`` (0-based): the server's Retry-After if it gave one (plus
    up to 10 %), else exponential backoff with equal jitter, capped at ``max_s``."""
    if retry_after_s is not None:
        return retry_after_s * (1 + 0.1 * rand())
    ceiling = min(max_s, base_s * 2**attempt)
    return ceiling / 2 + ceiling / 2 * rand()


def pick_model(configured: str, served: Sequence[str], *, base_url: str) -> str:
    """The served id to use; "" picks the first. Ollama's "name" matches "name:latest".
    Raises BackendUnavailable(permanent=True) naming what is served."""
    if not served:
        raise BackendUnavailable(f"{base_url} serves no models", permanent=True)
    if not configured:
        return served[0]
    for candidate in (configured, f"{configured}:latest"):
        if candidate in served:
            return candidate
    listed = ", ".join(served[:20])
    if len(served) > 20:
        listed += f" (and {len(served) - 20} more)"
    raise BackendUnavailable(
        f"model {configured!r} is not served by {base_url}; it serves: {listed}", permanent=True
    )


def encode_jpeg(image: Image.Image, *, max_edge_px: int, quality: int, max_bytes: int) -> bytes:
    """``image`` as a JPEG with its longest edge at most ``max_edge_px``, downscaled further
    (by quarters) until it fits in ``max_bytes``."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    edge = min(max_edge_px, max(rgb.size))
    while True:
        scaled = rgb
        if max(rgb.size) > edge:
            scaled = rgb.copy()
            scaled.thumbnail((edge, edge), Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        scaled.save(buf, format="JPEG", quality=quality)
        if buf.tell() <= max_bytes or edge <= PROBE_SQUARE_PX:
            return buf.getvalue()
        edge = edge * 3 // 4


def data_url(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def read_api_key(vlm: VlmSettings) -> str | None:
    """The key from vlm.api_key, else vlm.api_key_file, else $vlm.api_key_env; None if none.

    A key file holds the key on its first line and nothing else: a second line (a comment,
    a second key) would otherwise travel inside the Authorization header, and the HTTP
    library's error quotes the header, key and all. Errors name the file, never its text.
    """
    if vlm.api_key is not None:
        return vlm.api_key.get_secret_value().strip() or None
    if vlm.api_key_file is not None:
        try:
            text = vlm.api_key_file.expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"vlm.api_key_file {vlm.api_key_file}: cannot read it: "
                f"{getattr(exc, 'strerror', None) or type(exc).__name__}"
            ) from None
        first, *rest = text.splitlines() or [""]
        key = first.strip()
        if not key:
            raise ConfigError(f"vlm.api_key_file {vlm.api_key_file}: the first line is empty")
        extra = [n for n, line in enumerate(rest, start=2) if line.strip()]
        if extra:
            raise ConfigError(
                f"vlm.api_key_file {vlm.api_key_file}: holds more than the key (line "
                f"{extra[0]} is not empty); put the key alone on the first line"
            )
        return key
    return os.environ.get(vlm.api_key_env, "").strip() or None


def probe_square() -> Image.Image:
    return Image.new("RGB", (PROBE_SQUARE_PX, PROBE_SQUARE_PX), (220, 20, 20))


# --- the tagger -----------------------------------------------------------------------


class OpenAITagger:
    """A :class:`phototag.taggers.Tagger` over the OpenAI chat-completions API. Thread-safe."""

    name = "openai"

    def __init__(
        self, *, vlm: VlmSettings, max_keywords: int, policy: KeywordPolicy = DEFAULT_POLICY
    ) -> None:
        """``vlm``: the server and prompt; ``max_keywords`` and ``policy``: the keyword rules
        both backends share (``Settings.max_keywords``, ``Settings.keyword_policy``)."""
        self._vlm = vlm
        self._max_keywords = max_keywords
        self._policy = policy
        self._vocabulary = (
            Vocabulary.load(vlm.vocabulary_file, fold=self._fold) if vlm.vocabulary_file else None
        )
        self._prompt = build_prompt(
            profile=vlm.profile,
            user_profiles=vlm.profiles,
            language=vlm.language,
            max_keywords=max_keywords,
            vocabulary=self._vocabulary,
        )
        self._key = read_api_key(vlm)
        self._shown_url = redact_url(vlm.base_url)  # in every message: no user:key@
        self._mode = "auto" if vlm.max_inflight == "auto" else "fixed"
        most = most_inflight(vlm)
        self._http = httpx.Client(
            timeout=httpx.Timeout(vlm.timeout_s, connect=vlm.connect_timeout_s),
            limits=httpx.Limits(max_connections=most, max_keepalive_connections=most),
        )
        # sends each request once: retries, backoff and Retry-After are _call's
        self._client = ApiClient(self._http, base_url=vlm.base_url, api_key=self._key)
        least = most if self._mode == "fixed" else 1
        self._slots = Slots(
            limit=AdaptiveLimit(initial=INITIAL_LIMIT, least=least, most=most),
            on_change=self._limit_changed,
        )
        self._logged_limit = self._slots.limit
        self._ready_lock = threading.Lock()
        self._ready: _Ready | None = None
        self._closed = threading.Event()

    @property
    def model(self) -> str:
        ready = self._ready
        return ready.model if ready else self._vlm.model

    @property
    def prompt_digest(self) -> str:
        return self._prompt.digest

    @property
    def json_schema(self) -> bool | None:
        """Whether the server takes response_format json_schema; None before a preflight."""
        ready = self._ready
        return ready.json_schema if ready else None

    @property
    def most_concurrency(self) -> int:
        """The most requests it may ever keep open (the fixed number, or the cap)."""
        return most_inflight(self._vlm)

    def concurrency(self) -> dict[str, SlotsStatus]:
        return {"main": self._slots.status(mode=self._mode)}

    def _limit_changed(self, change: Change) -> None:
        """Logged when the limit moved a lot since the last line (or was cut): the
        probing's small steps would otherwise fill the log."""
        logger.debug(
            "{}: concurrency limit {} -> {} ({})",
            self._vlm.base_url,
            change.old,
            change.new,
            change.reason,
        )
        if change.cut or worth_logging(self._logged_limit, change.new):
            logger.info(
                "{}: concurrency limit {} -> {} ({}; latency {:.2f} s)",
                self._vlm.base_url,
                self._logged_limit,
                change.new,
                change.reason,
                self._slots.status(mode=self._mode).latency_s or 0.0,
            )
            self._logged_limit = change.new

    # --- tagging ---

    def tag(self, image: PreparedImage) -> TagResult:
        ready = self._ensure_ready()
        jpeg = encode_jpeg(
            image.image,
            max_edge_px=self._vlm.max_edge_px,
            quality=self._vlm.jpeg_quality,
            max_bytes=self._vlm.max_image_bytes,
        )
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": self._prompt.system},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": self._prompt.instruction},
                    {"type": "image_url", "image_url": {"url": data_url(jpeg)}},
                ],
            },
        ]
        raw = self._complete(messages, ready=ready, steer=True)
        notes: tuple[str, ...] = ()
        try:
            answer = parse_answer(raw)
        except AnswerError as exc:
            answer, raw = self._repair(raw, problem=str(exc), ready=ready)
            notes = (f"answer repaired: {exc}",)
        keywords = self._keywords(answer.keywords)
        if self._vocabulary is not None and not keywords:
            notes = (*notes, "no keyword matched the vocabulary")
        tags = Tags(
            title=answer.title,
            caption=answer.caption,
            description=answer.description,
            alt_text=answer.alt_text,
            keywords=tuple(keywords),
        )
        return TagResult(
            tags=tags,
            backend=self.name,
            model=ready.model,
            prompt_digest=self.prompt_digest,
            notes=notes,
            raw=raw,
        )

    def _repair(self, raw: str, *, problem: str, ready: _Ready) -> tuple[Answer, str]:
        """One text-only request asking the model to fix its answer; BadAnswer if it can't."""
        messages = [
            {"role": "system", "content": self._prompt.system},
            {
                "role": "user",
                "content": repair_prompt(raw=raw, problem=problem, shape=self._prompt.shape),
            },
        ]
        fixed = self._complete(messages, ready=ready, steer=False)
        try:
            return parse_answer(fixed), fixed
        except AnswerError as exc:
            raise BadAnswer(
                f"invalid answer, still invalid after one repair: {exc}",
                raw=f"{raw}\n--- repair ---\n{fixed}",
            ) from exc

    def _keywords(self, raw: Sequence[str]) -> list[str]:
        language = self._vlm.language
        if self._vocabulary is None:
            return list(
                normalise_keywords(
                    raw, max_keywords=self._max_keywords, language=language, policy=self._policy
                )
            )
        cleaned = normalise_keywords(
            raw, max_keywords=_UNCAPPED, language=language, policy=self._policy
        )
        return self._vocabulary.apply(cleaned, max_keywords=self._max_keywords)

    def _fold(self, term: str) -> str:
        """How vocabulary terms and keywords are compared: case-folded, then normalised (so
        "Kittens" meets "kitten"; the normaliser keeps capitalised words as names)."""
        folded = casefold(term)
        normal = normalise_keywords([folded], max_keywords=1, language=self._vlm.language)
        return casefold(normal[0]) if normal else folded

    def _complete(self, messages: list[dict[str, Any]], *, ready: _Ready, steer: bool) -> str:
        response_format: dict[str, Any] | None = None
        if ready.json_schema:
            response_format = {
                "type": "json_schema",
                "json_schema": {
                    "name": "photo_tags",
                    "schema": self._prompt.schema,
                    "strict": True,
                },
            }
        return self._chat(
            messages,
            model=ready.model,
            retries=self._vlm.max_retries,
            steer=steer,
            response_format=response_format,
        )

    # --- preflight ---

    def preflight(self) -> Health:
        probes: dict[str, float] = {}
        try:
            model = self._timed(probes, "models", self._served_model)
            json_schema = self._timed(probes, "text", lambda: self._text_probe(model))
            self._timed(probes, "vision", lambda: self._vision_probe(model))
        except BackendUnavailable as exc:
            return Health.failed(str(exc), probes_s=probes, permanent=exc.permanent)
        except JobError as exc:
            return Health.failed(f"preflight: {exc}", probes_s=probes)
        except Exception as exc:  # the contract: a preflight never raises
            logger.exception("preflight: unexpected error")
            return Health.failed(f"preflight failed: {type(exc).__name__}: {exc}", probes_s=probes)
        self._ready = _Ready(model=model, json_schema=json_schema)
        return Health(ok=True, checked_at=time.time(), probes_s=probes)

    def _ensure_ready(self) -> _Ready:
        """The preflight's findings; runs one first if none has passed yet."""
        with self._ready_lock:
            ready = self._ready
            if ready is None:
                health = self.preflight()
                ready = self._ready
                if ready is None:
                    raise BackendUnavailable(health.reason, permanent=health.permanent)
            return ready

    @staticmethod
    def _timed(probes: dict[str, float], name: str, probe: Callable[[], T]) -> T:
        started = time.monotonic()
        result = probe()
        probes[name] = round(time.monotonic() - started, 4)
        return result

    def _served_model(self) -> str:
        served = self._call(self._client.models, retries=0)
        return pick_model(self._vlm.model, served, base_url=self._shown_url)

    def _text_probe(self, model: str) -> bool:
        """A text round trip; True if the server also accepts a json_schema response_format."""
        messages = [{"role": "user", "content": 'Reply with the JSON object {"ok": true}.'}]
        schema = {
            "type": "json_schema",
            "json_schema": {"name": "probe", "schema": _PROBE_SCHEMA, "strict": True},
        }
        try:
            answer = self._chat(messages, model=model, retries=0, response_format=schema)
            json_schema = True
        except BadImage as exc:  # 400/422 on response_format: ask for JSON in the prompt
            logger.info(
                "{} refused response_format json_schema ({}); asking for JSON in the "
                "prompt instead",
                self._shown_url,
                exc,
            )
            answer = self._chat(messages, model=model, retries=0)
            json_schema = False
        if not answer.strip():
            raise BackendUnavailable(f"text probe: {model} answered nothing")
        return json_schema

    def _vision_probe(self, model: str) -> None:
        jpeg = encode_jpeg(
            probe_square(),
            max_edge_px=PROBE_SQUARE_PX,
            quality=90,
            max_bytes=self._vlm.max_image_bytes,
        )
        messages = [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "What colour is this image? Answer with one English word.",
                    },
                    {"type": "image_url", "image_url": {"url": data_url(jpeg)}},
                ],
            }
        ]
        answer = self._chat(messages, model=model, retries=0)
        if PROBE_COLOUR not in answer.casefold():
            said = " ".join(answer.split())[:80]
            raise BackendUnavailable(
                f"vision probe: asked the colour of a {PROBE_COLOUR} square, {model} answered "
                f"{said!r}; is it a vision model?"
            )

    # --- one request, with retries ---

    def _chat(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str,
        retries: int,
        steer: bool = False,
        response_format: dict[str, Any] | None = None,
    ) -> str:
        completion = self._call(
            lambda: self._client.chat(
                model=model,
                messages=messages,
                temperature=self._vlm.temperature,
                max_tokens=self._vlm.max_tokens,
                response_format=response_format,
            ),
            retries=retries,
            steer=steer,
        )
        choices = completion["choices"]  # the client checked their shape
        return (choices[0]["message"].get("content") or "") if choices else ""

    def _call(
        self,
        request: Callable[[], tuple[T, Mapping[str, str]]],
        *,
        retries: int,
        steer: bool = False,
    ) -> T:
        """Send ``request`` (answering its result and headers) in one of the adaptive slots;
        retry transient failures (the slot is released while waiting). Translates every
        client error. ``steer``: its latency moves the limit (tagging requests; not the
        probes or a repair)."""
        base_url = self._shown_url
        attempt = 0
        while True:
            if self._closed.is_set():
                raise BackendUnavailable("the tagger is closed")
            ticket = self._slots.acquire()
            try:
                result, headers = request()
            except ApiError as exc:
                failure, cause = classify(exc, base_url=base_url, now=time.time()), exc
                self._slots.release(
                    ticket,
                    signal=failure.signal,
                    steer=steer or failure.signal is not Signal.FAILED,
                    quota=quota_from_headers(exc.headers, tokens_per_request=self._vlm.max_tokens),
                    retry_after_s=failure.retry_after_s,
                )
            except BaseException:
                self._slots.release(ticket, signal=Signal.FAILED, steer=False)
                raise
            else:
                self._slots.release(
                    ticket,
                    signal=Signal.OK,
                    steer=steer,
                    quota=quota_from_headers(headers, tokens_per_request=self._vlm.max_tokens),
                )
                return result
            reason = self._redact(failure.reason)
            if failure.kind == "bad_request":
                raise BadImage(reason) from cause
            if failure.kind == "permanent":
                raise BackendUnavailable(reason, permanent=True) from cause
            retry_after = failure.retry_after_s
            if retry_after is not None and retry_after > self._vlm.retry_max_s:
                raise BackendUnavailable(
                    f"{reason}; the server asks to wait {retry_after:.0f} s"
                ) from cause
            if attempt >= retries:
                tries = f" (after {attempt + 1} attempts)" if attempt else ""
                raise BackendUnavailable(f"{reason}{tries}") from cause
            delay = backoff_delay_s(
                attempt,
                base_s=self._vlm.retry_base_s,
                max_s=self._vlm.retry_max_s,
                retry_after_s=retry_after,
                rand=random.random,
            )
            logger.warning(
                "VLM request failed: {}; retry {}/{} in {:.1f} s",
                reason,
                attempt + 1,
                retries,
                delay,
            )
            self._closed.wait(delay)
            attempt += 1

    def _redact(self, text: str) -> str:
        return redact(text.replace(self._key, "***") if self._key else text)

    def close(self) -> None:
        self._closed.set()
        self._slots.close()
        self._http.close()
