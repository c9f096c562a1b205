"""Make photos that already carry metadata from other tools (run: make_fixtures.py DEST).

Built from the photos in tests/data with Pillow (formats, ICC profile, a Canon maker
note) and exiftool (what Lightroom, digiKam and IPTC-era tools write), so the tests can
check that phototag's merge keeps every bit of it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageCms

DATA = Path(__file__).resolve().parent.parent

# A Canon maker note: one big-endian IFD entry (0x0006 CanonImageType, ASCII "EOS").
CANON_MAKER_NOTE = b"\x00\x01" + b"\x00\x06\x00\x02\x00\x00\x00\x04EOS\x00" + b"\x00" * 4
GPS = ("-GPSLatitude=48.8584", "-GPSLatitudeRef=N", "-GPSLongitude=2.2945", "-GPSLongitudeRef=E")

# name -> (source photo, Pillow format or None to copy, exiftool arguments)
FIXTURES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "lightroom.jpg": (
        "astronaut.jpg",
        None,
        (
            "-XMP-lr:HierarchicalSubject=Places|Space",
            "-XMP-lr:HierarchicalSubject=People|Crew",
            "-XMP-dc:Subject=Space",
            "-XMP-dc:Subject=Crew",
            "-XMP-dc:Title=Spacewalk",
            "-XMP-xmp:Rating=5",
            "-XMP-xmp:CreatorTool=Adobe Photoshop Lightroom Classic 13.0",
            "-XMP-photoshop:City=Houston",
            *GPS,
        ),
    ),
    "digikam.jpg": (
        "coffee.jpg",
        None,
        (
            "-XMP-digiKam:TagsList=Food/Coffee",
            "-XMP-digiKam:TagsList=Places/Café",
            "-XMP-dc:Subject=Coffee",
            "-XMP-dc:Subject=Café",
            "-XMP-xmp:Label=Green",
        ),
    ),
    "iptc-latin1.jpg": (
        "motorcycle.jpg",
        None,
        (
            "-charset",
            "iptc=Latin",
            "-IPTC:Keywords=Moto",
            "-IPTC:Keywords=Café racer",
            "-IPTC:Keywords=Übergröße",
            "-IPTC:ObjectName=Rennmaschine für Straße",
            "-IPTC:By-line=José",
        ),
    ),
    "iptc-utf8.jpg": (
        "rocket.jpg",
        None,
        (
            "-IPTC:CodedCharacterSet=UTF8",
            "-IPTC:Keywords=Fusée",
            "-IPTC:Keywords=ロケット",
            "-IPTC:Caption-Abstract=Décollage de nuit",
            "-IPTC:City=Cap Canaveral",
        ),
    ),
    "makernote-icc-gps.jpg": ("chelsea.jpg", "JPEG", (*GPS, "-XMP-dc:Creator=Ana")),
    "person.png": (
        "camera.png",
        "PNG",
        (
            "-XMP-dc:Subject=Cameraman",
            "-XMP-dc:Description=Un cameraman",
            "-PNG:Comment=old",
        ),
    ),
    "person.tiff": (
        "chelsea.jpg",
        "TIFF",
        (
            "-IPTC:Keywords=Katze",
            "-XMP-dc:Subject=Katze",
            *GPS,
        ),
    ),
    "person.webp": ("coffee.jpg", "WEBP", ("-XMP-dc:Subject=Kaffee", "-XMP-dc:Title=Tasse")),
}

SIDECAR_ARGS = (
    "-XMP-dc:Subject=Grandma",
    "-XMP-lr:HierarchicalSubject=People|Grandma",
    "-XMP-digiKam:TagsList=People/Grandma",
    "-XMP-xmp:Rating=3",
    "-XMP-dc:Title=Oma",
)


def make(dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    made = []
    for name, (source, fmt, args) in FIXTURES.items():
        target = dest / name
        if fmt is None:
            target.write_bytes((DATA / source).read_bytes())
        else:
            _convert(DATA / source, target, fmt=fmt)
        _exiftool(target, *args)
        made.append(target)
    raw = dest / "IMG_1.CR3"
    raw.write_bytes(b"not really a CR3: phototag never opens a RAW to write its sidecar")
    subprocess.run(["exiftool", "-q", "-o", str(dest / "IMG_1.CR3.xmp"), *SIDECAR_ARGS], check=True)
    return [*made, raw]


def _convert(source: Path, target: Path, *, fmt: str) -> None:
    with Image.open(source) as im:
        rgb = im.convert("RGB")
        exif = im.getexif()
        if fmt == "JPEG":
            exif.get_ifd(0x8769)[0x927C] = CANON_MAKER_NOTE
        icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
        options: dict[str, object] = {"exif": exif.tobytes(), "icc_profile": icc}
        if fmt == "WEBP":
            options["lossless"] = False
            options["quality"] = 80
        rgb.save(target, format=fmt, **options)


def _exiftool(target: Path, *args: str) -> None:
    subprocess.run(["exiftool", "-q", "-overwrite_original", *args, str(target)], check=True)


if __name__ == "__main__":
    for path in make(Path(sys.argv[1])):
        print(path)
