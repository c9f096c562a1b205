"""Facts a photographer files by, read from EXIF and from the pixels; pure and fast.

Camera and lens, focal-length class, orientation, year, month, season, time of day,
monochrome or colour, dominant colour names and bright or dark. Nothing here guesses
what is in the photo; that is the classifier's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from PIL import Image

from phototag.domain import ExifFacts, PreparedImage

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
NORTHERN_SEASONS = ("winter", "spring", "summer", "autumn")  # Dec-Feb, Mar-May, ...

# Brand spellings as photographers write them, keyed by the EXIF Make's first word.
BRANDS = {
    "nikon": "Nikon",
    "canon": "Canon",
    "sony": "Sony",
    "fujifilm": "Fujifilm",
    "fuji": "Fujifilm",
    "olympus": "Olympus",
    "om": "OM System",
    "pentax": "Pentax",
    "ricoh": "Ricoh",
    "panasonic": "Panasonic",
    "leica": "Leica",
    "samsung": "Samsung",
    "hasselblad": "Hasselblad",
    "sigma": "Sigma",
    "kodak": "Kodak",
    "minolta": "Minolta",
    "konica": "Konica Minolta",
    "casio": "Casio",
    "google": "Google",
    "apple": "Apple",
    "huawei": "Huawei",
    "xiaomi": "Xiaomi",
    "oneplus": "OnePlus",
    "motorola": "Motorola",
    "lg": "LG",
    "htc": "HTC",
    "dji": "DJI",
    "gopro": "GoPro",
    "phase": "Phase One",
}
_CORPORATE = re.compile(
    r"[\s,]+(corporation|corp\.?|co\.?,?\s*ltd\.?|ltd\.?|inc\.?|gmbh|ag|imaging|"
    r"optical|electric|company|camera)\b\.?",
    re.IGNORECASE,
)

THUMB_EDGE_PX = 48  # colour statistics come from a thumbnail this size: fast, stable
PALETTE_MIN_SHARE = 0.15  # a colour is named when it covers at least this share of pixels
PALETTE_MAX_NAMES = 3
MONOCHROME_MAX_CHROMA = 0.06  # 95th percentile of chroma (0..1) below this: monochrome
BRIGHT_MIN_LUMA = 0.62
DARK_MAX_LUMA = 0.28


@dataclass(frozen=True, slots=True)
class Tones:
    monochrome: bool
    colours: tuple[str, ...]  # dominant colour names, most to least
    brightness: str | None  # "bright", "dark" or None for neither


@dataclass(frozen=True, slots=True)
class Facts:
    camera: str | None
    lens: str | None
    focal_class: str | None  # "wide angle", "normal lens", "telephoto"
    orientation: str  # "landscape", "portrait", "square"
    year: int | None
    month: str | None
    season: str | None
    time_of_day: str | None  # "morning", "afternoon", "evening", "night"
    tones: Tones


def read_facts(image: PreparedImage) -> Facts:
    """All facts of one prepared image (EXIF plus a thumbnail's statistics)."""
    exif = image.exif
    when = exif.captured_at
    latitude = exif.gps[0] if exif.gps else None
    return Facts(
        camera=camera_name(exif.make, exif.model),
        lens=exif.lens,
        focal_class=focal_class(exif),
        orientation=orientation(image.original_size),
        year=when.year if when else None,
        month=MONTHS[when.month - 1] if when else None,
        season=season(when.month, latitude=latitude) if when else None,
        time_of_day=time_of_day(when) if when else None,
        tones=tones(image.image),
    )


def fact_keywords(facts: Facts) -> list[str]:
    """The facts as keywords, in a fixed order (camera first, tones last)."""
    raw = [
        facts.camera,
        facts.lens,
        facts.focal_class,
        facts.orientation,
        str(facts.year) if facts.year else None,
        facts.month,
        facts.season,
        facts.time_of_day,
        "monochrome" if facts.tones.monochrome else "colour",
        *facts.tones.colours,
        facts.tones.brightness,
    ]
    return [k for k in raw if k]


def camera_name(make: str | None, model: str | None) -> str | None:
    """Make and model without the repeats: "Canon" + "Canon EOS 5D" -> "Canon EOS 5D",
    "NIKON CORPORATION" + "NIKON D3X" -> "Nikon D3X"."""
    brand = _brand(make) if make else None
    if not model:
        return brand
    model = " ".join(model.split())
    first, _, rest = model.partition(" ")
    if brand and rest and _brand(first).lower() == brand.lower():
        return f"{brand} {rest}"
    if brand and model.lower().startswith(brand.lower()):
        return model
    return f"{brand} {model}" if brand else model


def _brand(make: str) -> str:
    cleaned = _CORPORATE.sub("", " ".join(make.split())).strip(" ,.")
    first = cleaned.split(" ", 1)[0].lower() if cleaned else ""
    return BRANDS.get(first, cleaned or make.strip())


def focal_class(exif: ExifFacts) -> str | None:
    """Wide below 35 mm, normal 35-70 mm, tele above 70 mm (35 mm-equivalent when known)."""
    focal_mm = exif.focal_length_35mm or exif.focal_length_mm
    if focal_mm is None:
        return None
    if focal_mm < 35:
        return "wide angle"
    return "normal lens" if focal_mm <= 70 else "telephoto"


def orientation(size: tuple[int, int], *, square_tolerance: float = 0.05) -> str:
    width, height = size
    if abs(width - height) <= square_tolerance * max(width, height):
        return "square"
    return "landscape" if width > height else "portrait"


def season(month: int, *, latitude: float | None) -> str:
    """Meteorological seasons; the southern hemisphere's are six months apart."""
    index = (month % 12) // 3
    if latitude is not None and latitude < 0:
        index = (index + 2) % 4
    return NORTHERN_SEASONS[index]


def time_of_day(when: datetime) -> str:
    hour = when.hour
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    return "evening" if 17 <= hour < 21 else "night"


def tones(image: Image.Image) -> Tones:
    """Monochrome, dominant colour names and brightness from a tiny thumbnail."""
    rgb_image = image if image.mode == "RGB" else image.convert("RGB")
    thumb = rgb_image.resize((THUMB_EDGE_PX, THUMB_EDGE_PX), Image.Resampling.BOX)
    rgb = np.asarray(thumb, dtype=np.float32).reshape(-1, 3) / 255.0
    return tones_of_pixels(rgb)


def tones_of_pixels(rgb: np.ndarray) -> Tones:
    """``rgb``: an (n, 3) array of floats in 0..1."""
    high = rgb.max(axis=1)
    low = rgb.min(axis=1)
    chroma = high - low
    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    monochrome = float(np.percentile(chroma, 95)) < MONOCHROME_MAX_CHROMA
    mean_luma = float(luma.mean())
    brightness = (
        "bright" if mean_luma >= BRIGHT_MIN_LUMA else "dark" if mean_luma <= DARK_MAX_LUMA else None
    )
    names = _colour_names(rgb, high=high, chroma=chroma, luma=luma)
    counts = {str(name): int((names == name).sum()) for name in np.unique(names)}
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    colours = tuple(
        name for name, count in ranked[:PALETTE_MAX_NAMES] if count >= PALETTE_MIN_SHARE * len(rgb)
    )
    return Tones(monochrome=monochrome, colours=colours, brightness=brightness)


def _colour_names(
    rgb: np.ndarray, *, high: np.ndarray, chroma: np.ndarray, luma: np.ndarray
) -> np.ndarray:
    """Name each pixel from a fixed palette: neutrals by lightness, the rest by hue."""
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    safe = np.where(chroma > 0, chroma, 1.0)
    hue = (
        np.where(
            high == r,
            ((g - b) / safe) % 6,
            np.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4),
        )
        * 60.0
    )
    saturation = chroma / np.where(high > 0, high, 1.0)
    by_hue = np.select(
        [hue < 15, hue < 45, hue < 70, hue < 165, hue < 255, hue < 290, hue < 335],
        ["red", "orange", "yellow", "green", "blue", "purple", "pink"],
        default="red",
    )
    brownish = (hue >= 10) & (hue < 50) & (high < 0.65)
    by_hue = np.where(brownish, "brown", by_hue)
    neutral = np.select([luma < 0.18, luma > 0.85], ["black", "white"], default="grey")
    is_neutral = (saturation < 0.2) | (chroma < 0.08) | (high < 0.12)
    return np.where(is_neutral, neutral, by_hue)
