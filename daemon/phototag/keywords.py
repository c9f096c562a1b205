"""Keyword normalisation: what a tagger said, made fit to write into a photo.

One keyword goes through, in order:

1. Unicode NFC; control characters removed (C0, C1, zero-width and bidi marks, lone
   surrogates), line breaks and tabs turned into spaces, inner whitespace collapsed.
2. Surrounding quotes and stray punctuation stripped ("'sunset.'" -> "sunset", "#beach" ->
   "beach"); inner hyphens, apostrophes and ampersands stay ("rock'n'roll", "R&B"), and a
   bracket stays when its partner is inside ("tree (oak)").
3. Case is kept as the tagger gave it: capitals carry what no rule can recover without a
   gazetteer - names ("Paris", "Los Angeles"), acronyms ("NASA"), brands ("iPhone"). The
   one exception (English only) is a sentence-start artefact: when a list of three or more
   opens with a keyword capitalised on its first letter only ("Trees", "Black cat") and
   every other keyword starts in lower case, that first letter is lower-cased. A capital
   anywhere else - later in the list, inside a word, on a second word - is deliberate and
   kept. The cost: a lone name opening an otherwise lower-case list ("Paris, sky, river")
   is lower-cased too; a list with a second capitalised entry ("Paris, France, river") is
   not touched.
4. English only: an all-lower-case last word is made singular (:func:`singular`,
   "apple trees" -> "apple tree"). A word with any capital is never touched ("Athens",
   "Los Angeles", "Mercedes", "Trees"), nor is any keyword in another language.
5. Empty words (:data:`STOP_WORDS`: "photo", "image", "stock photo", ...) are dropped.
6. IPTC allows 64 bytes a keyword: a longer one is cut at a word boundary (never inside a
   UTF-8 character) and loses a dangling "and"/"of"/...; one that cannot be cut at a word
   boundary is a run-on token (a hash, a URL) and is dropped.

A list is then de-duplicated ignoring case (the first spelling wins) and cut to
``max_keywords``. Nothing is dropped for being part of another keyword ("cat" and
"catamaran" both stay). :func:`normalise_keywords` also splits items on commas, semicolons
and line breaks, which every photo manager treats as keyword separators.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

IPTC_KEYWORD_MAX_BYTES = 64
ENGLISH = frozenset({"english", "en", "en-us", "en-gb", "en_us", "en_gb"})

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
    }
)

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
    raw: Iterable[str], *, max_keywords: int, language: str = "English"
) -> tuple[str, ...]:
    """The tagger's keywords, cleaned, de-duplicated (case-insensitive) and cut to a count."""
    items = [_clean(part) for item in raw for part in _SEPARATORS.split(item)]
    items = [item for item in items if item]
    if _is_english(language) and _sentence_start(items):
        items[0] = items[0][0].lower() + items[0][1:]
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if len(out) >= max_keywords:
            break
        keyword = _finish(item, language=language)
        if keyword is not None and keyword.casefold() not in seen:
            seen.add(keyword.casefold())
            out.append(keyword)
    return tuple(out)


def normalise_keyword(raw: str, *, language: str = "English") -> str | None:
    """One keyword cleaned as described in the module docstring; None means drop it."""
    return _finish(_clean(raw), language=language)


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


def _finish(text: str, *, language: str) -> str | None:
    if _is_english(language):
        text = _singular_last(text)
    if not text or text.casefold() in STOP_WORDS:
        return None
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
