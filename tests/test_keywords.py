"""Keyword normalisation: each rule of phototag.keywords as a table of cases."""

from __future__ import annotations

import pytest

from phototag.config import Settings
from phototag.keywords import (
    STOP_WORDS,
    KeywordCase,
    KeywordPolicy,
    fit_utf8,
    normalise_keyword,
    normalise_keywords,
    singular,
)

PLURALS = [
    ("trees", "tree"),
    ("houses", "house"),
    ("children", "child"),
    ("buses", "bus"),
    ("boxes", "box"),
    ("berries", "berry"),
    ("leaves", "leaf"),
    ("wolves", "wolf"),
    ("women", "woman"),
    ("men", "man"),
    ("feet", "foot"),
    ("teeth", "tooth"),
    ("mice", "mouse"),
    ("geese", "goose"),
    ("churches", "church"),
    ("dishes", "dish"),
    ("dresses", "dress"),
    ("lenses", "lens"),
    ("gases", "gas"),
    ("vases", "vase"),
    ("potatoes", "potato"),
    ("shoes", "shoe"),
    ("movies", "movie"),
    ("pies", "pie"),
    ("kiwis", "kiwi"),
    ("olives", "olive"),
    ("knives", "knife"),
    ("fishermen", "fisherman"),
    ("grandchildren", "grandchild"),
    ("buzzes", "buzz"),
    ("niches", "niche"),
    ("cities", "city"),
    ("toys", "toy"),
    ("cacti", "cactus"),
]
UNCHANGED = [
    "glasses",
    "grass",
    "people",
    "news",
    "species",
    "series",
    "physics",
    "mathematics",
    "lens",
    "canvas",
    "gas",
    "bus",
    "bass",
    "chess",
    "dress",
    "moss",
    "cactus",
    "octopus",
    "analysis",
    "bonus",
    "tres",
    "tree",
    "child",
    "specimen",
    "tennis",
    "iris",
    "pumice",
    "chaos",
    "famous",
    "business",
    "sheep",
    "",
]


@pytest.mark.parametrize(("plural", "expected"), PLURALS)
def test_singular_of_plurals(plural: str, expected: str) -> None:
    assert singular(plural) == expected


@pytest.mark.parametrize("word", UNCHANGED)
def test_singular_leaves_singulars_and_invariants_alone(word: str) -> None:
    assert singular(word) == word


@pytest.mark.parametrize("word", ["Paris", "Texas", "Athens", "Mercedes", "NASA", "cafés"])
def test_singular_never_touches_capitalised_or_non_ascii_words(word: str) -> None:
    assert singular(word) == word


CASES = [
    # (raw, expected) for normalise_keyword in English
    ("  apple   trees ", "apple tree"),  # trim, collapse, singular on the last word
    ("trees", "tree"),  # never "tre"
    ('"sunset."', "sunset"),  # quotes and stray punctuation
    ("«plage»", "plage"),
    ("'rock'n'roll'", "rock'n'roll"),  # inner apostrophes stay
    ("black-and-white", "black-and-white"),
    ("R&B", "R&B"),
    ("#beach!", "beach"),
    ("tree (oak)", "tree (oak)"),  # a bracket whose partner is inside stays
    ("(oak)", "oak"),
    ("(a) and (b)", "(a) and (b)"),
    ("walkie-talkies", "walkie-talkie"),  # the last part of a hyphenated word
    ("line\nbreak", "line break"),
    ("tab\there", "tab here"),
    ("zero\u200bwidth\ufeff", "zerowidth"),
    ("c1\x85next\x9bx", "c1 nextx"),
    ("nul\x00led", "nulled"),
    ("\u200dcat\u200d", "cat"),  # a joiner at an edge is junk
    ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # but joins an emoji family
    ("e\u0301te\u0301", "été"),  # NFC
    ("Straße", "Straße"),
    ("日本語", "日本語"),
    ("🐱", "🐱"),
    ("Paris", "Paris"),  # capitals are kept, and never singularised
    ("Los Angeles", "Los Angeles"),
    ("Mercedes", "Mercedes"),
    ("Athens", "Athens"),
    ("Texas", "Texas"),
    ("NASA", "NASA"),
    ("iPhone", "iPhone"),
    ("New York taxis", "New York taxi"),  # the lower-case last word is still a plural
    ("photo", None),  # empty words
    ("Photos", None),
    ("stock photo", None),
    ("   ", None),
    ('""', None),
    ("...", None),
    ("&", None),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_normalise_keyword(raw: str, expected: str | None) -> None:
    assert normalise_keyword(raw) == expected


@pytest.mark.parametrize("language", ["German", "French", "de"])
def test_no_singular_nor_case_change_outside_english(language: str) -> None:
    assert normalise_keyword("trees", language=language) == "trees"
    assert normalise_keywords(["Bäume", "blau", "grün"], max_keywords=5, language=language) == (
        "Bäume",
        "blau",
        "grün",
    )


def test_max_keywords_zero_gives_nothing() -> None:
    assert normalise_keywords(["a", "b"], max_keywords=0) == ()


LISTS = [
    # (raw list, max_keywords, expected)
    (["cat", "catamaran"], 10, ("cat", "catamaran")),  # never dropped as a substring
    (["Tree", "tree", "TREE", "trees"], 10, ("Tree",)),  # case-insensitive, first spelling
    (["trees", "tree"], 10, ("tree",)),  # duplicates after singular
    (["sky, clouds; sea\nsand"], 10, ("sky", "cloud", "sea", "sand")),  # separators
    (["a", "b", "c", "d", "a", "e"], 3, ("a", "b", "c")),  # first N after de-dup
    (["photo", "", "  ", "image", "dog"], 10, ("dog",)),
    # sentence-start artefact: only the first keyword capitalised, the rest lower-case
    (["Trees", "sky", "river"], 10, ("tree", "sky", "river")),
    (["Black cats", "sofa", "lamp"], 10, ("black cat", "sofa", "lamp")),
    (["Trees", "trees", "photo", "sky"], 10, ("tree", "sky")),
    # a capital mid-list, inside a word, or on several entries is deliberate
    (["sky", "Paris", "river"], 10, ("sky", "Paris", "river")),
    (["Paris", "France", "river"], 10, ("Paris", "France", "river")),
    (["Eiffel Tower", "sky", "river"], 10, ("Eiffel Tower", "sky", "river")),
    (["Trees", "sky"], 10, ("Trees", "sky")),  # too short to tell a style
    (["Paris", "Eiffel Tower", "Seine"], 10, ("Paris", "Eiffel Tower", "Seine")),
    (["NASA", "rocket", "launch"], 10, ("NASA", "rocket", "launch")),
    (["iPhone", "desk", "lamp"], 10, ("iPhone", "desk", "lamp")),
    # issue 16: a Title Case list (a VLM's style) ends up as the lower-case one; names in it
    # (words no common-word list knows) keep their capitals
    (["Palm Trees", "Sunset", "Beach"], 10, ("palm tree", "sunset", "beach")),
    (["Paris", "Sunset", "Eiffel Tower", "NASA"], 10, ("Paris", "sunset", "Eiffel Tower", "NASA")),
    # issue 16: at most max_keyword_words (3) words; VLM filler words are stop words
    (["red fox in the snow", "fox", "close-up", "No People", "composition"], 10, ("fox",)),
]


@pytest.mark.parametrize(("raw", "max_keywords", "expected"), LISTS)
def test_normalise_keywords(raw: list[str], max_keywords: int, expected: tuple[str, ...]) -> None:
    assert normalise_keywords(raw, max_keywords=max_keywords) == expected


def test_normalise_keywords_reads_any_iterable_once() -> None:
    assert normalise_keywords(iter(["dogs", "cats"]), max_keywords=5) == ("dog", "cat")


def test_stop_words_are_lower_case_and_not_content() -> None:
    assert all(word == word.casefold() for word in STOP_WORDS)
    # changed with issue 16: "no people" is VLM filler and now a stop word on purpose
    assert not {"cat", "people", "black and white", "person"} & STOP_WORDS
    assert {"no people", "composition", "close-up", "high quality"} <= STOP_WORDS


def test_the_keyword_policy_is_configurable() -> None:
    raw = ["Palm Trees", "Sunset", "Beach", "sandy beach at low tide"]
    title = KeywordPolicy(case=KeywordCase.TITLE, max_words=5)
    assert normalise_keywords(raw, max_keywords=9, policy=title) == (
        "Palm Tree",
        "Sunset",
        "Beach",
        "Sandy Beach at Low Tide",
    )
    keep = KeywordPolicy(case=KeywordCase.KEEP, stop_words=frozenset({"sunset"}))
    assert normalise_keywords(raw, max_keywords=9, policy=keep) == ("Palm Trees", "Beach")
    # singular and plural meet whatever the case, in the default and title modes
    lower = ["palm trees", "sunset", "beach"]
    for policy in (KeywordPolicy(), title):
        assert normalise_keywords(raw[:3], max_keywords=9, policy=policy) == normalise_keywords(
            lower, max_keywords=9, policy=policy
        )


def test_settings_build_the_policy() -> None:
    settings = Settings(stop_words=["Sunset"], max_keyword_words=2, keyword_case="title")
    policy = settings.keyword_policy
    assert policy == KeywordPolicy(
        stop_words=frozenset({"sunset"}), max_words=2, case=KeywordCase.TITLE
    )
    assert Settings().keyword_policy == KeywordPolicy()


FIT = [
    # (text, max_bytes, expected)
    ("short", 64, "short"),
    ("hello world again", 13, "hello world"),  # word boundary preferred
    ("hello world", 11, "hello world"),  # exactly at the limit
    ("abcdefghij", 4, "abcd"),  # no boundary: character cut
    ("éééé", 5, "éé"),  # 2-byte characters never split
    ("日本語日本語", 10, "日本語"),  # 3-byte, and CJK characters are word boundaries
    ("🐱🐱", 7, "🐱"),  # 4-byte
    ("cafe\u0301 noir", 5, "caf"),  # a letter is not parted from its accent
    ("ab cdefghijklmnop", 12, "ab cdefghijk"),  # a boundary too early is not taken
]


@pytest.mark.parametrize(("text", "max_bytes", "expected"), FIT)
def test_fit_utf8(text: str, max_bytes: int, expected: str) -> None:
    cut = fit_utf8(text, max_bytes=max_bytes)
    assert cut == expected
    assert len(cut.encode("utf-8")) <= max_bytes
    assert text.startswith(cut)


def test_long_keywords_fit_iptc_64_bytes() -> None:
    phrase = "a very long keyword that goes on and on beyond the limit of the iptc field"
    assert normalise_keyword(phrase) is None  # issue 16: more than max_keyword_words (3)
    cut = normalise_keyword(phrase, policy=KeywordPolicy(max_words=20))
    assert cut is not None
    assert len(cut.encode("utf-8")) <= 64
    assert phrase.startswith(cut)
    assert cut.split()[-1] not in {"of", "the", "and"}
    wide = "猫" * 30  # 90 bytes; every character is a word
    assert normalise_keyword(wide) == "猫" * 21
    umlauts = "ü" * 40  # one 80-byte word: a cut half of it means nothing
    assert normalise_keyword(umlauts) is None
    assert normalise_keyword("x" * 65) is None
    assert normalise_keyword("x" * 64) == "x" * 64
