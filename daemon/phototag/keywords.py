"""Keyword normalisation: what a tagger said, made fit to write into a photo.

One keyword goes through, in order:

1. Unicode NFC; control characters removed (C0, C1, zero-width and bidi marks, lone
   surrogates), line breaks and tabs turned into spaces, inner whitespace collapsed.
2. Surrounding quotes and stray punctuation stripped ("'sunset.'" -> "sunset", "#beach" ->
   "beach"); inner hyphens, apostrophes and ampersands stay ("rock'n'roll", "R&B"), and a
   bracket stays when its partner is inside ("tree (oak)").
3. Case (English only; ``keyword_case``, :class:`KeywordCase`). Capitals in a list that
   mixes cases are deliberate and kept: names ("Paris", "Los Angeles"), acronyms ("NASA"),
   brands ("iPhone"). Two list styles carry no information and are undone:
   - a *Title Case list* (three or more keywords, every word of every keyword capitalised,
     as some VLMs answer: "Palm Trees, Sunset, Beach") has each known common word
     lower-cased (:func:`common_words`: the words of ImageNet's class names and a list of
     the nouns VLMs use most, singular or plural), so it ends up the same as the
     lower-case list. A keyword with any other word keeps its capitals, since it may be a
     name ("Paris", "Eiffel Tower"): the cost is that an uncommon word ("Serenity") stays
     capitalised, and a name made of common words ("Golden Gate Bridge") is lowered;
   - a *sentence-start artefact*: a list of three or more that opens with a keyword
     capitalised on its first letter only ("Trees", "Black cat") while every other keyword
     starts in lower case has that first letter lower-cased. The cost: a lone name opening
     an otherwise lower-case list ("Paris, sky, river") is lower-cased too.
   ``keyword_case = "title"`` then capitalises every word ("Palm Tree"); ``"keep"`` skips
   the Title Case rule and keeps the tagger's capitals.
4. English only: an all-lower-case last word is made singular (:func:`singular`,
   "apple trees" -> "apple tree"), so after step 3 "Palm Trees" and "palm trees" meet. A
   word that keeps a capital is never touched ("Athens", "Los Angeles", "Mercedes"), nor
   is any keyword in another language.
5. Stop words (``stop_words``, default :data:`STOP_WORDS`: "photo", "image", "composition",
   "no people", "high quality", ...), the words VLMs add to every photo, are dropped,
   compared case-insensitively and in the singular. So is a keyword of more than
   ``max_keyword_words`` words (default 3): a phrase or a sentence, not a keyword.
6. IPTC allows 64 bytes a keyword: a longer one is cut at a word boundary (never inside a
   UTF-8 character) and loses a dangling "and"/"of"/...; one that cannot be cut at a word
   boundary is a run-on token (a hash, a URL) and is dropped.

A list is then de-duplicated ignoring case (the first spelling wins) and cut to
``max_keywords``. Nothing is dropped for being part of another keyword ("cat" and
"catamaran" both stay). :func:`normalise_keywords` also splits items on commas, semicolons
and line breaks, which every photo manager treats as keyword separators.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

IPTC_KEYWORD_MAX_BYTES = 64
ENGLISH = frozenset({"english", "en", "en-us", "en-gb", "en_us", "en_gb"})
DEFAULT_MAX_KEYWORD_WORDS = 3


class KeywordCase(StrEnum):
    """``keyword_case``: how keywords are cased (English only)."""

    LOWER = "lower"  # common words lower-case, names keep their capitals (the default)
    TITLE = "title"  # every word capitalised: "Palm Tree", "Eiffel Tower"
    KEEP = "keep"  # the tagger's capitals as given (only the sentence-start artefact undone)


STOP_WORDS: frozenset[str] = frozenset(
    {
        "photo",
        "photos",
        "photograph",
        "photographs",
        "photography",
        "picture",
        "pictures",
        "pic",
        "pics",
        "image",
        "images",
        "img",
        "jpeg",
        "jpg",
        "png",
        "stock photo",
        "stock image",
        "stock photography",
        "keyword",
        "keywords",
        "tag",
        "tags",
        "none",
        "null",
        "n/a",
        "untitled",
        "unknown",
        # what VLMs add to every photo: about the picture, not about what it shows
        "composition",
        "mood",
        "atmosphere",
        "lighting",
        "light and shadow",
        "colour",
        "color",
        "colourful",
        "colorful",
        "vibrant colour",
        "vibrant color",
        "close-up",
        "closeup",
        "close up",
        "no people",
        "nobody",
        "high quality",
        "high resolution",
        "hd",
        "4k",
        "detail",
        "texture",
        "background",
        "foreground",
        "scene",
        "beautiful",
        "aesthetic",
        "vibrant",
        "natural light",
        "daylight",
        "depth of field",
        "bokeh",
        "wallpaper",
    }
)


@dataclass(frozen=True, slots=True)
class KeywordPolicy:
    """The keyword settings both backends share (``stop_words``, ``max_keyword_words``,
    ``keyword_case``). ``stop_words`` are compared case-folded."""

    stop_words: frozenset[str] = STOP_WORDS
    max_words: int = DEFAULT_MAX_KEYWORD_WORDS
    case: KeywordCase = KeywordCase.LOWER

    @classmethod
    def of(cls, *, stop_words: Iterable[str], max_words: int, case: str) -> KeywordPolicy:
        return cls(
            stop_words=frozenset(" ".join(w.casefold().split()) for w in stop_words),
            max_words=max_words,
            case=KeywordCase(case),
        )


DEFAULT_POLICY = KeywordPolicy()

_SEPARATORS = re.compile(r"[,;\n\r\u2028\u2029\x85\uff0c\u3001\uff1b]")
_LINE_SPACES = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029")
_JOINERS = frozenset("\u200c\u200d")  # needed inside emoji sequences and some scripts
_EDGE_SYMBOLS = frozenset("`^|~")
_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">"}
_DANGLING = frozenset(
    {"a", "an", "and", "the", "of", "with", "in", "on", "at", "for", "to", "or", "&", "-"}
)
_ASCII_LOWER_WORD = re.compile(r"[a-z]+")


def normalise_keywords(
    raw: Iterable[str],
    *,
    max_keywords: int,
    language: str = "English",
    policy: KeywordPolicy = DEFAULT_POLICY,
) -> tuple[str, ...]:
    """The tagger's keywords, cleaned, de-duplicated (case-insensitive) and cut to a count."""
    items = [_clean(part) for item in raw for part in _SEPARATORS.split(item)]
    items = [item for item in items if item]
    if _is_english(language):
        titled = policy.case == KeywordCase.TITLE  # the output's case is decided anyway
        if titled or (policy.case == KeywordCase.LOWER and _title_cased(items)):
            items = [_lower_common(item) for item in items]
        elif _sentence_start(items):
            items[0] = items[0][0].lower() + items[0][1:]
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if len(out) >= max_keywords:
            break
        keyword = _finish(item, language=language, policy=policy)
        if keyword is not None and keyword.casefold() not in seen:
            seen.add(keyword.casefold())
            out.append(keyword)
    return tuple(out)


def normalise_keyword(
    raw: str, *, language: str = "English", policy: KeywordPolicy = DEFAULT_POLICY
) -> str | None:
    """One keyword cleaned as described in the module docstring; None means drop it."""
    return _finish(_clean(raw), language=language, policy=policy)


def fit_utf8(text: str, *, max_bytes: int) -> str:
    """The longest prefix of ``text`` of at most ``max_bytes`` UTF-8 bytes.

    It never ends inside a character, and ends at a word boundary (a space, or between two
    wide CJK characters) when one lies in the prefix's second half; trailing spaces are
    removed.
    """
    end = _chars_within(text, max_bytes=max_bytes)
    if end == len(text):
        return text
    while end and unicodedata.combining(text[end]):
        end -= 1  # do not part a letter from its accent
    for cut in range(end, end // 2, -1):
        if text[cut].isspace() or text[cut - 1].isspace() or _wide_pair(text, cut):
            return text[:cut].rstrip()
    return text[:end]


def _chars_within(text: str, *, max_bytes: int) -> int:
    size = 0
    for index, ch in enumerate(text):
        size += len(ch.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            return index
    return len(text)


def singular(word: str) -> str:
    """The English singular of a lower-case plural noun; anything else comes back unchanged.

    Rules are conservative: an unknown or doubtful word is left alone, never mangled
    ("trees" -> "tree", never "tre"; "glasses", "species", "lens", "bonus" stay).
    """
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if not _ASCII_LOWER_WORD.fullmatch(word) or len(word) <= 3 or word in _INVARIANT:
        return word
    for plural, single in _IRREGULAR_SUFFIXES.items():
        if word.endswith(plural) and word not in _NOT_PLURAL:
            return word[: -len(plural)] + single
    if word.endswith(("ss", "us", "ics")) or (word.endswith("is") and _latin_is(word)):
        return word
    return _regular(word)


def _regular(word: str) -> str:
    if word.endswith("ies"):
        stem = word[:-1]
        return stem if len(word) <= 4 or stem in _IE_NOUNS else word[:-3] + "y"
    if word.endswith("oes"):
        return word[:-2] if word[:-2] in _O_ES else word[:-1]
    if word.endswith("ses"):
        return word[:-2] if word[:-2] in _S_ES or word.endswith("sses") else word[:-1]
    if word.endswith(("shes", "xes", "zzes", "tzes")):
        return word[:-2]
    if word.endswith("ches"):
        return word[:-1] if word[:-1] in _CHE_NOUNS else word[:-2]
    if word.endswith("s"):
        stem = word[:-1]
        # the stem must look like a word: a vowel that is not just a final "e" ("tres" stays)
        return stem if re.search(r"[aeiouy]", stem[:-1] if stem.endswith("e") else stem) else word
    return word


def _latin_is(word: str) -> bool:
    """A singular in -is (analysis, iris) rather than a plural of an -i word (kiwis, skis)."""
    return word.endswith(("sis", "itis", "xis")) or word in _IS_SINGULAR


def _clean(raw: str) -> str:
    text = unicodedata.normalize("NFC", raw)
    chars: list[str] = []
    for index, ch in enumerate(text):
        if ch in _LINE_SPACES:
            chars.append(" ")
        elif ch in _JOINERS:
            if _between_visible(text, index):
                chars.append(ch)
        elif unicodedata.category(ch) not in ("Cc", "Cf", "Cs"):
            chars.append(ch)
    return _strip_edges(" ".join("".join(chars).split()))


def _between_visible(text: str, index: int) -> bool:
    return 0 < index < len(text) - 1 and not (
        text[index - 1].isspace() or text[index + 1].isspace()
    )


def _strip_edges(text: str) -> str:
    """Remove surrounding quotes and punctuation, keeping a bracket whose partner is inside."""
    while text:
        first, last = text[0], text[-1]
        if _wrapped(text):  # "(oak)"
            text = text[1:-1].strip()
        elif _strippable(first) and not (first in _PAIRS and _PAIRS[first] in text[1:]):
            text = text[1:].strip()
        elif _strippable(last) and not _closes_inner(text):
            text = text[:-1].strip()
        else:
            return text
    return text


def _wrapped(text: str) -> bool:
    """Whether the bracket opening ``text`` is closed by its last character."""
    close = _PAIRS.get(text[0])
    depth = 0
    for index, ch in enumerate(text):
        depth += (ch == text[0]) - (ch == close)
        if depth == 0:
            return index == len(text) - 1
    return False


def _strippable(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P") or ch in _EDGE_SYMBOLS


def _closes_inner(text: str) -> bool:
    opener = next((o for o, c in _PAIRS.items() if c == text[-1]), None)
    return opener is not None and opener in text[:-1]


def _finish(text: str, *, language: str, policy: KeywordPolicy) -> str | None:
    english = _is_english(language)
    if english:
        text = _singular_last(text)
    if not text or len(text.split()) > policy.max_words:
        return None
    if text.casefold() in policy.stop_words or _singular_last(text.casefold()) in policy.stop_words:
        return None
    if english and policy.case == KeywordCase.TITLE:
        text = _title(text)
    cut = fit_utf8(text, max_bytes=IPTC_KEYWORD_MAX_BYTES)
    if cut != text:
        if not (text[len(cut)].isspace() or _wide_pair(text, len(cut))):
            return None  # one run-on token: a cut half of it means nothing
        words = cut.split(" ")
        while words and words[-1].casefold() in _DANGLING:
            words.pop()
        cut = _strip_edges(" ".join(words))
    return cut or None


def _singular_last(text: str) -> str:
    head, sep, last = text.rpartition(" ")
    hyphen_head, hyphen, tail = last.rpartition("-")  # "walkie-talkies" -> "walkie-talkie"
    return head + sep + hyphen_head + hyphen + singular(tail)


_SMALL_WORDS = frozenset({"a", "an", "and", "the", "of", "in", "on", "at", "with", "or", "to"})


def _title_cased(items: list[str]) -> bool:
    """Whether every word of every keyword starts with a capital (small words aside), in a
    list of three or more: a style, so its capitals say nothing about names."""
    words = [w for item in items for w in item.split() if w[:1].isalpha()]
    if len(items) < 3 or not words:
        return False
    return all(w[0].isupper() or w in _SMALL_WORDS for w in words) and any(
        not w.isupper() for w in words
    )


def _lower_common(item: str) -> str:
    """A Title Case keyword lower-cased when all its words are known common words; one
    unknown word makes it a name, kept whole ("Eiffel Tower", "Seine")."""
    return item.lower() if all(_is_common(w) for w in item.split()) else item


def _is_common(word: str) -> bool:
    low = word.lower()
    if low.upper() == word and len(word) > 1:  # "NASA", "USA": an acronym
        return False
    return low in common_words() or singular(low) in common_words()


@cache
def common_words() -> frozenset[str]:
    """Lower-case English words known to be common nouns and adjectives: every word of
    ImageNet's lower-case class names (WordNet capitalises only names) and
    :data:`_VLM_NOUNS`."""
    table = resources.files("phototag.taggers.local").joinpath("data/imagenet_classes.csv")
    rows = csv.reader(table.read_text(encoding="utf-8").splitlines())
    names = [name for _, name in rows if name == name.lower()]
    words = {w for name in names for w in re.split(r"[\s-]+", name) if w.isalpha()}
    return frozenset(words | _VLM_NOUNS)


_VLM_NOUNS = frozenset(
    """
    sunset sunrise sky cloud sun moon star night day light shadow tree palm leaf flower
    grass field meadow forest wood woods garden park plant beach sea ocean wave coast shore
    sand island lake river stream waterfall water pond mountain hill valley rock stone
    cliff desert snow ice rain fog mist storm city town village street road path bridge
    building house home tower church castle wall window door roof room kitchen interior
    table chair sofa bed lamp book people person man woman child children boy girl baby
    family friend crowd portrait face hand smile dog cat bird horse cow animal pet fish
    insect butterfly car bus train bicycle bike boat ship plane aircraft food fruit
    vegetable bread cake coffee tea wine drink cup glass plate bowl dinner breakfast lunch
    market shop restaurant cafe festival party wedding concert music sport game ball travel
    holiday vacation summer winter spring autumn fall evening morning afternoon red orange
    yellow green blue purple pink brown black white grey gray gold silver dark bright old
    new small big large tall close up view landscape nature outdoor outdoors indoor indoors
    urban rural architecture reflection silhouette texture pattern art
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def _title(text: str) -> str:
    """Each word's first letter capitalised, small words inside a keyword left lower."""
    words = text.split(" ")
    return " ".join(
        w if (i and w in _SMALL_WORDS) or not w[:1].islower() else w[:1].upper() + w[1:]
        for i, w in enumerate(words)
    )


def _sentence_start(items: list[str]) -> bool:
    """Whether only the first keyword is capitalised, and only on its first letter."""
    if len(items) < 3 or not items[0][0].isupper() or items[0][1:] != items[0][1:].lower():
        return False
    return not any(item[0].isupper() for item in items[1:])


def _is_english(language: str) -> bool:
    return language.strip().casefold() in ENGLISH


def _wide_pair(text: str, cut: int) -> bool:
    """Whether ``cut`` falls between two wide (CJK) characters, where words need no space."""
    return 0 < cut < len(text) and all(
        unicodedata.east_asian_width(ch) in ("W", "F") for ch in text[cut - 1 : cut + 1]
    )


_INVARIANT = frozenset(
    {
        # s-final singulars and plural-only or mass nouns
        "news",
        "means",
        "series",
        "species",
        "lens",
        "canvas",
        "atlas",
        "alias",
        "bias",
        "gas",
        "pancreas",
        "glasses",
        "sunglasses",
        "eyeglasses",
        "clothes",
        "jeans",
        "pants",
        "trousers",
        "shorts",
        "scissors",
        "pliers",
        "tongs",
        "binoculars",
        "headquarters",
        "barracks",
        "crossroads",
        "gallows",
        "innings",
        "diabetes",
        "rabies",
        "herpes",
        "measles",
        "mumps",
        "billiards",
        "outskirts",
        "surroundings",
        "belongings",
        "tropics",
        "chaos",
        "cosmos",
        "kudos",
        "ethos",
        "pathos",
        "asbestos",
        "thermos",
        "pumice",
        "whereabouts",
        "congratulations",
        "thanks",
        "remains",
        "savings",
        "valuables",
        "odds",
        "goods",
        "riches",
        "suds",
        "dregs",
        "alms",
    }
)
_IRREGULAR = {
    "men": "man",
    "oxen": "ox",
    "lice": "louse",
    "leaves": "leaf",
    "lives": "life",
    "halves": "half",
    "calves": "calf",
    "elves": "elf",
    "selves": "self",
    "loaves": "loaf",
    "thieves": "thief",
    "scarves": "scarf",
    "sheaves": "sheaf",
    "hooves": "hoof",
    "wharves": "wharf",
    "dwarves": "dwarf",
    "axes": "axe",
    "taxis": "taxi",
    "quizzes": "quiz",
    "topazes": "topaz",
    "cacti": "cactus",
    "fungi": "fungus",
    "octopi": "octopus",
    "radii": "radius",
    "nuclei": "nucleus",
    "phenomena": "phenomenon",
    "criteria": "criterion",
    "analyses": "analysis",
    "crises": "crisis",
    "theses": "thesis",
    "oases": "oasis",
    "hypotheses": "hypothesis",
    "diagnoses": "diagnosis",
    "parentheses": "parenthesis",
    "synopses": "synopsis",
    "emphases": "emphasis",
    "ellipses": "ellipse",
}
_IRREGULAR_SUFFIXES = {  # also inside compounds: grandchildren, policewomen, werewolves
    "children": "child",
    "women": "woman",
    "men": "man",
    "teeth": "tooth",
    "feet": "foot",
    "geese": "goose",
    "mice": "mouse",
    "knives": "knife",
    "wolves": "wolf",
    "shelves": "shelf",
    "wives": "wife",
}
_NOT_PLURAL = frozenset(
    {
        "specimen",
        "abdomen",
        "omen",
        "semen",
        "stamen",
        "amen",
        "regimen",
        "acumen",
        "hymen",
        "lumen",
        "albumen",
        "bitumen",
        "rumen",
        "ramen",
        "cyclamen",
        "dolmen",
        "foramen",
        "pumice",
    }
)
_IS_SINGULAR = frozenset(
    {
        "iris",
        "tennis",
        "pelvis",
        "trellis",
        "mantis",
        "ibis",
        "debris",
        "chassis",
        "penis",
        "dermis",
        "epidermis",
        "metropolis",
        "acropolis",
        "necropolis",
        "chrysalis",
        "marquis",
        "clematis",
        "hubris",
        "cannabis",
        "glottis",
        "epiglottis",
        "testis",
        "aegis",
        "portcullis",
        "ambergris",
        "verdigris",
        "amaryllis",
        "syphilis",
        "pubis",
        "clitoris",
    }
)
_IE_NOUNS = frozenset(
    {
        "movie",
        "cookie",
        "selfie",
        "zombie",
        "hippie",
        "brownie",
        "smoothie",
        "pixie",
        "calorie",
        "prairie",
        "rookie",
        "goalie",
        "beanie",
        "hoodie",
        "veggie",
        "magpie",
        "birdie",
        "necktie",
        "bowtie",
        "auntie",
        "sweetie",
        "genie",
        "collie",
        "boogie",
        "foodie",
        "indie",
        "newbie",
        "techie",
        "yuppie",
        "groupie",
        "cutie",
        "pinkie",
        "freebie",
        "talkie",
        "budgie",
        "lassie",
        "bootie",
        "eyrie",
        "oldie",
        "specie",
        "junkie",
        "quickie",
    }
)
_O_ES = frozenset(
    {
        "potato",
        "tomato",
        "hero",
        "echo",
        "volcano",
        "mango",
        "buffalo",
        "mosquito",
        "torpedo",
        "domino",
        "tornado",
        "avocado",
        "cargo",
        "veto",
        "embargo",
        "motto",
        "halo",
        "grotto",
        "flamingo",
        "desperado",
    }
)
_S_ES = frozenset(
    {  # -s nouns whose plural adds -es: "buses" -> "bus", "houses" -> "house"
        "bus",
        "minibus",
        "omnibus",
        "airbus",
        "trolleybus",
        "bonus",
        "virus",
        "cactus",
        "octopus",
        "campus",
        "circus",
        "citrus",
        "walrus",
        "lotus",
        "chorus",
        "genius",
        "fetus",
        "census",
        "status",
        "sinus",
        "apparatus",
        "platypus",
        "hippopotamus",
        "asparagus",
        "hibiscus",
        "eucalyptus",
        "focus",
        "radius",
        "crocus",
        "nimbus",
        "fungus",
        "abacus",
        "callus",
        "discus",
        "prospectus",
        "syllabus",
        "thesaurus",
        "uterus",
        "surplus",
        "stylus",
        "rhombus",
        "canvas",
        "gas",
        "atlas",
        "alias",
        "bias",
        "pancreas",
        "lens",
        "iris",
        "trellis",
        "mantis",
        "ibis",
        "chrysalis",
        "amaryllis",
    }
)
_CHE_NOUNS = frozenset(
    {
        "niche",
        "cache",
        "headache",
        "moustache",
        "mustache",
        "avalanche",
        "cliche",
        "quiche",
        "creche",
        "psyche",
        "brioche",
        "cloche",
        "douche",
        "pastiche",
        "gouache",
        "stomachache",
        "toothache",
        "earache",
        "backache",
        "heartache",
    }
)
