"""Write ``daemon/phototag/taggers/local/data/countries.csv``: ISO 3166-1 alpha-2 code -> English name.

The GeoNames cities table (``data/rg_cities1000.csv``) gives only a country code; this
small table names it without a 23 MB runtime dependency. The names come from pycountry
(ISO 3166 via Debian's iso-codes), preferring the short common name ("South Korea", not
"Korea, Republic of"). Run by a maintainer:
``pip install pycountry && python packaging/model/make_country_names.py``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pycountry

OUT = Path(__file__).resolve().parents[2] / "daemon/phototag/taggers/local/data/countries.csv"
PREFERRED = {  # names as people say them, where ISO's short name reads oddly
    "BO": "Bolivia", "CD": "DR Congo", "FM": "Micronesia", "IR": "Iran", "KP": "North Korea",
    "KR": "South Korea", "LA": "Laos", "MD": "Moldova", "PS": "Palestine", "RU": "Russia",
    "SY": "Syria", "TW": "Taiwan", "TZ": "Tanzania", "VA": "Vatican City", "VE": "Venezuela",
    "VN": "Vietnam", "GB": "United Kingdom", "US": "United States", "BN": "Brunei",
    "CZ": "Czechia", "MK": "North Macedonia", "TR": "Turkey", "CV": "Cape Verde",
    "SZ": "Eswatini", "CI": "Ivory Coast", "XK": "Kosovo",
}


def main() -> None:
    rows = {c.alpha_2: PREFERRED.get(c.alpha_2) or getattr(c, "common_name", None) or c.name
            for c in pycountry.countries}
    rows.setdefault("XK", PREFERRED["XK"])
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(sorted(rows.items()))
    print(f"wrote {OUT} ({len(rows)} countries)")


if __name__ == "__main__":
    main()
