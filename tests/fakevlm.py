"""A real HTTP server on 127.0.0.1 that speaks the OpenAI API, as vLLM or Ollama would.

Only the model's answers are fake. ``GET /v1/models`` lists the configured models;
``POST /v1/chat/completions`` answers from a script of :class:`Step` (one per request, in
order), else with a default answer: the colour of a probe square, ``{"ok": true}`` for the
text probe, a valid tagging answer otherwise. Every request is recorded with its image
parts decoded, and the most concurrent chat requests ever seen is counted::

    with FakeVLM() as fake:
        fake.script(error(429, retry_after=1), answer(fenced(tags_json())))
        ...  # point settings.vlm.base_url at fake.url
        assert fake.max_in_flight <= 4
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

COLOURS = {
    "red": (220, 20, 20),
    "green": (20, 200, 20),
    "blue": (20, 20, 220),
    "white": (250, 250, 250),
    "black": (5, 5, 5),
}


@dataclass(frozen=True)
class Step:
    """One scripted reply to a chat-completions request."""

    status: int = 200
    content: str | None = None  # None: the default answer
    delay_s: float = 0.0  # wait before answering (a slow model, or a client timeout)
    headers: dict[str, str] = field(default_factory=dict)
    message: str = ""  # error message in the body when status != 200
    reset: bool = False  # drop the connection without an answer (TCP reset)
    body: bytes | None = None  # sent as is instead of the API's JSON (a broken proxy)
    content_type: str = "application/json"  # of ``body``


def answer(content: str, *, delay_s: float = 0.0) -> Step:
    return Step(content=content, delay_s=delay_s)


def slow(delay_s: float) -> Step:
    return Step(delay_s=delay_s)


def error(
    status: int, message: str = "scripted failure", *, retry_after: float | None = None
) -> Step:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    return Step(status=status, message=message, headers=headers)


def reset() -> Step:
    return Step(reset=True)


def raw(
    body: bytes, *, status: int = 200, content_type: str = "application/json", **headers: str
) -> Step:
    """Answer exactly ``body``: not JSON, JSON of another shape, another error envelope."""
    return Step(status=status, body=body, content_type=content_type, headers=headers)


def tags_json(
    *, title: str = "A tabby cat", keywords: list[str] | None = None, **fields: Any
) -> str:
    data: dict[str, Any] = {
        "title": title,
        "caption": "A tabby cat looks at the camera.",
        "description": "A close-up of a tabby cat with green eyes in front of a plain wall.",
        "alt_text": "Tabby cat looking at the camera",
        "keywords": keywords if keywords is not None else ["cat", "tabby", "fur", "portrait"],
    }
    data.update(fields)
    return json.dumps({k: v for k, v in data.items() if v is not None})


def fenced(text: str) -> str:
    return f"Here is the JSON you asked for:\n```json\n{text}\n```\nHope this helps!"


@dataclass
class RateLimit:
    """A hosted API's quota, as OpenAI applies it: per fixed window, counted when a request
    arrives (``max_tokens`` against the token quota), reported on every answer in
    ``x-ratelimit-*`` headers; a request over it gets 429 and is not served."""

    requests: int | None = None  # per window
    tokens: int | None = None
    window_s: float = 1.0
    _window_start: float = -1.0
    _used_requests: int = 0
    _used_tokens: int = 0

    def admit(self, *, tokens: int, now: float) -> tuple[bool, dict[str, str]]:
        """Whether the request is within the quota (it is counted if so), and the headers."""
        if now - self._window_start >= self.window_s:
            self._window_start, self._used_requests, self._used_tokens = now, 0, 0
        ok = (self.requests is None or self._used_requests < self.requests) and (
            self.tokens is None or self._used_tokens + tokens <= self.tokens
        )
        if ok:
            self._used_requests += 1
            self._used_tokens += tokens
        reset = f"{max(0.0, self._window_start + self.window_s - now) * 1000:.0f}ms"
        headers: dict[str, str] = {}
        if self.requests is not None:
            headers["x-ratelimit-limit-requests"] = str(self.requests)
            headers["x-ratelimit-remaining-requests"] = str(self.requests - self._used_requests)
            headers["x-ratelimit-reset-requests"] = reset
        if self.tokens is not None:
            headers["x-ratelimit-limit-tokens"] = str(self.tokens)
            headers["x-ratelimit-remaining-tokens"] = str(self.tokens - self._used_tokens)
            headers["x-ratelimit-reset-tokens"] = reset
        return ok, headers


@dataclass(frozen=True)
class SentImage:
    mime: str  # as declared in the data URL
    format: str  # as Pillow reads the bytes
    size: tuple[int, int]
    nbytes: int
    mean_rgb: tuple[int, int, int]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    images: tuple[SentImage, ...]
    received_at: float  # time.monotonic()

    @property
    def text(self) -> str:
        """All text parts of all messages, joined."""
        parts: list[str] = []
        for message in (self.body or {}).get("messages", []):
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(p.get("text", "") for p in content if p.get("type") == "text")
        return "\n".join(parts)


def decode_image(url: str) -> SentImage:
    header, _, payload = url.partition(",")
    mime = header.removeprefix("data:").split(";")[0]
    data = base64.b64decode(payload)
    with Image.open(io.BytesIO(data)) as im:
        rgb = im.convert("RGB")
        mean = rgb.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
        return SentImage(
            mime=mime, format=im.format or "", size=im.size, nbytes=len(data), mean_rgb=tuple(mean)
        )  # type: ignore[arg-type]


def colour_name(rgb: tuple[int, int, int]) -> str:
    return min(
        COLOURS, key=lambda n: sum((a - b) ** 2 for a, b in zip(COLOURS[n], rgb, strict=True))
    )


class FakeVLM:
    """The server. Start with ``with FakeVLM() as fake`` or :meth:`start`/:meth:`stop`."""

    def __init__(
        self,
        *,
        models: tuple[str, ...] = ("fake-vlm",),
        api_key: str | None = None,
        json_schema: bool = True,
        vision: bool = True,
    ) -> None:
        self.models = models
        self.api_key = api_key
        self.json_schema = json_schema  # False: 400 on response_format json_schema
        self.vision = vision  # False: a text-only model that cannot see images
        self.models_body: bytes | None = None  # while set, GET /models answers exactly this
        self.fail_all: Step | None = None  # while set, every chat request gets this
        self.latency_s = 0.0  # added to every chat request
        self.open = threading.Event()  # cleared (hold()): chat requests wait until release()
        self.open.set()
        self.rate_limit: RateLimit | None = None  # a hosted API's quota, while set
        self.rate_limited = 0  # chat requests refused with 429 by the quota
        self.answerer: Callable[[Recorded], str] = self.default_answer
        self._queue: deque[Step] = deque()
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._in_flight = 0
        self.max_in_flight = 0
        self._connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- control ---

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeVLM:
        server = _Server(("127.0.0.1", self.port), _handler(self))
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fakevlm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and reset every open connection: clients see connection refused."""
        self.release()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            _abort(conn)
        self._server = None

    def __enter__(self) -> FakeVLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def hold(self) -> None:
        """Chat requests from now on wait, unanswered, until :meth:`release`."""
        self.open.clear()

    def release(self) -> None:
        self.open.set()

    def script(self, *steps: Step) -> None:
        with self._lock:
            self._queue.extend(steps)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self.max_in_flight = 0

    # --- answers ---

    def default_answer(self, request: Recorded) -> str:
        if request.images and "colour" in request.text.lower():
            if not self.vision:
                return "I cannot see images."
            return colour_name(request.images[0].mean_rgb).capitalize() + "."
        if '{"ok": true}' in request.text:
            return '{"ok": true}'
        return tags_json()

    def _next_step(self) -> Step:
        with self._lock:
            if self.fail_all is not None:
                return self.fail_all
            return self._queue.popleft() if self._queue else Step()

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self._requests.append(request)

    def _track(self, conn: socket.socket, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a connection reset on purpose is not news


def _abort(conn: socket.socket) -> None:
    """Drop a connection now, even while its handler still holds file objects on it."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.shutdown(socket.SHUT_RDWR)
        conn.close()


def _handler(fake: FakeVLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            fake._track(self.connection, open_=True)

        def finish(self) -> None:
            fake._track(self.connection, open_=False)
            with contextlib.suppress(OSError):
                super().finish()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

        def do_GET(self) -> None:
            request = self._read(body=None)
            if not self._authorised():
                return
            if request.path.rstrip("/").endswith("/models") and fake.models_body is not None:
                self._send(200, fake.models_body, "application/json")
            elif request.path.rstrip("/").endswith("/models"):
                data = [
                    {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
                    for m in fake.models
                ]
                self._json(200, {"object": "list", "data": data})
            else:
                self._error(404, f"no route {request.path}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            try:
                body = json.loads(self.rfile.read(length) or b"null")
            except json.JSONDecodeError:
                self._error(400, "body is not JSON")
                return
            request = self._read(body=body)
            if not request.path.rstrip("/").endswith("/chat/completions"):
                self._error(404, f"no route {request.path}")
                return
            fake._enter()
            try:
                self._chat(request)
            finally:
                fake._leave()

        def _chat(self, request: Recorded) -> None:
            quota_headers: dict[str, str] = {}
            if fake.rate_limit is not None:
                with fake._lock:
                    ok, quota_headers = fake.rate_limit.admit(
                        tokens=int((request.body or {}).get("max_tokens") or 0),
                        now=time.monotonic(),
                    )
                    fake.rate_limited += not ok
                if not ok:
                    self._error(429, "Rate limit reached", headers=quota_headers)
                    return
            fake.open.wait(timeout=120)
            step = fake._next_step()
            step = replace(step, headers={**quota_headers, **step.headers})
            if step.delay_s or fake.latency_s:
                time.sleep(step.delay_s + fake.latency_s)
            if step.reset:
                _abort(self.connection)
                self.close_connection = True
                return
            if not self._authorised():
                return
            body = request.body or {}
            if body.get("model") not in fake.models:
                self._error(404, f"The model `{body.get('model')}` does not exist.")
                return
            fmt = (body.get("response_format") or {}).get("type")
            if fmt == "json_schema" and not fake.json_schema:
                self._error(400, "response_format json_schema is not supported by this server")
                return
            if step.body is not None:
                self._send(step.status, step.body, step.content_type, headers=step.headers)
                return
            if step.status != 200:
                self._error(step.status, step.message, headers=step.headers)
                return
            content = step.content if step.content is not None else fake.answerer(request)
            self._json(
                200,
                {
                    "id": f"chatcmpl-{len(fake.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": content},
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                },
                headers=step.headers,
            )

        def _read(self, *, body: Any) -> Recorded:
            images: list[SentImage] = []
            for message in (body or {}).get("messages", []) if isinstance(body, dict) else []:
                content = message.get("content")
                for part in content if isinstance(content, list) else []:
                    if part.get("type") == "image_url":
                        images.append(decode_image(part["image_url"]["url"]))
            request = Recorded(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body if isinstance(body, dict) else None,
                images=tuple(images),
                received_at=time.monotonic(),
            )
            fake._record(request)
            return request

        def _authorised(self) -> bool:
            if fake.api_key is None or self.headers.get("Authorization") == (
                f"Bearer {fake.api_key}"
            ):
                return True
            self._error(401, "Incorrect API key provided.")
            return False

        def _error(
            self, status: int, message: str, *, headers: dict[str, str] | None = None
        ) -> None:
            self._json(
                status,
                {"error": {"message": message, "type": "fake_error", "code": status}},
                headers=headers,
            )

        def _json(self, status: int, data: Any, *, headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(data).encode(), "application/json", headers=headers)

        def _send(
            self,
            status: int,
            payload: bytes,
            content_type: str,
            *,
            headers: dict[str, str] | None = None,
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                self.close_connection = True  # the client gave up (timeout) or was reset

    return Handler
