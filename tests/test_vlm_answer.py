"""Reading a model's answer, building prompts, and the controlled vocabulary: pure parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phototag.errors import AnswerError, ConfigError
from phototag.taggers.vlm.answer import answer_schema, extract_json, parse_answer
from phototag.taggers.vlm.prompts import BUILTIN_PROFILES, build_prompt, profile_text
from phototag.taggers.vlm.vocabulary import Vocabulary

GOOD = {
    "title": "Cat",
    "caption": "A cat.",
    "description": "A tabby cat.",
    "keywords": ["cat", "tabby"],
}


def test_plain_json_is_read() -> None:
    answer = parse_answer(json.dumps(GOOD))
    assert answer.title == "Cat"
    assert answer.keywords == ["cat", "tabby"]
    assert answer.alt_text == ""


@pytest.mark.parametrize(
    "text",
    [
        "```json\n" + json.dumps(GOOD) + "\n```",
        "```\n" + json.dumps(GOOD) + "```",
        "Sure! Here is the JSON:\n" + json.dumps(GOOD) + "\nLet me know.",
        '{"title": "Cat", "caption": "A cat.", "description": "A tabby cat.",'
        ' "keywords": ["cat", "tabby",],}',
        '{"Title": "Cat", "Caption": "A cat.", "Description": "A tabby cat.",'
        ' "tags": "cat, tabby"}',
    ],
    ids=["fenced", "bare-fence", "prose", "trailing-commas", "odd-keys-and-string-list"],
)
def test_tolerated_forms(text: str) -> None:
    answer = parse_answer(text)
    assert (answer.title, answer.keywords) == ("Cat", ["cat", "tabby"])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("I see a cat.", "no JSON object"),
        ('{"title": "Cat", "keywords": ["a" "b"]}', "malformed"),
        ('["cat"]', "no JSON object"),
        (json.dumps({**GOOD, "caption": None}), "caption"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "description"}), "description"),
        (json.dumps({**GOOD, "keywords": []}), "keywords"),
        (json.dumps({**GOOD, "title": "   "}), "title"),
    ],
)
def test_invalid_answers_say_why(text: str, problem: str) -> None:
    with pytest.raises(AnswerError, match=problem):
        parse_answer(text)


def test_extract_json_prefers_the_fenced_block() -> None:
    assert extract_json('Use {braces} like this:\n```json\n{"a": 1}\n```') == {"a": 1}


def test_schema_is_strict_and_caps_keywords() -> None:
    schema = answer_schema(max_keywords=7, allowed=("cat", "dog"))
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])
    assert schema["properties"]["keywords"]["maxItems"] == 7
    assert schema["properties"]["keywords"]["items"]["enum"] == ["cat", "dog"]


# --- prompts -----------------------------------------------------------------------------


def _prompt(**overrides: object):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {
        "profile": "default",
        "user_profiles": {},
        "language": "English",
        "max_keywords": 25,
    }
    options.update(overrides)
    return build_prompt(**options)  # type: ignore[arg-type]


def test_builtin_profiles_differ_and_digest_follows_the_text() -> None:
    prompts = {name: _prompt(profile=name) for name in ("default", "stock", "portfolio")}
    assert len({p.digest for p in prompts.values()}) == 3
    assert "stock" in prompts["stock"].system
    assert "light" in prompts["portfolio"].system
    assert _prompt().digest == _prompt().digest
    assert len(_prompt().digest) == 64


def test_language_and_cap_are_in_the_prompt_and_the_digest() -> None:
    german = _prompt(language="German", max_keywords=12)
    assert "in German" in german.instruction
    assert "at most 12 keywords" in german.instruction
    assert german.schema["properties"]["keywords"]["maxItems"] == 12
    assert german.digest != _prompt().digest
    assert _prompt(max_keywords=12).digest != _prompt().digest


def test_user_profiles_add_and_override() -> None:
    mine = {"birds": "You are an ornithologist. Name the species.", "stock": "Be brief."}
    assert _prompt(profile="birds", user_profiles=mine).system.startswith("You are an ornith")
    assert _prompt(profile="stock", user_profiles=mine).system.startswith("Be brief.")
    assert profile_text("portfolio", user_profiles=mine) == BUILTIN_PROFILES["portfolio"]


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"'travel'.*default, portfolio, stock"):
        _prompt(profile="travel")


# --- vocabulary --------------------------------------------------------------------------

VOCAB = """\
# animals
cat: kitten, tabby cat, kitty
dog: puppy, hound
Eiffel Tower
cat: duplicate line ignored
"""


def test_vocabulary_maps_synonyms_and_drops_the_unknown() -> None:
    vocabulary = Vocabulary.parse(VOCAB)
    assert vocabulary.terms == ("cat", "dog", "Eiffel Tower")
    got = vocabulary.apply(["Kitty", "giraffe", "eiffel  tower", "cat", "Puppy"], max_keywords=10)
    assert got == ["cat", "Eiffel Tower", "dog"]
    assert vocabulary.apply(["cat", "dog", "eiffel tower"], max_keywords=2) == ["cat", "dog"]


def test_small_vocabulary_is_an_enum_large_one_only_a_filter() -> None:
    assert Vocabulary.parse(VOCAB).schema_enum() == ("cat", "dog", "Eiffel Tower")
    large = Vocabulary.parse("\n".join(f"term {i}" for i in range(500)))
    assert large.schema_enum() is None
    assert large.apply(["TERM 7", "term 700"], max_keywords=5) == ["term 7"]


def test_vocabulary_in_the_prompt_and_digest(tmp_path: Path) -> None:
    small = Vocabulary.parse(VOCAB)
    prompt = _prompt(vocabulary=small)
    assert "only from this list: cat, dog, Eiffel Tower" in prompt.instruction
    assert prompt.schema["properties"]["keywords"]["items"]["enum"] == list(small.terms)
    large_a = Vocabulary.parse("\n".join(f"a{i}" for i in range(300)))
    large_b = Vocabulary.parse("\n".join(f"b{i}" for i in range(300)))
    assert "only from this list" not in _prompt(vocabulary=large_a).instruction
    assert _prompt(vocabulary=large_a).digest != _prompt(vocabulary=large_b).digest


def test_vocabulary_file_errors_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        Vocabulary.load(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(ConfigError, match="no terms"):
        Vocabulary.load(empty)
