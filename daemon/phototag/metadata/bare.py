"""Tell a JPEG that carries no metadata at all, without asking exiftool.

A photo straight from an encoder (Pillow, a scanner, an export with metadata stripped)
holds no EXIF, XMP or IPTC: exiftool would read nothing from it but the file's type and
its JFIF and ICC facts, none of which phototag's reader (:mod:`phototag.metadata.read`)
looks at. Knowing that from the segment headers takes a few small reads; asking exiftool
takes ~5 ms of its CPU a file whatever the options (measured on 160x120 JPEGs: ``-fast``,
fewer tags or no composite tags cost the same), which made its read half the CPU of a
dry run (bench/RESULTS.md, section 14).

The test is a whitelist, so anything not known to be empty goes to exiftool as before:
only the frame and table segments, a JFIF ``APP0`` and an ``ICC_PROFILE`` ``APP2`` may
come before the first scan, and the file must end at its first end-of-image marker (no
trailer: some hold IPTC).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
_SOS = 0xDA
# APPn segments that hold no XMP, IPTC or EXIF, by their identifier
_EMPTY_APP = {0xE0: b"JFIF\x00", 0xE2: b"ICC_PROFILE\x00"}
# SOFn, DHT, DAC (0xC0-0xCF), DQT and DRI: how the image is coded
_CODING = frozenset(range(0xC0, 0xD0)) | {0xDB, 0xDD}


def is_bare_jpeg(path: Path) -> bool:
    """Whether ``path`` is a JPEG with no metadata block beyond JFIF and an ICC profile.
    False for any file it cannot tell (unreadable, malformed, another format)."""
    try:
        with path.open("rb") as fh:
            return _bare(fh)
    except OSError:
        return False


def _bare(fh: BinaryIO) -> bool:
    if fh.read(2) != _SOI:
        return False
    while True:
        head = fh.read(4)
        if len(head) != 4 or head[0] != 0xFF:
            return False  # fill bytes, a marker without a length: exiftool decides
        marker, length = head[1], int.from_bytes(head[2:], "big")
        if length < 2:
            return False
        if marker == _SOS:
            break
        if marker in _EMPTY_APP:
            if not fh.read(length - 2).startswith(_EMPTY_APP[marker]):
                return False
        elif marker in _CODING:
            fh.seek(length - 2, 1)
        else:
            return False  # EXIF, XMP, IPTC, a comment, or a segment not known here
    rest = fh.read()
    # the entropy-coded data escapes every 0xFF, so the first EOI is the image's end
    return len(rest) >= 2 and rest.find(_EOI) == len(rest) - 2
