"""The embedded default backend: tags a photo offline, on the CPU, with no server at all.

It merges six findings into one result: camera and pixel facts (:mod:`.facts`), what is
in the photo (:mod:`.classifier`, and :mod:`.scene` for sky and vegetation), where it was
taken (:mod:`.places`), who faces the camera (:mod:`.faces`) and who stands in it
(:mod:`.people`). Models load lazily and once;
``tag`` is thread-safe.

The flat keywords say what, where and who. Facts become keywords only for the kinds in
``[local] fact_keywords``, and then only as hierarchical keywords (:mod:`.facts`). The
title names the most specific confident subject, never a bare category or a date; when
nothing is confident enough there is no title, and the notes say why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from phototag.config import LocalSettings, Settings
from phototag.domain import Health, PreparedImage, TagResult, Tags
from phototag.errors import BackendUnavailable
from phototag.keywords import DEFAULT_POLICY, KeywordPolicy, normalise_keywords
from phototag.taggers.local.classifier import MODEL_ID, Classifier, Label
from phototag.taggers.local.faces import FaceCounter
from phototag.taggers.local.facts import FactKind, Facts, fact_hierarchy, read_facts
from phototag.taggers.local.people import (
    DOMINANT_FACE_SHARE,
    FigureDetector,
    People,
    people_keywords,
)
from phototag.taggers.local.places import Geocoder, Place
from phototag.taggers.local.scene import scene_keywords

BACKEND = "local"
FACES_OVER_LABEL_CONFIDENCE = 0.5  # a person outranks a label less sure than this
DEFAULT_TITLE_MIN_CONFIDENCE = 0.45
SCENE_HIERARCHY = {"sky": "Nature|Sky", "nature": "Nature"}
# Label names said without an article: mass nouns and plural-only names.
_NO_ARTICLE = frozenset(
    {
        "architecture",
        "food",
        "clothing",
        "furniture",
        "tableware",
        "electronics",
        "sport",
        "wine",
        "red wine",
        "coffee",
        "espresso",
        "eggnog",
        "hay",
        "corn",
        "rapeseed",
        "guacamole",
        "ice cream",
        "chocolate sauce",
        "mashed potato",
        "broccoli",
        "cauliflower",
        "jeans",
        "sunglasses",
        "swimming trunks",
    }
)


@dataclass(frozen=True, slots=True)
class Findings:
    """Everything the local tagger learnt about one image."""

    facts: Facts
    labels: tuple[Label, ...] = ()
    place: Place | None = None
    people: People = field(default_factory=People)
    scene: tuple[str, ...] = ()  # "sky", "nature": the pixel layer (:mod:`.scene`)


@dataclass(frozen=True, slots=True)
class Style:
    """How findings are written: the settings :func:`compose` needs."""

    max_keywords: int
    language: str = "English"
    policy: KeywordPolicy = DEFAULT_POLICY
    fact_kinds: frozenset[FactKind] = frozenset()
    title_min_confidence: float = DEFAULT_TITLE_MIN_CONFIDENCE

    @classmethod
    def of(cls, settings: Settings) -> Style:
        return cls(
            max_keywords=settings.max_keywords,
            language=settings.vlm.language,
            policy=settings.keyword_policy,
            fact_kinds=frozenset(FactKind(kind) for kind in settings.local.fact_keywords),
            title_min_confidence=settings.local.title_min_confidence,
        )


class LocalTagger:
    """Satisfies :class:`phototag.taggers.Tagger`."""

    name = BACKEND

    def __init__(self, *, local: LocalSettings, style: Style) -> None:
        """``local``: which parts run; ``style``: how their findings are written."""
        self._style = style
        self._local = local
        self._classifier = Classifier() if self._local.classifier else None
        self._faces = FaceCounter() if self._local.faces else None
        self._figures = FigureDetector() if self._local.figures else None
        self._geocoder = Geocoder() if self._local.places else None

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalTagger:
        return cls(local=settings.local, style=Style.of(settings))

    @property
    def model(self) -> str:
        return f"phototag-local/{MODEL_ID if self._classifier else 'facts'}"

    @property
    def prompt_digest(self) -> str:
        return ""  # no prompt: the model and its rules are named by ``model``

    def tag(self, image: PreparedImage) -> TagResult:
        findings = self.find(image)
        style = self._style
        return TagResult(
            tags=compose(findings, style=style),
            backend=BACKEND,
            model=self.model,
            notes=notes(findings, style=style),
        )

    def find(self, image: PreparedImage) -> Findings:
        labels = (
            self._classifier.labels(
                image.image, top_k=self._local.top_k, min_confidence=self._local.min_confidence
            )
            if self._classifier
            else ()
        )
        return Findings(
            facts=read_facts(image),
            labels=labels,
            place=self._place(image),
            people=self._people(image, labels),
            scene=scene_keywords(image.image) if self._classifier else (),
        )

    def supplement(self, result: TagResult, image: PreparedImage) -> TagResult:
        """Add the place and the switched-on facts (never classifier labels) to another
        backend's result."""
        place = self._place(image)
        style = self._style
        tags = result.tags
        keywords = normalise_keywords(
            [*tags.keywords, *(place.keywords if place else ())],
            max_keywords=style.max_keywords,
            language=style.language,
            policy=style.policy,
        )
        hierarchical = _unique(
            [
                *tags.hierarchical,
                *([place.hierarchy] if place else []),
                *fact_hierarchy(
                    # the colours are named only for their keywords here (no description)
                    read_facts(image, colours=FactKind.COLOUR in style.fact_kinds),
                    kinds=style.fact_kinds,
                ),
            ]
        )
        return replace(result, tags=replace(tags, keywords=keywords, hierarchical=hierarchical))

    def preflight(self) -> Health:
        """Load every enabled model now, and find the places table (read on the first photo
        with GPS: 0.2 s of CPU a start otherwise spent on photos that have none); ok when all
        are there. Never raises."""
        probes: dict[str, float] = {}
        checks = (
            ("classifier", self._classifier.load if self._classifier else None),
            ("faces", self._faces.load if self._faces else None),
            ("figures", self._figures.load if self._figures else None),
            ("places", self._geocoder.check if self._geocoder else None),
        )
        try:
            for name, check in checks:
                if check is not None:
                    started = time.perf_counter()
                    check()
                    probes[name] = time.perf_counter() - started
        except BackendUnavailable as exc:
            return Health.failed(str(exc), probes_s=probes, permanent=exc.permanent)
        except Exception as exc:  # a preflight reports; it never raises
            return Health.failed(f"{type(exc).__name__}: {exc}", probes_s=probes)
        return Health(ok=True, checked_at=time.time(), probes_s=probes)

    def close(self) -> None:
        if self._classifier is not None:
            self._classifier.close()

    def _place(self, image: PreparedImage) -> Place | None:
        gps = image.exif.gps
        return self._geocoder.place(*gps) if self._geocoder and gps else None

    def _people(self, image: PreparedImage, labels: tuple[Label, ...]) -> People:
        faces = self._faces.widths(image.image) if self._faces else ()
        # The figure detector is for people a face cascade cannot see (from the side, from
        # behind, far away). It runs only when no face was found and no label is sure
        # enough to outrank people anyway: it costs about a fifth of a photo's tagging.
        top = labels[0].confidence if labels else 0.0
        wanted = self._figures is not None and not faces and top < FACES_OVER_LABEL_CONFIDENCE
        figures = self._figures.heights(image.image) if self._figures and wanted else ()
        # A portrait needs its sitter's face: one standing figure is often one of several
        # (the detector misses people who overlap or turn), so figures never make one.
        dominant = len(faces) == 1 and faces[0] >= DOMINANT_FACE_SHARE
        return People(faces=len(faces), figures=len(figures), dominant=dominant)


def compose(findings: Findings, *, style: Style) -> Tags:
    """One title, caption and keyword list: content first (or people, when they outrank
    the labels), then the place; facts only as switched-on hierarchical keywords."""
    people = list(people_keywords(findings.people))
    labels = [keyword for label in findings.labels for keyword in label.keywords]
    if "portrait" in people:  # one dominant person: never "landscape" beside "portrait"
        labels = [keyword for keyword in labels if keyword != "landscape"]
    raw = [
        *(people + labels if _people_first(findings) else labels + people),
        *findings.scene,
        *(findings.place.keywords if findings.place else ()),
    ]
    hierarchical = _unique(
        [
            *(label.hierarchy for label in findings.labels),
            *(SCENE_HIERARCHY[word] for word in findings.scene),
            *([findings.place.hierarchy] if findings.place else []),
            *fact_hierarchy(findings.facts, kinds=style.fact_kinds),
        ]
    )
    caption = caption_of(findings, style=style)
    return Tags(
        title=title_of(findings, style=style),
        caption=caption,
        description=" ".join(part for part in (caption, details_of(findings.facts)) if part),
        alt_text=caption,
        keywords=normalise_keywords(
            raw, max_keywords=style.max_keywords, language=style.language, policy=style.policy
        ),
        hierarchical=hierarchical,
    )


def title_of(findings: Findings, *, style: Style) -> str:
    """ "Tabby cat in Paris, France"; "Paris, France" with no confident subject; else ""."""
    subject = _subject_noun(findings, style=style)
    if subject:
        title = subject[:1].upper() + subject[1:]
        return f"{title} in {findings.place.label}" if findings.place else title
    return findings.place.label if findings.place else ""


def no_title_reason(findings: Findings, *, style: Style) -> str | None:
    """Why :func:`title_of` wrote nothing, for the notes; None when it wrote a title."""
    if title_of(findings, style=style):
        return None
    best = next((label for label in findings.labels if not label.generic), None)
    if best is None:
        return "no title: nothing specific was recognised"
    return (
        f"no title: {best.name} {best.confidence:.2f} is below "
        f"title_min_confidence {style.title_min_confidence:.2f}"
    )


def caption_of(findings: Findings, *, style: Style) -> str:
    """One sentence: "A tabby cat in Paris, France, photographed on a winter evening in
    December 2012." Without a confident subject, the best generic one ("A photograph of a
    landscape") or just "A photograph"."""
    subject = _subject_noun(findings, style=style)
    if subject and findings.people.count and not _people_first(findings):
        subject = f"{_with_article(subject)} with {_people(findings.people.count)}"
    elif subject:
        subject = _with_article(subject)
    else:
        generic = next((label.name for label in findings.labels), "")
        subject = f"a photograph of {_with_article(generic)}" if generic else "a photograph"
    phrase = subject[:1].upper() + subject[1:]
    where = f" in {findings.place.label}," if findings.place else ""
    when = _when_phrase(findings.facts)
    if when:
        return f"{phrase}{where if where else ','} photographed {when}."
    return f"{phrase}{where.rstrip(',')}."


def details_of(facts: Facts) -> str:
    """ "Horizontal frame, wide angle with the EF24-70mm f/2.8L II USM, taken with a Canon
    EOS 5D Mark III; mostly brown and orange." Orientation is said as a frame, never as
    "landscape" or "portrait", which are genres."""
    frame = {"landscape": "Horizontal", "portrait": "Vertical"}.get(facts.orientation, "Square")
    frame += " frame"
    if facts.focal_class:
        frame += f", {facts.focal_class}"
    if facts.lens:
        frame += f" with the {facts.lens}"
    if facts.camera:
        frame += f", taken with {_with_article(_camera_noun(facts.camera))}"
    tones = []
    if facts.tones.monochrome:
        tones.append("black and white")
    elif facts.tones.colours:
        tones.append("mostly " + _and(list(facts.tones.colours)))
    if facts.tones.brightness:
        tones.append(facts.tones.brightness)
    return f"{frame}; {', '.join(tones)}." if tones else f"{frame}."


def notes(findings: Findings, *, style: Style) -> tuple[str, ...]:
    """What the models said, for the JSONL record."""
    out = [f"label {label.name} {label.confidence:.2f}" for label in findings.labels]
    if findings.people.faces:
        out.append(f"faces {findings.people.faces}")
    if findings.people.figures:
        out.append(f"figures {findings.people.figures}")
    if findings.place:
        out.append(f"place {findings.place.hierarchy}")
    reason = no_title_reason(findings, style=style)
    return (*out, reason) if reason else tuple(out)


def _people_first(findings: Findings) -> bool:
    top = findings.labels[0].confidence if findings.labels else 0.0
    return findings.people.count > 0 and top < FACES_OVER_LABEL_CONFIDENCE


def _camera_noun(camera: str) -> str:
    """ "Nikon D3X" as it is; a make alone ("SpaceX") becomes "SpaceX camera"."""
    return camera if " " in camera else f"{camera} camera"


def _subject_noun(findings: Findings, *, style: Style) -> str:
    """The most specific confident subject: the first label that is not a bare category
    and reaches ``title_min_confidence``, or else its group that does ("cat" when the
    model splits a cat between tabby and Egyptian Mau); people when they outrank them."""
    if not _people_first(findings):
        bar = style.title_min_confidence
        for label in findings.labels:
            if not label.generic and label.confidence >= bar:
                return label.name
            if label.group and label.group_confidence >= bar:
                return label.group
    count = findings.people.count
    if count == 1:
        return "portrait" if findings.people.dominant else "person"
    return f"group of {count} people" if count > 1 else ""


def _people(count: int) -> str:
    return "one person" if count == 1 else f"{count} people"


def _when_phrase(facts: Facts) -> str:
    if facts.season and facts.time_of_day and facts.time_of_day != "night":
        moment = f"on {_with_article(facts.season)} {facts.time_of_day}"
    elif facts.time_of_day:
        moment = "at night" if facts.time_of_day == "night" else f"in the {facts.time_of_day}"
    else:
        moment = ""
    date = " ".join(str(p) for p in (facts.month, facts.year) if p)
    return " ".join(p for p in (moment, f"in {date}" if date else "") if p)


def _with_article(noun: str) -> str:
    """ "a cat", "an owl", "architecture" (a mass noun), "a group of 3 people"."""
    if noun.casefold() in _NO_ARTICLE or noun.startswith(("a ", "an ")):
        return noun
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
