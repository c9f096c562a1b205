"""The embedded default backend: tags a photo offline, on the CPU, with no server at all.

It merges four findings into one result: camera and pixel facts (:mod:`.facts`), what is
in the photo (:mod:`.classifier`), where it was taken (:mod:`.places`) and how many people
face the camera (:mod:`.faces`). Models load lazily and once; ``tag`` is thread-safe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from phototag.config import Settings
from phototag.domain import Health, PreparedImage, TagResult, Tags
from phototag.errors import BackendUnavailable
from phototag.keywords import normalise_keywords
from phototag.taggers.local.classifier import MODEL_ID, Classifier, Label
from phototag.taggers.local.faces import FaceCounter, people_keywords
from phototag.taggers.local.facts import Facts, fact_keywords, read_facts
from phototag.taggers.local.places import Geocoder, Place

BACKEND = "local"
FACES_OVER_LABEL_CONFIDENCE = 0.5  # a detected face outranks a label less sure than this


@dataclass(frozen=True, slots=True)
class Findings:
    """Everything the local tagger learnt about one image."""

    facts: Facts
    labels: tuple[Label, ...] = ()
    place: Place | None = None
    face_count: int = 0


class LocalTagger:
    """Satisfies :class:`phototag.taggers.Tagger`."""

    name = BACKEND

    def __init__(self, *, settings: Settings) -> None:
        self._settings = settings
        self._local = settings.local
        self._classifier = Classifier() if self._local.classifier else None
        self._faces = FaceCounter() if self._local.faces else None
        self._geocoder = Geocoder() if self._local.places else None

    @property
    def model(self) -> str:
        return f"phototag-local/{MODEL_ID if self._classifier else 'facts'}"

    @property
    def prompt_digest(self) -> str:
        return ""  # no prompt: the model and its rules are named by ``model``

    def tag(self, image: PreparedImage) -> TagResult:
        findings = self.find(image)
        return TagResult(
            tags=compose(
                findings,
                max_keywords=self._settings.max_keywords,
                language=self._settings.vlm.language,
            ),
            backend=BACKEND,
            model=self.model,
            notes=notes(findings),
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
            face_count=self._faces.count(image.image) if self._faces else 0,
        )

    def supplement(self, result: TagResult, image: PreparedImage) -> TagResult:
        """Add facts and places (never classifier labels) to another backend's result."""
        place = self._place(image)
        extra = [*(place.keywords if place else ()), *fact_keywords(read_facts(image))]
        tags = result.tags
        keywords = normalise_keywords(
            [*tags.keywords, *extra],
            max_keywords=self._settings.max_keywords,
            language=self._settings.vlm.language,
        )
        hierarchical = _unique([*tags.hierarchical, *([place.hierarchy] if place else [])])
        return replace(result, tags=replace(tags, keywords=keywords, hierarchical=hierarchical))

    def preflight(self) -> Health:
        """Load every enabled model now; ok when all load. Never raises."""
        probes: dict[str, float] = {}
        try:
            for name, part in (
                ("classifier", self._classifier),
                ("faces", self._faces),
                ("places", self._geocoder),
            ):
                if part is not None:
                    started = time.perf_counter()
                    part.load()
                    probes[name] = time.perf_counter() - started
        except BackendUnavailable as exc:
            return Health(
                ok=False,
                reason=str(exc),
                checked_at=time.time(),
                probes_s=probes,
                permanent=exc.permanent,
            )
        except Exception as exc:  # a preflight reports; it never raises
            return Health(
                ok=False,
                reason=f"{type(exc).__name__}: {exc}",
                checked_at=time.time(),
                probes_s=probes,
            )
        return Health(ok=True, checked_at=time.time(), probes_s=probes)

    def close(self) -> None:
        if self._classifier is not None:
            self._classifier.close()

    def _place(self, image: PreparedImage) -> Place | None:
        gps = image.exif.gps
        return self._geocoder.place(*gps) if self._geocoder and gps else None


def compose(findings: Findings, *, max_keywords: int, language: str) -> Tags:
    """One title, caption and keyword list: content first, then people, place, facts."""
    labels = [keyword for label in findings.labels for keyword in label.keywords]
    people = list(people_keywords(findings.face_count))
    raw = [
        *(people + labels if _people_first(findings) else labels + people),
        *(findings.place.keywords if findings.place else ()),
        *fact_keywords(findings.facts),
    ]
    hierarchical = _unique(
        [
            *(label.hierarchy for label in findings.labels),
            *([findings.place.hierarchy] if findings.place else []),
        ]
    )
    caption = caption_of(findings)
    return Tags(
        title=title_of(findings),
        caption=caption,
        description=" ".join(part for part in (caption, details_of(findings.facts)) if part),
        alt_text=caption,
        keywords=normalise_keywords(raw, max_keywords=max_keywords, language=language),
        hierarchical=hierarchical,
    )


def title_of(findings: Findings) -> str:
    """ "Tabby cat in Paris, France"; without content, "Evening in December 2012"."""
    facts = findings.facts
    subject = _subject_noun(findings)
    if subject:
        title = subject[:1].upper() + subject[1:]
        return f"{title} in {findings.place.label}" if findings.place else title
    if findings.place:
        return findings.place.label
    when = " ".join(str(p) for p in (facts.month, facts.year) if p)
    if facts.time_of_day and when:
        return f"{facts.time_of_day.capitalize()} in {when}"
    return when or ("Black-and-white photograph" if facts.tones.monochrome else "Photograph")


def caption_of(findings: Findings) -> str:
    """ "A tabby cat, photographed on a winter evening in December 2012 with a Canon EOS 5D."""
    facts = findings.facts
    subject = _subject_noun(findings)
    if subject and findings.labels and findings.face_count and not _people_first(findings):
        subject = f"{subject} with {_people(findings.face_count)}"
    if not subject:
        subject = "black-and-white photograph" if facts.tones.monochrome else "photograph"
    phrase = f"{_article(subject)} {subject}"
    phrase = phrase[:1].upper() + phrase[1:]
    verb = "taken" if not (findings.labels or findings.face_count) else "photographed"
    when = _when_phrase(facts)
    where = f"in {findings.place.label}" if findings.place else ""
    camera = f"with {_article(facts.camera)} {_camera_noun(facts.camera)}" if facts.camera else ""
    tail = " ".join(p for p in (when, where, camera) if p)
    return f"{phrase}, {verb} {tail}." if tail else f"{phrase}."


def details_of(facts: Facts) -> str:
    """ "Landscape, wide angle with the EF24-70mm f/2.8L II USM; mostly brown and orange."""
    frame = facts.orientation.capitalize()
    if facts.focal_class:
        frame += f", {facts.focal_class}"
    if facts.lens:
        frame += f" with the {facts.lens}"
    tones = []
    if facts.tones.colours and not facts.tones.monochrome:
        tones.append("mostly " + _and(list(facts.tones.colours)))
    if facts.tones.brightness:
        tones.append(facts.tones.brightness)
    return f"{frame}; {', '.join(tones)}." if tones else f"{frame}."


def notes(findings: Findings) -> tuple[str, ...]:
    """What the models said, for the JSONL record."""
    out = [f"label {label.name} {label.confidence:.2f}" for label in findings.labels]
    if findings.face_count:
        out.append(f"faces {findings.face_count}")
    if findings.place:
        out.append(f"place {findings.place.hierarchy}")
    return tuple(out)


def _people_first(findings: Findings) -> bool:
    top = findings.labels[0].confidence if findings.labels else 0.0
    return findings.face_count > 0 and top < FACES_OVER_LABEL_CONFIDENCE


def _camera_noun(camera: str) -> str:
    """ "Nikon D3X" as it is; a make alone ("SpaceX") becomes "SpaceX camera"."""
    return camera if " " in camera else f"{camera} camera"


def _subject_noun(findings: Findings) -> str:
    if findings.labels and not _people_first(findings):
        return findings.labels[0].name
    if findings.face_count == 1:
        return "portrait of one person"
    return f"group of {findings.face_count} people" if findings.face_count > 1 else ""


def _people(count: int) -> str:
    return "one person" if count == 1 else f"{count} people"


def _when_phrase(facts: Facts) -> str:
    if facts.season and facts.time_of_day and facts.time_of_day != "night":
        moment = f"on {_article(facts.season)} {facts.season} {facts.time_of_day}"
    elif facts.time_of_day:
        moment = "at night" if facts.time_of_day == "night" else f"in the {facts.time_of_day}"
    else:
        moment = ""
    date = " ".join(str(p) for p in (facts.month, facts.year) if p)
    return " ".join(p for p in (moment, f"in {date}" if date else "") if p)


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
