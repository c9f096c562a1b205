"""A real, tiny DNG written by hand: the RAW phototag's tests feed to libraw (rawpy).

No RAW sample ships with the tests and none can be downloaded, so this module builds one the
way a camera or Adobe's DNG Converter lays it out (DNG specification 1.4):

* IFD0 is the preview (NewSubfileType 1): either a baseline JPEG (Compression 7,
  PhotometricInterpretation 6 YCbCr) or uncompressed 8-bit RGB. It carries DNGVersion,
  UniqueCameraModel, Make, Model and Orientation, and points at
* one SubIFD holding the raw sensor data (NewSubfileType 0): a 16-bit, uncompressed,
  RGGB colour-filter-array image (PhotometricInterpretation 32803 CFA).

The raw sensor data is deliberately a different picture from the preview (by default a flat
green), so a test can tell which of the two phototag looked at.
"""

from __future__ import annotations

import io
import struct
from datetime import datetime
from pathlib import Path
from typing import Literal

from PIL import Image

# TIFF field types
BYTE, ASCII, SHORT, LONG, RATIONAL, SRATIONAL = 1, 2, 3, 4, 5, 10
_FORMAT = {BYTE: "B", ASCII: "B", SHORT: "H", LONG: "I", RATIONAL: "I", SRATIONAL: "i"}
_SIZE = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8, SRATIONAL: 8}

Entry = tuple[int, int, list[int] | bytes]  # (tag, type, values; ASCII as bytes)

MAKE = "Phototag"
MODEL = "Fixture DNG"


def write_dng(
    path: Path,
    preview: Image.Image,
    *,
    orientation: int = 1,
    preview_format: Literal["jpeg", "rgb"] = "jpeg",
    raw_size: tuple[int, int] = (64, 48),
    raw_rgb: tuple[int, int, int] = (0, 50000, 0),
    taken: datetime | None = None,
) -> Path:
    """Write a DNG to ``path`` whose embedded preview is ``preview`` (stored as given, in
    sensor orientation; ``orientation`` is the EXIF Orientation a viewer applies) and whose
    raw CFA data is a flat ``raw_rgb`` picture of ``raw_size`` (width, height, both even).
    ``taken`` becomes the DateTime tag; without it the DNG has no date at all."""
    preview = preview.convert("RGB")
    if preview_format == "jpeg":
        buf = io.BytesIO()
        preview.save(buf, format="JPEG", quality=95)
        preview_data, compression, photometric = buf.getvalue(), 7, 6
    else:
        preview_data, compression, photometric = preview.tobytes(), 1, 2
    raw_data = _cfa(raw_size, raw_rgb)
    stamp = f"{taken:%Y:%m:%d %H:%M:%S}\0".encode() if taken else b""
    dated: list[Entry] = [(306, ASCII, stamp)] if taken else []
    width, height = preview.size
    raw_width, raw_height = raw_size

    # layout: header | IFD0 | SubIFD | preview data | raw data (data blocks word-aligned)
    ifd0: list[Entry] = [
        (254, LONG, [1]),  # NewSubfileType: reduced-resolution image (the preview)
        (256, LONG, [width]),
        (257, LONG, [height]),
        (258, SHORT, [8, 8, 8]),
        (259, SHORT, [compression]),
        (262, SHORT, [photometric]),
        (271, ASCII, MAKE.encode() + b"\0"),
        (272, ASCII, MODEL.encode() + b"\0"),
        (273, LONG, [0]),  # StripOffsets, patched below
        (274, SHORT, [orientation]),
        (277, SHORT, [3]),
        (278, LONG, [height]),
        (279, LONG, [len(preview_data)]),
        (284, SHORT, [1]),
        (305, ASCII, b"phototag tests/rawfixture.py\0"),
        *dated,  # DateTime
        (330, LONG, [0]),  # SubIFDs, patched below
        (50706, BYTE, [1, 4, 0, 0]),  # DNGVersion
        (50707, BYTE, [1, 1, 0, 0]),  # DNGBackwardVersion
        (50708, ASCII, f"{MAKE} {MODEL}".encode() + b"\0"),  # UniqueCameraModel
        (50721, SRATIONAL, [1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1]),
        (50728, RATIONAL, [1, 1, 1, 1, 1, 1]),  # AsShotNeutral
        (50778, SHORT, [21]),  # CalibrationIlluminant1: D65
    ]
    raw_ifd: list[Entry] = [
        (254, LONG, [0]),  # NewSubfileType: the main image
        (256, LONG, [raw_width]),
        (257, LONG, [raw_height]),
        (258, SHORT, [16]),
        (259, SHORT, [1]),
        (262, SHORT, [32803]),  # CFA
        (273, LONG, [0]),  # StripOffsets, patched below
        (277, SHORT, [1]),
        (278, LONG, [raw_height]),
        (279, LONG, [len(raw_data)]),
        (284, SHORT, [1]),
        (33421, SHORT, [2, 2]),  # CFARepeatPatternDim
        (33422, BYTE, [0, 1, 1, 2]),  # CFAPattern: RGGB
        (50710, BYTE, [0, 1, 2]),  # CFAPlaneColor
        (50711, SHORT, [1]),  # CFALayout: rectangular
        (50714, LONG, [0]),  # BlackLevel
        (50717, LONG, [65535]),  # WhiteLevel
    ]
    ifd0_at = 8
    raw_ifd_at = _align(ifd0_at + _ifd_length(ifd0))
    preview_at = _align(raw_ifd_at + _ifd_length(raw_ifd))
    raw_at = _align(preview_at + len(preview_data))
    ifd0 = _patch(ifd0, {273: preview_at, 330: raw_ifd_at})
    raw_ifd = _patch(raw_ifd, {273: raw_at})

    out = bytearray(b"II*\0" + struct.pack("<I", ifd0_at))
    out += _ifd(ifd0, ifd0_at)
    out += bytes(raw_ifd_at - len(out)) + _ifd(raw_ifd, raw_ifd_at)
    out += bytes(preview_at - len(out)) + preview_data
    out += bytes(raw_at - len(out)) + raw_data
    path.write_bytes(bytes(out))
    return path


def _cfa(size: tuple[int, int], rgb: tuple[int, int, int]) -> bytes:
    """An RGGB mosaic of a flat ``rgb`` (16-bit values) picture."""
    width, height = size
    if width % 2 or height % 2:
        raise ValueError("the CFA size must be even")
    red, green, blue = rgb
    even = struct.pack("<HH", red, green) * (width // 2)
    odd = struct.pack("<HH", green, blue) * (width // 2)
    return (even + odd) * (height // 2)


def _align(offset: int) -> int:
    return offset + (offset & 1)


def _patch(entries: list[Entry], values: dict[int, int]) -> list[Entry]:
    return [(tag, kind, [values[tag]] if tag in values else data) for tag, kind, data in entries]


def _payload(kind: int, data: list[int] | bytes) -> bytes:
    if isinstance(data, bytes):
        return data
    return struct.pack(f"<{len(data)}{_FORMAT[kind]}", *data)


def _count(kind: int, data: list[int] | bytes) -> int:
    return len(data) if kind not in (RATIONAL, SRATIONAL) else len(data) // 2


def _ifd_length(entries: list[Entry]) -> int:
    """The IFD's bytes: count, entries, next-IFD offset, then values over 4 bytes."""
    extra = sum(_align(len(_payload(k, d))) for _, k, d in entries if len(_payload(k, d)) > 4)
    return 2 + 12 * len(entries) + 4 + extra


def _ifd(entries: list[Entry], at: int) -> bytes:
    """One IFD at file offset ``at``, entries sorted by tag, no next IFD."""
    entries = sorted(entries, key=lambda e: e[0])
    values_at = at + 2 + 12 * len(entries) + 4
    table = bytearray(struct.pack("<H", len(entries)))
    values = bytearray()
    for tag, kind, data in entries:
        payload = _payload(kind, data)
        table += struct.pack("<HHI", tag, kind, _count(kind, data))
        if len(payload) <= 4:
            table += payload.ljust(4, b"\0")
        else:
            table += struct.pack("<I", values_at + len(values))
            values += payload + b"\0" * (len(payload) & 1)
    table += struct.pack("<I", 0)
    return bytes(table + values)
