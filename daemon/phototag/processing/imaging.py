"""Decode, orient and downscale one image; read its camera facts. Never writes anything.

Memory for decoding is bounded whatever the format: the size is read from the header and
checked against ``max_image_pixels`` before any pixel is decoded; a JPEG is decoded at the
smallest 1/n scale still large enough (libjpeg's DCT scaling); any other image larger than
``DECODE_BUDGET_PX`` is shrunk by ``vipsthumbnail`` in a child process, which streams it
(a 9400x9400 PNG decoded by Pillow took the daemon from 138 MB to 1.26 GB); and a smaller
one is downscaled in its own mode before it is converted to RGB (no full-size RGB copy).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile, UnidentifiedImageError
from PIL.ExifTags import GPS, IFD, Base

from phototag.domain import ExifFacts, PreparedImage
from phototag.errors import BadImage, FileGone
from phototag.processing.raw import is_raw, open_preview

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a JPEG cut in half is an error, not a grey half
# max_image_pixels, checked from the header, is the one limit: Pillow's own (a warning at
# 89.5 MP, an error at 179 MP) refused a 102 MP GFX100 photo and could not be raised
Image.MAX_IMAGE_PIXELS = None
# larger non-JPEG images are shrunk by vipsthumbnail: 16 MP is 64 MB as RGBA in Pillow
DECODE_BUDGET_PX = 16_000_000
_VIPS_TIMEOUT_S = 120.0
# Pillow can downscale these modes as they are; others are converted (within the budget)
_RESIZABLE_MODES = frozenset({"L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "I", "F"})

try:  # HEIC/HEIF decoding is optional (pillow-heif)
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - depends on the installation
    pass


def prepare(path: Path, *, max_edge_px: int, max_pixels: int) -> PreparedImage:
    """Decode ``path`` into an upright RGB image whose longest edge is at most ``max_edge_px``.

    Raises BadImage for anything that cannot be decoded safely (empty, truncated, not an
    image, larger than ``max_pixels``) and FileGone if the file disappeared.
    """
    try:
        with _open(path) as im:
            width, height = im.size
            if width * height > max_pixels:
                raise BadImage(
                    f"image is {width}x{height} = {width * height / 1e6:.0f} megapixels, "
                    f"over the limit of {max_pixels / 1e6:.0f} (decompression bomb guard)"
                )
            fmt = im.format or path.suffix.lstrip(".").upper()
            header_exif = _header_exif(im)
            exif = _facts(header_exif)
            orientation = header_exif.get(Base.Orientation, 1)
            small = None
            if fmt == "JPEG":  # decode at the smallest 1/n scale still >= max_edge_px long
                longest = max(width, height)  # (a square request kept the short edge large)
                want = (-(-width * max_edge_px // longest), -(-height * max_edge_px // longest))
                im.draft("RGB", want)
            elif width * height > DECODE_BUDGET_PX and not is_raw(path):
                small = _shrink_with_vips(path, max_edge_px=max_edge_px)
            if small is None:
                im.seek(0)
                im.load()
                small = _downscale(im, max_edge_px=max_edge_px)
    except (BadImage, FileGone):
        raise
    except FileNotFoundError as exc:
        raise FileGone(f"file disappeared: {exc.filename}") from exc
    except PermissionError as exc:
        raise BadImage(f"cannot read the file: {exc.strerror}") from exc
    except UnidentifiedImageError as exc:
        raise BadImage(
            "not an image Pillow can decode (empty, corrupt or wrong extension)"
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadImage(f"cannot decode the image: {exc}") from exc
    small = _orient(small, orientation)
    # bicubic (as CLIP-style preprocessors resize) costs half of Lanczos on the 1-2x step
    # left after draft decoding, with no difference a model can see
    small.thumbnail((max_edge_px, max_edge_px), Image.Resampling.BICUBIC, reducing_gap=2.0)
    upright = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    return PreparedImage(path=path, image=small, original_size=upright, format=fmt, exif=exif)


def _open(path: Path) -> Image.Image:
    if path.stat().st_size == 0:
        raise BadImage("file is empty (0 bytes)")
    return open_preview(path) if is_raw(path) else Image.open(path)


def _header_exif(im: Image.Image) -> Image.Exif:
    """The EXIF found before the pixels: a PNG's ``getexif()`` decodes the whole image to
    look for an eXIf chunk after them (383 MB for a 9400x9400 PNG)."""
    if im.format != "PNG":
        return im.getexif()
    exif = Image.Exif()
    if raw := im.info.get("exif"):
        exif.load(raw)
    return exif


def _downscale(im: Image.Image, *, max_edge_px: int) -> Image.Image:
    """``im`` (loaded) as RGB, its longest edge at most ``max_edge_px``: shrunk first in its
    own mode where Pillow can, so the RGB conversion and alpha flattening see the small one."""
    if im.mode in _RESIZABLE_MODES:
        im.thumbnail((max_edge_px, max_edge_px), Image.Resampling.BICUBIC, reducing_gap=2.0)
    return _to_rgb(im)


def _shrink_with_vips(path: Path, *, max_edge_px: int) -> Image.Image | None:
    """``path`` shrunk by ``vipsthumbnail`` (streaming, in its own process) to at most
    ``max_edge_px`` a side, not rotated (the caller orients it from the EXIF it read), as a
    loaded RGB image; None where vipsthumbnail is not installed or cannot read the file,
    and Pillow decodes it instead."""
    vips = shutil.which("vipsthumbnail")
    if vips is None:
        return None
    with tempfile.TemporaryDirectory(prefix="phototag-decode-") as folder:
        out = Path(folder) / "small.png"
        try:
            size = f"{max_edge_px}x{max_edge_px}"
            subprocess.run(
                [vips, str(path), "--size", size, "--no-rotate", "-o", str(out)],
                check=True,
                capture_output=True,
                timeout=_VIPS_TIMEOUT_S,
                env={"PATH": "/usr/bin:/bin", "VIPS_CONCURRENCY": "1"},
            )
            with Image.open(out) as small:
                small.load()
                return _to_rgb(small)
        except (OSError, subprocess.SubprocessError, UnidentifiedImageError):
            return None


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        return im.point(lambda v: v / 256).convert("L").convert("RGB")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im if im.mode == "RGB" else im.convert("RGB")


def _orient(im: Image.Image, orientation: int) -> Image.Image:
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    return im.transpose(method) if method is not None else im


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value or None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if number > 0 else None


def _when(value: Any) -> datetime | None:
    text = _text(value)
    if not text:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _gps(gps: Any) -> tuple[float, float] | None:
    try:
        lat = _dms(gps[GPS.GPSLatitude], gps.get(GPS.GPSLatitudeRef, "N"))
        lon = _dms(gps[GPS.GPSLongitude], gps.get(GPS.GPSLongitudeRef, "E"))
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return lat, lon


def _dms(parts: Any, ref: Any) -> float:
    degrees, minutes, seconds = (float(p) for p in parts)
    value = degrees + minutes / 60 + seconds / 3600
    return -value if str(ref).strip().upper() in ("S", "W") else value


def _facts(exif: Image.Exif) -> ExifFacts:
    try:
        sub = exif.get_ifd(IFD.Exif)
        gps = exif.get_ifd(IFD.GPSInfo)
    except (KeyError, ValueError, TypeError, OSError):
        sub, gps = {}, {}
    return ExifFacts(
        make=_text(exif.get(Base.Make)),
        model=_text(exif.get(Base.Model)),
        lens=_text(sub.get(Base.LensModel)),
        focal_length_mm=_number(sub.get(Base.FocalLength)),
        focal_length_35mm=_number(sub.get(Base.FocalLengthIn35mmFilm)),
        captured_at=_when(sub.get(Base.DateTimeOriginal) or exif.get(Base.DateTime)),
        gps=_gps(gps) if gps else None,
        utc_offset_min=_offset(sub.get(Base.OffsetTimeOriginal) or sub.get(Base.OffsetTime)),
        gps_utc=_gps_utc(gps) if gps else None,
        focal_plane_px_per_mm=_focal_plane(sub),
        sensor_px=_pair(sub.get(Base.ExifImageWidth), sub.get(Base.ExifImageHeight)),
    )


_PLANE_UNIT_MM = {2: 25.4, 3: 10.0, 4: 1.0}  # FocalPlaneResolutionUnit: inch, cm, mm


def _focal_plane(sub: Any) -> tuple[float, float] | None:
    unit_mm = _PLANE_UNIT_MM.get(sub.get(Base.FocalPlaneResolutionUnit, 2))
    x = _number(sub.get(Base.FocalPlaneXResolution))
    y = _number(sub.get(Base.FocalPlaneYResolution))
    return (x / unit_mm, y / unit_mm) if unit_mm and x and y else None


def _pair(width: Any, height: Any) -> tuple[int, int] | None:
    w, h = _number(width), _number(height)
    return (int(w), int(h)) if w and h else None


def _offset(value: Any) -> int | None:
    """ "+02:00" -> 120, "-05:30" -> -330."""
    text = _text(value)
    if not text or len(text) < 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        minutes = int(text[1:3]) * 60 + int(text[4:6])
    except ValueError:
        return None
    return -minutes if text[0] == "-" else minutes


def _gps_utc(gps: Any) -> datetime | None:
    try:
        day = datetime.strptime(str(_text(gps[GPS.GPSDateStamp]))[:10], "%Y:%m:%d")
        hours, minutes, seconds = (float(p) for p in gps[GPS.GPSTimeStamp])
        return day.replace(hour=int(hours), minute=int(minutes), second=min(int(seconds), 59))
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
