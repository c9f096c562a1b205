"""What a vision model must answer, and how its text is read: tolerant JSON, strict validation.

Models wrap JSON in code fences, put prose before it and leave trailing commas; those are
forgiven. A missing or empty field is not: the answer is rejected with a reason, which
:func:`repair_prompt` turns into one text-only request to fix it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from phototag.errors import AnswerError

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


class Answer(BaseModel):
    """The structured answer for one photo."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, populate_by_name=True)

    title: str = Field(min_length=1)
    caption: str = Field(min_length=1)
    description: str = Field(min_length=1)
    alt_text: str = Field(default="", validation_alias=AliasChoices("alt_text", "alt"))
    keywords: list[str] = Field(
        min_length=1, validation_alias=AliasChoices("keywords", "tags", "keyword")
    )

    @field_validator("keywords", mode="before")
    @classmethod
    def _split_text(cls, value: Any) -> Any:
        """A model that answers "a, b, c" instead of a list still means a list."""
        if isinstance(value, str):
            return [part for part in re.split(r"[,;\n]", value) if part.strip()]
        if isinstance(value, list):
            return [str(v) for v in value if isinstance(v, (str, int, float)) and str(v).strip()]
        return value


def answer_schema(*, max_keywords: int, allowed: Sequence[str] | None = None) -> dict[str, Any]:
    """The JSON schema sent as ``response_format`` (strict: every field required)."""
    keyword: dict[str, Any] = {"type": "string"}
    if allowed:
        keyword["enum"] = list(allowed)
    text = {"type": "string"}
    return {
        "type": "object",
        "properties": {
            "title": text,
            "caption": text,
            "description": text,
            "alt_text": text,
            "keywords": {"type": "array", "items": keyword, "maxItems": max_keywords},
        },
        "required": ["title", "caption", "description", "alt_text", "keywords"],
        "additionalProperties": False,
    }


def extract_json(text: str) -> Any:
    """The JSON object inside ``text``: fences, leading/trailing prose and trailing commas are
    tolerated. Raises AnswerError if no object can be read."""
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    start = body.find("{")
    end = body.rfind("}")
    if start < 0 or end < start:
        raise AnswerError("the answer contains no JSON object")
    candidate = _TRAILING_COMMA.sub(r"\1", body[start : end + 1])
    try:
        return json.loads(candidate)
    except json.JSONDecodeError as exc:
        raise AnswerError(f"the JSON is malformed: {exc.msg} at character {exc.pos}") from exc


def parse_answer(text: str) -> Answer:
    """Read and validate a model's answer. Raises AnswerError naming what is wrong."""
    data = extract_json(text)
    if not isinstance(data, dict):
        raise AnswerError("the answer is not a JSON object")
    data = {str(k).strip().lower(): v for k, v in data.items()}
    try:
        return Answer.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise AnswerError("; ".join(problems)) from exc


def repair_prompt(*, raw: str, problem: str, shape: str) -> str:
    """The text-only follow-up asking the model to fix its own answer (no image resent)."""
    return (
        "Your previous answer could not be used: "
        f"{problem}.\n\nPrevious answer:\n{raw[:4000]}\n\n"
        "Reply with only the corrected JSON object, no prose and no code fences, "
        f"in exactly this shape:\n{shape}"
    )
