"""Tag quality of the embedded default on real photographs (not a test).

    .venv/bin/python bench/bench_quality.py [--verbose] [--save-before REV] [--write-results]

Runs what a daemon worker runs per photo (``imaging.prepare`` with the default edge, then
``LocalTagger.tag`` with default settings) over ``bench/quality/photos`` and scores the
result against ``bench/quality/truth.toml``, which was written by looking at each photo.

Matching rule: a keyword and a truth term are compared word by word after lower-casing and
making each word singular; the keyword matches when it equals the term or ends with it as
whole words ("red fox" matches "fox"), since a more specific kind of a true thing is true.

- A keyword that matches a truth term is content. Any other is a *fact* when it restates
  EXIF or pixel statistics: a year, month, season, time of day, colour or tone word,
  focal-length class, orientation word "square", any ``Camera|``/``Date|``/``Colour|``
  branch, or a word of the photo's make, model or lens.
  "landscape" and "portrait" are not facts: they are judged as genre words (right only
  when the truth's ``genre`` lists them).
- *Content precision*: content keywords (all that are not facts) matching any of the
  photo's subject, vague or other truth terms, over all content keywords. A place name
  from the photo's GPS position (its ``Places|`` hierarchy) counts as right.
- *Main subject*: named when a keyword matches a subject term; else vaguely named when one
  matches a vague term; else missed.
- *Title*: right when it names a subject term; vague when it names only a vague or
  secondary truth term, or is generic (a date, "Photograph"); wrong otherwise; "none"
  when no title was written.

``--save-before REV`` stores the figures in ``bench/quality/before.json`` under that name (run
it on the code before a change, e.g. with ``PYTHONPATH`` at main's ``daemon/`` extracted by
``git archive``); ``--write-results`` puts three columns into bench/RESULTS.md: the code
issue 16 was filed against (``bench/quality/original.json``, 98f623d), before, and now.
"""

from __future__ import annotations

import argparse
import json
import re
import time
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from phototag.config import Settings
from phototag.domain import PreparedImage, TagResult
from phototag.keywords import singular
from phototag.processing.imaging import prepare
from phototag.taggers.local.facts import MONTHS as FACT_MONTHS
from phototag.taggers.local.tagger import LocalTagger

HERE = Path(__file__).resolve().parent
PHOTOS = HERE / "quality" / "photos"
TRUTH = HERE / "quality" / "truth.toml"
BEFORE = HERE / "quality" / "before.json"
ORIGINAL = HERE / "quality" / "original.json"  # main at 98f623d, when issue 16 was filed
RESULTS = HERE / "RESULTS.md"
SECTION = "## 9. Tag quality on real photos"

MONTHS = {m.lower() for m in FACT_MONTHS}  # the names facts.py writes
FACT_WORDS = {
    *MONTHS,
    "winter",
    "spring",
    "summer",
    "autumn",
    "morning",
    "afternoon",
    "evening",
    "night",
    "colour",
    "color",
    "monochrome",
    "black and white",
    "black-and-white",
    "bright",
    "dark",
    "wide angle",
    "normal lens",
    "telephoto",
    "square",
    *[
        "red",
        "orange",
        "yellow",
        "green",
        "blue",
        "purple",
        "pink",
        "brown",
        "black",
        "white",
        "grey",
        "gray",
    ],
}
FACT_BRANCHES = ("camera|", "date|", "colour|", "lens|")
GENRE_WORDS = {"landscape", "portrait"}
GENERIC_TITLES = re.compile(
    r"^(black-and-white )?photograph$|\b(19|20)\d\d\b|^(morning|afternoon|evening|night)\b",
    re.IGNORECASE,
)


class Subject(StrEnum):
    NAMED = "named"
    VAGUE = "vague"
    MISSED = "missed"


class Title(StrEnum):
    RIGHT = "right"
    VAGUE = "vague"
    WRONG = "wrong"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Truth:
    subject: tuple[str, ...]
    vague: tuple[str, ...]
    also: tuple[str, ...]
    genre: tuple[str, ...]

    @property
    def true_terms(self) -> tuple[str, ...]:
        return (*self.subject, *self.vague, *self.also)


@dataclass(slots=True)
class PhotoScore:
    name: str
    title: str
    keywords: list[str]
    facts: list[str] = field(default_factory=list)
    right: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    subject: Subject = Subject.MISSED
    title_score: Title = Title.NONE


def norm(text: str) -> tuple[str, ...]:
    return tuple(singular(word) for word in text.casefold().replace("-", " ").split())


def matches(keyword: str, term: str) -> bool:
    """Equal, or the keyword ends with the term as whole words."""
    k, t = norm(keyword), norm(term)
    return bool(t) and len(k) >= len(t) and k[len(k) - len(t) :] == t


def names(text: str, term: str) -> bool:
    """Whether ``text`` (a title) names ``term`` anywhere as whole words."""
    k, t = norm(text), norm(term)
    return bool(t) and any(k[i : i + len(t)] == t for i in range(len(k) - len(t) + 1))


def is_fact(keyword: str, image: PreparedImage) -> bool:
    low = keyword.casefold()
    if low in FACT_WORDS or low.startswith(FACT_BRANCHES) or re.fullmatch(r"\d{4}", low):
        return True
    exif = image.exif
    camera_words = {
        w.casefold() for part in (exif.make, exif.model, exif.lens) if part for w in part.split()
    }
    return bool(camera_words) and all(w in camera_words for w in low.split())


def score(name: str, result: TagResult, image: PreparedImage, truth: Truth) -> PhotoScore:
    tags = result.tags
    out = PhotoScore(name=name, title=tags.title, keywords=list(tags.keywords))
    places = {p for h in tags.hierarchical if h.startswith("Places|") for p in h.split("|")[1:]}
    for keyword in tags.keywords:
        if keyword in places:  # the GPS position is the truth of where
            out.right.append(keyword)
        elif keyword.casefold() in GENRE_WORDS:
            (out.right if keyword.casefold() in truth.genre else out.wrong).append(keyword)
        elif any(matches(keyword, term) for term in truth.true_terms):
            out.right.append(keyword)  # "orange" the fruit is content, not a colour
        elif is_fact(keyword, image):
            out.facts.append(keyword)
        else:
            out.wrong.append(keyword)
    if any(matches(k, t) for k in tags.keywords for t in truth.subject):
        out.subject = Subject.NAMED
    elif any(matches(k, t) for k in tags.keywords for t in truth.vague):
        out.subject = Subject.VAGUE
    out.title_score = title_score(tags.title, truth)
    return out


def title_score(title: str, truth: Truth) -> Title:
    if not title.strip():
        return Title.NONE
    if any(names(title, t) for t in truth.subject):
        return Title.RIGHT
    if GENERIC_TITLES.search(title) or any(names(title, t) for t in (*truth.vague, *truth.also)):
        return Title.VAGUE
    return Title.WRONG


def load_truth() -> dict[str, Truth]:
    raw = tomllib.loads(TRUTH.read_text(encoding="utf-8"))["photo"]
    return {
        name: Truth(
            subject=tuple(entry["subject"]),
            vague=tuple(entry.get("vague", ())),
            also=tuple(entry.get("also", ())),
            genre=tuple(entry.get("genre", ())),
        )
        for name, entry in raw.items()
    }


def figures(scores: list[PhotoScore], *, seconds: float) -> dict[str, float | int]:
    n = len(scores)
    content = sum(len(s.right) + len(s.wrong) for s in scores)
    keywords = sum(len(s.keywords) for s in scores)
    titles = {t: sum(s.title_score == t for s in scores) for t in Title}
    return {
        "photos": n,
        "keywords": keywords,
        "keywords_per_photo": round(keywords / n, 1),
        "content_precision": round(sum(len(s.right) for s in scores) / max(content, 1), 3),
        "subject_named": round(sum(s.subject == Subject.NAMED for s in scores) / n, 3),
        "subject_named_or_vague": round(sum(s.subject != Subject.MISSED for s in scores) / n, 3),
        "fact_share": round(sum(len(s.facts) for s in scores) / max(keywords, 1), 3),
        "no_content_keyword": sum(
            not any(k.casefold() not in GENRE_WORDS for k in (*s.right, *s.wrong)) for s in scores
        ),
        "landscape_or_portrait_wrong": sum(
            k.casefold() in GENRE_WORDS for s in scores for k in s.wrong
        ),
        **{f"titles_{t.value}": titles[t] for t in Title},
        "titles_wrong_share": round(titles[Title.WRONG] / n, 3),
        "seconds_per_photo": round(seconds / n, 3),
    }


ROWS = (
    ("content precision (target >= 0.85)", "content_precision"),
    ("main subject named or vaguely named (target >= 0.80)", "subject_named_or_vague"),
    ("main subject named (target >= 0.50)", "subject_named"),
    ("fact share of keywords (target <= 0.20)", "fact_share"),
    ("titles right", "titles_right"),
    ("titles vague", "titles_vague"),
    ("titles wrong", "titles_wrong"),
    ("wrong titles share (target <= 0.10)", "titles_wrong_share"),
    ("no title (reason in the notes)", "titles_none"),
    ('"landscape"/"portrait" written wrongly', "landscape_or_portrait_wrong"),
    ("photos with no content keyword", "no_content_keyword"),
    ("keywords per photo", "keywords_per_photo"),
)


def section(
    original: dict[str, float | int] | None,
    before: dict[str, float | int | str] | None,
    now: dict[str, float | int],
) -> str:
    label = f"before (main, {before.get('code', '?')})" if before else "before"
    lines = [
        SECTION,
        "",
        f"`bench/bench_quality.py`, {now['photos']} photographs from Debian and PyPI packages "
        "(bench/quality/SOURCES.md), truth written by looking at each "
        "(bench/quality/truth.toml), default settings. Matching rule in the script's "
        "docstring. Run " + time.strftime("%Y-%m-%d", time.gmtime()) + ".",
        "",
        f"| figure | issue filed (main, 98f623d) | {label} | now |",
        "| --- | --- | --- | --- |",
    ]
    for text, key in ROWS:
        first = original.get(key, "") if original else ""
        old = before.get(key, "") if before else ""
        lines.append(f"| {text} | {first} | {old} | {now[key]} |")
    return "\n".join(lines) + "\n"


def write_results(text: str) -> None:
    current = RESULTS.read_text(encoding="utf-8")
    start = current.find(SECTION)
    if start < 0:
        anchor = current.find("\n## local (")
        anchor = anchor + 1 if anchor >= 0 else len(current)
        current = current[:anchor] + text + "\n" + current[anchor:]
    else:
        end = current.find("\n## ", start + len(SECTION))
        current = current[:start] + text + ("\n" + current[end + 1 :] if end >= 0 else "")
    RESULTS.write_text(current, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print each photo's tags")
    parser.add_argument("--save-before", metavar="REV", help="store as the code before")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    tagger = LocalTagger.from_settings(settings)
    tagger.preflight()
    truth = load_truth()
    scores = []
    started = time.perf_counter()
    for name in sorted(truth):
        image = prepare(
            PHOTOS / f"{name}.jpg",
            max_edge_px=settings.max_edge_px,
            max_pixels=settings.max_image_pixels,
        )
        result = tagger.tag(image)
        scores.append(score(name, result, image, truth[name]))
        if args.verbose:
            s = scores[-1]
            print(f"{name}: [{s.subject}/{s.title_score}] {s.title!r}")
            print(f"    right {s.right}  wrong {s.wrong}  facts {s.facts}")
            print(f"    caption {result.tags.caption!r}")
            print(f"    notes {list(result.notes)}")
    now = figures(scores, seconds=time.perf_counter() - started)
    tagger.close()
    print(json.dumps(now, indent=1))
    if args.save_before:
        saved = {"code": args.save_before, **now}
        BEFORE.write_text(json.dumps(saved, indent=1) + "\n", encoding="utf-8")
    if args.write_results:
        original, before = (
            json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
            for path in (ORIGINAL, BEFORE)
        )
        write_results(section(original, before, now))


if __name__ == "__main__":
    main()
