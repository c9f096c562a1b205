"""The review page: one self-contained HTML file, each photo's thumbnail beside its tags.

``tagctl report --html FILE`` writes it for the photos it selects; the daemon keeps
``summary.html`` beside ``summary.md`` for the recent ones. The page is one file with its
style, script and data inline; the thumbnails (small JPEGs, never the originals) are kept
in a folder beside it, ``<FILE stem>_files/``, made once per file version and reused.

Large reports stay fast: the records travel as one JSON block and the script draws
:data:`PAGE_SIZE` cards at a time, each ``<img loading="lazy">``, so the browser builds a
hundred cards and fetches only the thumbnails in view, however many photos there are
(bench/RESULTS.md section 10). The script builds the cards with ``textContent``, never
HTML, so text from a photo's metadata cannot become markup.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from loguru import logger

from phototag.config import MetadataSettings
from phototag.errors import PhototagError
from phototag.intake.selection import entry_skip_reason
from phototag.metadata.atomic import write_text
from phototag.metadata.show import read_tags
from phototag.metadata.sidecar import sidecar_path
from phototag.states import Status
from phototag.store.records import FileRecord, display_path

TEMPLATE = "review.html"  # the page: style and script, @TITLE@ and @DATA@ filled in
PAGE_SIZE = 100
THUMB_EDGE_PX = 256
THUMB_QUALITY = 70
CHART_KEYWORDS = 30


@dataclass(frozen=True, slots=True)
class Entry:
    """One photo on the page."""

    path: str
    status: Status
    title: str
    caption: str
    description: str
    keywords: tuple[str, ...]  # phototag's
    person_keywords: tuple[str, ...]  # the person's own, from the file's metadata
    notes: tuple[str, ...]
    error: str | None
    thumb: str | None  # relative to the page
    when: str  # ISO time it finished, or ""
    dry_run: bool


def entry_of(
    record: FileRecord, *, thumb: str | None, person_keywords: Sequence[str] = ()
) -> Entry:
    result = record.result or {}
    when = datetime.fromtimestamp(record.finished_at).astimezone() if record.finished_at else None
    return Entry(
        path=display_path(record.path),
        status=record.status,
        title=str(result.get("title", "")),
        caption=str(result.get("caption", "")),
        description=str(result.get("description", "")),
        keywords=tuple(result.get("keywords", ())),
        person_keywords=tuple(person_keywords),
        notes=tuple(result.get("notes", ())),
        error=record.last_error if record.status is not Status.DONE else None,
        thumb=thumb,
        when=when.isoformat(timespec="seconds") if when else "",
        dry_run=record.dry_run,
    )


def ordered(entries: Iterable[Entry]) -> list[Entry]:
    """Failures first, then the rest; the newest first within each."""
    by_time = sorted(entries, key=lambda e: e.when, reverse=True)
    return sorted(by_time, key=lambda e: e.status is not Status.FAILED)


def render_page(
    entries: Sequence[Entry],
    *,
    heading: str,
    generated_at: datetime,
    totals: Mapping[str, int],
    keyword_counts: Sequence[tuple[str, int]],
) -> str:
    """The page for ``entries`` (in the order given). Pure."""
    data = {
        "heading": heading,
        "generated": generated_at.isoformat(timespec="seconds"),
        "totals": dict(totals),
        "keywords": [[k, n] for k, n in keyword_counts[:CHART_KEYWORDS]],
        "pageSize": PAGE_SIZE,
        "photos": [_compact(e) for e in entries],
    }
    blob = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # inside <script>, "</" could end the element early; JSON allows the escaped form
    blob = blob.replace("</", "<\\/").replace("<!--", "<\\!--")
    page = resources.files(__package__).joinpath(TEMPLATE).read_text(encoding="utf-8")
    return page.replace("@TITLE@", _escape(heading)).replace("@DATA@", blob)


def _compact(entry: Entry) -> dict[str, Any]:
    """The entry without empty fields: a tenth off a page of 10,000 photos."""
    return {k: v for k, v in asdict(entry).items() if v not in ("", (), None, False)}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Thumbnails:
    """Small JPEGs in a folder beside the page, named by the file version they show
    (path, size, mtime), so an unchanged photo's thumbnail is made once."""

    def __init__(self, folder: Path, *, edge_px: int = THUMB_EDGE_PX) -> None:
        self.folder = folder
        self._edge_px = edge_px
        self.made = 0
        self.reused = 0

    def get(self, record: FileRecord) -> str | None:
        """The thumbnail's path relative to the page's folder; None if the photo cannot be
        read (gone, or not an image: the page shows its place empty)."""
        key = b"%b\0%d\0%d" % (os.fsencode(record.path), record.size, record.mtime_ns)
        name = hashlib.sha256(key).hexdigest()[:32] + ".jpg"
        dest = self.folder / name
        relative = f"{self.folder.name}/{name}"
        if dest.exists():
            self.reused += 1
            return relative
        from phototag.processing.imaging import prepare  # Pillow, loaded only to draw

        try:
            image = prepare(record.path, max_edge_px=self._edge_px, max_pixels=200_000_000)
        except (PhototagError, OSError) as exc:
            logger.debug("no thumbnail for {}: {}", display_path(record.path), exc)
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{name}.part")
        image.image.save(partial, format="JPEG", quality=THUMB_QUALITY, optimize=True)
        os.replace(partial, dest)
        self.made += 1
        return relative

    def prune(self, keep: Iterable[str]) -> int:
        """Remove the thumbnails no longer shown (a page of recent photos moves on)."""
        wanted = {Path(k).name for k in keep}
        removed = 0
        for path in self.folder.glob("*.jpg") if self.folder.is_dir() else ():
            if path.name not in wanted:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def person_keywords_of(path: Path, *, settings: MetadataSettings) -> tuple[str, ...]:
    """The person's keywords of a photo as MWG readers show them (its metadata, or its
    sidecar's), less those phototag wrote."""
    try:
        keywords = read_tags(path, settings=settings)["person"]["keywords"]
    except (PhototagError, OSError) as exc:
        logger.debug("keywords of {} not read: {}", display_path(path), exc)
        return ()
    found: dict[str, str] = {}
    for keyword in keywords:
        found.setdefault(keyword.casefold(), keyword)
    return tuple(found.values())


class PersonKeywords:
    """:func:`person_keywords_of`, remembered while the photo and its sidecar stay as they
    were (inode, size, mtime and ctime: a tool that keeps the mtime still moves the
    ctime). The daemon's summary page shows mostly the same recent photos at each rewrite:
    read afresh, that was up to 40 exiftool reads a rewrite (0.38 s at each daemon's stop).
    Holds at most ``most`` photos, the oldest forgotten first."""

    def __init__(self, *, metadata: MetadataSettings, most: int = 1000) -> None:
        self._metadata = metadata
        self._most = most
        self._known: dict[tuple[Path, object, object], tuple[str, ...]] = {}

    def __call__(self, path: Path) -> tuple[str, ...]:
        sidecar = sidecar_path(path, naming=self._metadata.sidecar_naming)
        key = (path, _stat_key(path), _stat_key(sidecar))
        found = self._known.pop(key, None)
        if found is None:
            found = person_keywords_of(path, settings=self._metadata)
            if len(self._known) >= self._most:
                del self._known[next(iter(self._known))]
        self._known[key] = found  # last: the most recently used
        return found


def _stat_key(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass(frozen=True, slots=True)
class PageStats:
    photos: int
    page_bytes: int
    thumbs_made: int
    thumbs_reused: int


def write_page(
    page: Path,
    records: Iterable[FileRecord],
    *,
    heading: str,
    totals: Mapping[str, int],
    keyword_counts: Sequence[tuple[str, int]],
    metadata: MetadataSettings,
    prune: bool = False,
    keywords: PersonKeywords | None = None,
) -> PageStats:
    """Write ``page`` and its thumbnail folder for ``records`` (atomically, the page last).
    ``prune`` removes thumbnails of photos no longer on the page. ``keywords`` gives the
    person's keywords of a photo (a caller that writes the page again keeps one; None:
    each is read)."""
    keywords = keywords or PersonKeywords(metadata=metadata)
    thumbs = Thumbnails(page.parent / f"{page.stem}_files")
    entries = []
    for record in records:
        # only a regular file is opened (a FIFO would block the daemon, a link may lead
        # out of the roots); only a tagged one is read for the person's keywords
        readable = record.status is not Status.DELETED and (
            entry_skip_reason(record.path, follow_symlinks=False) is None
        )
        tagged = readable and record.status is Status.DONE
        entries.append(
            entry_of(
                record,
                thumb=thumbs.get(record) if readable else None,
                person_keywords=keywords(record.path) if tagged else (),
            )
        )
    entries = ordered(entries)
    text = render_page(
        entries,
        heading=heading,
        generated_at=datetime.now().astimezone(),
        totals=totals,
        keyword_counts=keyword_counts,
    )
    if prune:
        thumbs.prune(e.thumb for e in entries if e.thumb)
    write_text(page, text)
    return PageStats(
        photos=len(entries),
        page_bytes=len(text.encode()),
        thumbs_made=thumbs.made,
        thumbs_reused=thumbs.reused,
    )
