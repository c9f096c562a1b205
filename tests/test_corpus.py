"""Every layout of the real-world corpus (tests/data/corpus) through a photo's life with
phototag: tag, re-tag, a person's edit, re-tag again, undo (issue 14 point 8).

The real daemon runs over all fixtures in one folder, once per step, against the fake VLM;
exiftool reads every photo (and sidecar) between steps. At each step the exiftool diff may
show only what phototag may touch (``corpus_support``), and the person's title, caption,
keywords, rating, creator, copyright and dates, as MWG readers show them, stay theirs.

A step that is still wrong for a fixture is a strict xfail (``WAITS``) saying what is
wrong, so it flips to a failure-to-remove as soon as it is fixed.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from batch_support import Batch, backdate, vlm_env
from conftest import exiftool_edit
from corpus_support import (
    SIDECAR,
    Diff,
    State,
    diff,
    layout_only,
    phototag_may_touch,
    read_states,
    same_value,
    sidecar_of,
    undo_may_leave,
)
from daemon_harness import wait_for
from fakevlm import FakeVLM, Recorded, tags_json
from phototag.metadata.exiftool import ExifTool
from phototag.metadata.sidecar import needs_sidecar

CORPUS = Path(__file__).parent / "data" / "corpus"
PHOTOS = sorted(
    p.name for p in CORPUS.iterdir() if p.suffix not in (".py", ".md", ".xmp") and p.is_file()
)

FIRST = ["cat", "tabby", "fur", "Katze"]  # "Katze" is already the person's in some photos
SECOND = ["cat", "sofa", "indoor"]  # the re-tag drops tabby, fur and Katze
REMOVED, ADDED = "cat", "Chelsea"  # the person's edit: drop one of phototag's, add their own

# What the photo's person sees, as MWG readers (exiftool -use MWG) show it.
PERSON_VIEW = (
    "MWG:Keywords",
    "MWG:Description",
    "MWG:Creator",
    "MWG:Copyright",
    "MWG:Rating",
    "MWG:DateTimeOriginal",
    "MWG:City",
    "MWG:State",
    "MWG:Country",
    "MWG:Location",
)
TITLE_TAGS = ("XMP-dc:Title", "IPTC:ObjectName", "IFD0:XPTitle")


@dataclass
class Lifecycle:
    photos: list[Path]
    states: dict[str, dict[Path, State]] = field(default_factory=dict)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # new per step
    requests: dict[str, int] = field(default_factory=dict)  # tagging requests per step
    notes: dict[str, str] = field(default_factory=dict)  # phototagd/tagctl output per step
    pixels: dict[str, dict[Path, str]] = field(default_factory=dict)  # digest per step
    shown: dict[str, dict[Path, dict[str, Any]]] = field(default_factory=dict)  # tagctl show


@pytest.fixture(scope="module")
def life(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    root = tmp_path_factory.mktemp("corpus")
    inbox = root / "inbox"
    inbox.mkdir()
    for name in (*PHOTOS, *(p.name for p in CORPUS.glob("*.xmp"))):
        shutil.copy2(CORPUS / name, inbox / name)
    photos = [inbox / name for name in PHOTOS]
    backdate(*inbox.iterdir())
    life = Lifecycle(photos=photos)
    with FakeVLM() as fake:
        batch = Batch(home=root / "home", roots=[inbox], env=vlm_env(fake))
        seen = 0

        def step(name: str, *, show: bool = False) -> None:
            nonlocal seen
            life.states[name] = read_states(photos)
            if show:
                out = batch.tagctl("show", "--json", *map(str, photos))
                life.notes[f"show {name}"] = out.stderr
                life.shown[name] = {Path(r["path"]): r for r in json.loads(out.stdout)}
            life.pixels[name] = {photo: image_digest(photo) for photo in photos}
            records = batch.jsonl()
            life.records[name], seen = records[seen:], len(records)
            # tagging requests only: each daemon start also sends the preflight's text and
            # vision probes (taggers.vlm.tagger), whatever the photos
            life.requests[name] = sum(
                fake.default_answer(r) == tags_json() for r in fake.chat_requests
            )
            fake.clear()

        step("before", show=True)
        fake.answerer = tagging(fake, keywords=FIRST)
        run = batch.once(timeout_s=60)
        life.notes["tag"] = run.stdout + run.stderr
        step("tag", show=True)

        fake.answerer = tagging(fake, title="A grey cat", keywords=SECOND)
        life.notes["retag"] = retag(batch, inbox)
        step("retag")

        for photo in photos:
            person_edits(photo)
        backdate(*inbox.iterdir())
        step("edit", show=True)  # what the person's tool made of it
        run = batch.once(timeout_s=60)
        life.notes["after-edit"] = run.stdout + run.stderr
        step("after-edit")

        life.notes["retag-after-edit"] = retag(batch, inbox)
        step("retag-after-edit")

        undo = batch.tagctl("undo", "--json", str(inbox))
        life.notes["undo"] = undo.stdout + undo.stderr
        step("undo")
    yield life


def image_digest(photo: Path) -> str:
    """The decoded pixels' digest; a RAW or HEIC, which phototag never writes, by its bytes."""
    if needs_sidecar(photo):
        return hashlib.sha256(photo.read_bytes()).hexdigest()
    with Image.open(photo) as im:
        return hashlib.sha256(im.tobytes()).hexdigest()


def tagging(fake: FakeVLM, **answer: Any) -> Callable[[Recorded], str]:
    """The model's answer to a tagging request; probes get the fake's usual answers."""

    def reply(request: Recorded) -> str:
        usual = fake.default_answer(request)
        return tags_json(**answer) if usual == tags_json() else usual

    return reply


def retag(batch: Batch, inbox: Path) -> str:
    """``tagctl retag`` the folder in a running daemon and wait until all are done."""
    batch.start()
    try:
        before = len(batch.jsonl())
        out = batch.tagctl("retag", "--json", str(inbox))
        queued = json.loads(out.stdout)["queued"] if out.returncode == 0 else 0

        def settled() -> bool:
            status = batch.status()
            idle = status.get("queue_depth", 1) == 0 and status.get("in_flight", 1) == 0
            return idle and len(batch.jsonl()) >= before + queued

        wait_for(settled, timeout_s=120, what=f"{queued} re-tags", log=batch.log_path)
    finally:
        assert batch.stop() == 0
    return out.stdout + out.stderr


def person_edits(photo: Path) -> None:
    """The person, in another tool, removes one of phototag's keywords and adds their own,
    where their tool writes keywords: the sidecar if there is one, else the photo (MWG
    keywords: XMP, and IPTC where the photo has IPTC)."""
    target = sidecar_of(photo) if sidecar_of(photo).exists() else photo
    out = _MWG_EDITOR.execute(
        "-overwrite_original",
        "-m",
        "-use",
        "MWG",
        f"-MWG:Keywords-={REMOVED}",
        f"-MWG:Keywords+={ADDED}",
        str(target),
    )
    assert not out.errors, out.errors


# The person's tool, which edits through MWG: an exiftool of its own (33 Perl starts cost 12
# CPU-s), not the test process's shared reader, where the MWG module, once loaded, would
# add MWG composite tags to every later read of every test in this process.
_MWG_EDITOR = ExifTool(config=False)
atexit.register(_MWG_EDITOR.close)


# --- what the person sees ---


def person_view(state: State) -> dict[str, Any]:
    """The person's values as MWG readers show them; a field the sidecar has is read from
    the sidecar (as digiKam, darktable and Lightroom do), any other from the photo."""
    view: dict[str, Any] = {}
    for tag in PERSON_VIEW:
        value = state.get(SIDECAR + tag, state.get(tag))
        if value is not None:
            view[tag] = value
    titles = [state.get(p + t) for p in (SIDECAR, "") for t in TITLE_TAGS]
    title = next((t for t in titles if t is not None), None)
    if title is not None:
        view["title"] = title
    return view


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def keywords(state: State) -> list[str]:
    return as_list(person_view(state).get("MWG:Keywords"))


def lost_values(before: State, after: State, *, added: tuple[str, ...] = ()) -> dict[str, Any]:
    """The person's values from ``before`` that ``after`` no longer shows as they were:
    keywords must all still be there (``added`` are the person's own additions since);
    every other field must be exactly the same text."""
    was, now = person_view(before), person_view(after)
    lost: dict[str, Any] = {}
    for tag, value in was.items():
        if tag == "MWG:Keywords":
            missing = [k for k in as_list(value) if k not in as_list(now.get(tag))]
            if missing:
                lost[tag] = missing
        elif not same_value(value, now.get(tag)):
            lost[tag] = (value, now.get(tag))
    return lost


def records_for(life: Lifecycle, step: str, photo: Path) -> list[dict[str, Any]]:
    return [r for r in life.records[step] if r["path"] == str(photo)]


def photo_at(life: Lifecycle, name: str) -> Path:
    return next(p for p in life.photos if p.name == name)


# --- which steps are still wrong ---

WAITS: dict[tuple[str, str], str] = {}


def cases(step: str) -> list[Any]:
    def marks(name: str) -> list[pytest.MarkDecorator]:
        reason = WAITS.get((step, name)) or WAITS.get((step, "*"))
        return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []

    return [pytest.param(name, marks=marks(name), id=name) for name in PHOTOS]


def check_step(life: Lifecycle, name: str, *, since: str, step: str, person: str) -> Diff:
    """The diff of ``step`` against ``since`` outside what phototag may touch; and no value
    the person had at ``person`` lost."""
    photo = photo_at(life, name)
    before, after = life.states[since][photo], life.states[step][photo]
    outside = diff(before, after).outside(phototag_may_touch(before))
    assert not outside, f"{step} changed what phototag may not touch: {outside}"
    lost = lost_values(life.states[person][photo], after)
    assert not lost, f"{step} lost the person's values: {lost}"
    return outside


# --- the steps ---


def test_the_corpus_has_at_least_30_documented_fixtures() -> None:
    sources = (CORPUS / "SOURCES.md").read_text()
    assert len(PHOTOS) >= 30
    assert [name for name in PHOTOS if f"`{name}`" not in sources and name not in sources] == []


@pytest.mark.slow  # one daemon lifecycle over the corpus: about 45 s
@pytest.mark.parametrize("name", cases("tag"))
def test_tag(life: Lifecycle, name: str) -> None:
    check_step(life, name, since="before", step="tag", person="before")
    photo = photo_at(life, name)
    records = records_for(life, "tag", photo)
    assert [r["status"] for r in records] == ["done"], records
    assert "tabby" in keywords(life.states["tag"][photo])


@pytest.mark.slow  # one daemon lifecycle over the corpus: about 45 s
@pytest.mark.parametrize("name", cases("retag"))
def test_retag(life: Lifecycle, name: str) -> None:
    check_step(life, name, since="tag", step="retag", person="before")
    photo = photo_at(life, name)
    now = keywords(life.states["retag"][photo])
    assert "sofa" in now and "tabby" not in now  # phototag's own output replaced
    if "Katze" not in keywords(life.states["before"][photo]):
        assert "Katze" not in now


@pytest.mark.slow  # one daemon lifecycle over the corpus: about 45 s
@pytest.mark.parametrize("name", cases("after-edit"))
def test_a_persons_edit_is_not_tagged_again(life: Lifecycle, name: str) -> None:
    photo = photo_at(life, name)
    # at most the record that notes the file's new state: no tagging, nothing written
    kinds = [r.get("change") for r in records_for(life, "after-edit", photo)]
    assert kinds in ([], ["metadata-only"]), life.notes["after-edit"][-2000:]
    changes = diff(life.states["edit"][photo], life.states["after-edit"][photo])
    assert not changes.outside(layout_only), changes


@pytest.mark.slow  # one daemon lifecycle over the corpus: about 45 s
@pytest.mark.parametrize("name", cases("retag-after-edit"))
def test_retag_after_the_persons_edit(life: Lifecycle, name: str) -> None:
    check_step(life, name, since="after-edit", step="retag-after-edit", person="edit")
    now = keywords(life.states["retag-after-edit"][photo_at(life, name)])
    assert ADDED in now  # the person's addition is theirs
    assert REMOVED not in now  # what the person removed is never written again


@pytest.mark.slow  # one daemon lifecycle over the corpus: about 45 s
@pytest.mark.parametrize("name", cases("undo"))
def test_undo_gives_back_the_photo_as_it_was_with_the_persons_edit(
    life: Lifecycle, name: str
) -> None:
    photo = photo_at(life, name)
    before, after = life.states["before"][photo], life.states["undo"][photo]
    left = diff(before, after).outside(undo_may_leave(before, person_added=ADDED, after=after))
    assert not left, f"undo left: {left}\n{life.notes['undo']}"
    assert not lost_values(before, after)
    phototags = {*FIRST, *SECOND} - set(keywords(before))
    assert ADDED in keywords(after) and not phototags & set(keywords(after))


@pytest.mark.slow
@pytest.mark.parametrize("name", PHOTOS)
def test_show_before_tagging_shows_the_persons_values(life: Lifecycle, name: str) -> None:
    photo = photo_at(life, name)
    shown, state = life.shown["before"][photo], life.states["before"][photo]
    assert shown["provenance"] is None and shown["phototag"] == {}
    assert_shows_the_persons(shown, state)


@pytest.mark.slow
@pytest.mark.parametrize("name", PHOTOS)
def test_show_after_tagging_shows_the_persons_values_and_phototags(
    life: Lifecycle, name: str
) -> None:
    photo = photo_at(life, name)
    shown, before = life.shown["tag"][photo], life.states["before"][photo]
    assert shown["provenance"]["model"]
    theirs = {k.casefold() for k in keywords(before)}
    assert shown["phototag"]["keywords"] == [k for k in FIRST if k.casefold() not in theirs]
    assert_shows_the_persons(shown, before)


@pytest.mark.slow
@pytest.mark.parametrize("name", PHOTOS)
def test_show_lists_what_the_person_removed(life: Lifecycle, name: str) -> None:
    shown = life.shown["edit"][photo_at(life, name)]
    assert shown["person"]["rejected"] == [REMOVED]
    assert ADDED in shown["person"]["keywords"]
    assert REMOVED not in shown["person"]["keywords"]


def assert_shows_the_persons(shown: dict[str, Any], state: State) -> None:
    """``tagctl show`` gives the person's title, caption and keywords as photo tools show
    them in ``state``: MWG readers, and Windows Explorer's XP tags where nothing else has
    the field (DESIGN.md, "A person's metadata")."""
    view = person_view(state)
    xp_keywords = [k.strip() for k in str(state.get("IFD0:XPKeywords", "")).split(";")]
    caption = next(
        (
            v
            for t in ("MWG:Description", "IFD0:XPSubject", "IFD0:XPComment")
            if (v := view.get(t, state.get(t)))
        ),
        None,
    )
    assert shown["person"]["keywords"] == (keywords(state) or [k for k in xp_keywords if k])
    assert same_value(shown["person"]["caption"] or None, caption)
    assert same_value(shown["person"]["title"] or None, view.get("title"))


@pytest.mark.slow
@pytest.mark.parametrize("name", PHOTOS)
def test_the_image_data_never_changes(life: Lifecycle, name: str) -> None:
    photo = photo_at(life, name)
    assert {step: life.pixels[step][photo] for step in life.pixels} == dict.fromkeys(
        life.pixels, life.pixels["before"][photo]
    )


@pytest.mark.slow
def test_a_persons_edits_cost_no_model_request(life: Lifecycle) -> None:
    assert life.requests["after-edit"] == 0  # one count for the whole folder


# --- the diff helper itself, on real fixtures and real exiftool ---


def edited_copy(tmp_path: Path, name: str, *args: str) -> tuple[State, State]:
    """(state of the fixture, state of a copy that exiftool changed with ``args``)."""
    original, copy = tmp_path / "a" / name, tmp_path / "b" / name
    for path in (original, copy):
        path.parent.mkdir(parents=True)
        shutil.copy2(CORPUS / name, path)
    if args:
        exiftool_edit(copy, *args)
    states = read_states([original, copy])
    return states[original], states[copy]


def test_xmp_seeded_with_the_persons_own_values_is_allowed_and_nothing_else(
    tmp_path: Path,
) -> None:
    seed = ("-XMP-dc:Creator=Ana Lima", "-XMP-photoshop:City=Cape Canaveral")
    before, seeded = edited_copy(tmp_path, "photo-mechanic.jpg", *seed)
    assert not diff(before, seeded).outside(phototag_may_touch(before))
    _, wrong = edited_copy(tmp_path / "w", "photo-mechanic.jpg", "-XMP-dc:Creator=Somebody")
    outside = diff(before, wrong).outside(phototag_may_touch(before))
    assert set(outside.added) == {"XMP-dc:Creator"}


def test_a_date_that_changes_its_form_is_outside_the_allow_list(tmp_path: Path) -> None:
    before, after = edited_copy(tmp_path, "photo-mechanic.jpg", "-IPTC:TimeCreated=13:27:23+00:00")
    assert diff(before, after).outside(phototag_may_touch(before)).changed == {
        "IPTC:TimeCreated": ("13:27:23", "13:27:23+00:00")
    }


def test_a_lost_motion_photo_video_is_outside_the_allow_list(tmp_path: Path) -> None:
    before, after = edited_copy(tmp_path, "pixel-motion.jpg", "-Trailer:All=")
    assert "File:EmbeddedVideo" in diff(before, after).outside(phototag_may_touch(before)).removed


def test_text_read_under_another_charset_is_a_lost_value(tmp_path: Path) -> None:
    # Declaring UTF-8 over Windows-1252 bytes garbles the caption without changing a byte of it.
    before, after = edited_copy(tmp_path, "iptc-cp1252.jpg", "-IPTC:CodedCharacterSet=UTF8")
    assert set(lost_values(before, after)) >= {"MWG:Description", "MWG:Keywords"}
