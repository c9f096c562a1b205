"""Plain data passed between the stages: what an image is, and what a tagger said of it."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from PIL import Image


@dataclass(frozen=True, slots=True)
class ExifFacts:
    """Camera facts read from the file's own metadata; every field may be missing."""

    make: str | None = None
    model: str | None = None
    lens: str | None = None
    focal_length_mm: float | None = None
    focal_length_35mm: float | None = None
    captured_at: datetime | None = None
    gps: tuple[float, float] | None = None  # (latitude, longitude), decimal degrees
    utc_offset_min: int | None = None  # OffsetTimeOriginal/OffsetTime: the clock is local
    gps_utc: datetime | None = None  # GPSDateStamp + GPSTimeStamp, UTC (naive)
    focal_plane_px_per_mm: tuple[float, float] | None = None  # FocalPlaneX/YResolution
    sensor_px: tuple[int, int] | None = None  # PixelX/YDimension the resolution refers to


@dataclass(frozen=True, slots=True)
class PreparedImage:
    """An image decoded, oriented upright and downscaled; the original is never held."""

    path: Path
    image: Image.Image  # RGB, longest edge <= the configured max_edge_px
    original_size: tuple[int, int]  # (width, height) upright, in pixels
    format: str  # Pillow's format name of the source ("JPEG", "PNG", ...)
    exif: ExifFacts = field(default_factory=ExifFacts)

    def jpeg_bytes(self, *, quality: int = 85) -> bytes:
        buf = io.BytesIO()
        self.image.save(buf, format="JPEG", quality=quality, optimize=False)
        return buf.getvalue()


@dataclass(frozen=True, slots=True)
class Tags:
    """What is written into a photo. Keywords are already normalised."""

    title: str = ""
    caption: str = ""
    description: str = ""
    alt_text: str = ""
    keywords: tuple[str, ...] = ()
    hierarchical: tuple[str, ...] = ()  # "Animals|Cats|Tabby cat" for lr:hierarchicalSubject


@dataclass(frozen=True, slots=True)
class TagResult:
    """A tagger's answer for one image, with what produced it."""

    tags: Tags
    backend: str  # "local", "openai"
    model: str  # model id as the backend reports it
    prompt_digest: str = ""  # sha256 of the prompt/profile, "" for the local backend
    notes: tuple[str, ...] = ()
    raw: str | None = None  # raw answer text, kept for the record
    fallback: bool = False  # produced by a fallback backend; re-tag when the primary is back


@dataclass(frozen=True, slots=True)
class Health:
    """Outcome of a backend preflight."""

    ok: bool
    reason: str = ""
    checked_at: float = 0.0  # time.time()
    probes_s: dict[str, float] = field(default_factory=dict)  # probe name -> latency
    permanent: bool = False  # needs a person to fix (wrong key, missing model)

    @classmethod
    def failed(cls, reason: str, *, probes_s: dict[str, float], permanent: bool = False) -> Health:
        """A preflight that failed now, with the probes that ran before it did."""
        return cls(
            ok=False, reason=reason, checked_at=time.time(), probes_s=probes_s, permanent=permanent
        )


@dataclass(frozen=True, slots=True)
class FileSig:
    """What a file looked like: enough to tell "unchanged" without reading it."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileSig:
        st = path.stat()
        return cls(size=st.st_size, mtime_ns=st.st_mtime_ns)
