"""The OpenAI wire protocol over a given :class:`httpx.Client`: two endpoints, nothing more.

``GET {base_url}/models`` and ``POST {base_url}/chat/completions``, as the OpenAI API
documents them and vLLM, Ollama, llama.cpp, LM Studio, LiteLLM and OpenAI serve them. The
request JSON is the one the openai SDK sent (``model``, ``messages``, ``temperature``,
``max_tokens``, and ``response_format`` when given); a key travels as
``Authorization: Bearer``, and no header at all is sent without one.

Every failure is one of :class:`phototag.errors.ApiError`'s kinds, carrying the answer's
headers (``Retry-After``, ``x-ratelimit-*``)::

    httpx.TimeoutException                ApiTimeout
    any other httpx.TransportError        ApiConnectionError (the httpx error as __cause__)
    a status other than 2xx               ApiStatusError(status_code, body, headers)
    2xx, but not JSON, undecodable, or    ApiProtocolError
    without ``data`` / ``choices``

Retries, backoff and concurrency are the caller's (:mod:`phototag.taggers.vlm.tagger`):
this module sends each request exactly once. Timeouts and connection limits are the
given client's.
"""

from __future__ import annotations

from typing import Any

import httpx

from phototag.errors import ApiConnectionError, ApiProtocolError, ApiStatusError, ApiTimeout

_SHOWN_BYTES = 80  # of an answer that is not JSON, quoted in the error


def endpoint_url(base_url: str, endpoint: str) -> httpx.URL:
    """``endpoint`` under ``base_url``, joined as the SDK joins them: ``http://h:8000/v1``
    and ``http://h:8000/v1/`` both give ``http://h:8000/v1/chat/completions``; a query
    in ``base_url`` stays at the end."""
    base = httpx.URL(base_url)
    path, separator, query = base.raw_path.partition(b"?")
    joined = path.rstrip(b"/") + b"/" + endpoint.lstrip("/").encode("ascii")
    return base.copy_with(raw_path=joined + separator + query)


class ApiClient:
    """Requests to one OpenAI-compatible server. Thread-safe when ``http`` is (httpx's
    is). It never closes ``http``: whoever made the client owns it."""

    def __init__(self, http: httpx.Client, *, base_url: str, api_key: str | None) -> None:
        self._http = http
        self._models_url = endpoint_url(base_url, "models")
        self._chat_url = endpoint_url(base_url, "chat/completions")
        self._headers = {"Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    def models(self) -> tuple[list[str], httpx.Headers]:
        """The ids the server lists, in its order, and the answer's headers."""
        data, headers = self._send("GET", self._models_url)
        listed = data.get("data")
        if not isinstance(listed, list) or not all(
            isinstance(m, dict) and isinstance(m.get("id"), str) for m in listed
        ):
            raise ApiProtocolError("not the API's JSON: no 'data' list of models", headers=headers)
        return [m["id"] for m in listed], headers

    def chat(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        temperature: float,
        max_tokens: int,
        response_format: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], httpx.Headers]:
        """One chat completion: the answer's JSON (its ``choices`` checked to be a list
        whose first entry, if any, holds a ``message`` with text or null ``content``) and
        its headers."""
        body: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if response_format is not None:
            body["response_format"] = response_format
        answer, headers = self._send("POST", self._chat_url, body=body)
        if not _is_completion(answer):
            raise ApiProtocolError(
                "not the API's JSON: no 'choices' with a message", headers=headers
            )
        return answer, headers

    def _send(
        self, method: str, url: httpx.URL, *, body: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], httpx.Headers]:
        try:
            response = self._http.request(method, url, json=body, headers=self._headers)
        except httpx.TimeoutException as exc:
            raise ApiTimeout(f"{type(exc).__name__}: {exc}") from exc
        except httpx.TransportError as exc:
            raise ApiConnectionError(f"{type(exc).__name__}: {exc}") from exc
        except httpx.DecodingError as exc:  # a body its Content-Encoding cannot undo
            raise ApiProtocolError(f"the answer cannot be decoded: {exc}") from exc
        headers = response.headers
        try:
            parsed: object = response.json()
        except ValueError:  # not JSON (or not UTF-8 JSON)
            parsed = None
        if not response.is_success:
            body_or_text = parsed if parsed is not None else response.text.strip()
            raise ApiStatusError(response.status_code, body=body_or_text, headers=headers)
        if not isinstance(parsed, dict):
            shown = response.text.strip()[:_SHOWN_BYTES]
            kind = headers.get("content-type", "no content type")
            raise ApiProtocolError(f"not the API's JSON ({kind}): {shown!r}", headers=headers)
        return parsed, headers


def _is_completion(answer: dict[str, Any]) -> bool:
    choices = answer.get("choices")
    if not isinstance(choices, list):
        return False
    if not choices:
        return True  # no choice: an empty answer, the caller's to judge
    first = choices[0]
    message = first.get("message") if isinstance(first, dict) else None
    return isinstance(message, dict) and isinstance(message.get("content"), str | None)
