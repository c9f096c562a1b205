"""Hash a photo's image data without its metadata blocks, to tell a metadata edit from new pixels.

:func:`hash_file` reads a file once and returns two digests: ``sha256`` of every byte, and
``image_sha256`` of what stays the same when a tool (exiftool, digiKam, Lightroom's "save
metadata to file", phototag itself) rewrites only metadata:

* JPEG: every segment except APPn (EXIF, XMP, ICC, IPTC/Photoshop, ...) and COM, and every
  byte from the first start-of-scan on (the entropy-coded data and any trailer);
* PNG: every chunk except tEXt, zTXt, iTXt (XMP, and exiv2's raw EXIF/IPTC profiles),
  eXIf and tIME;
* WebP: every RIFF chunk except EXIF, XMP, ICCP and VP8X (a tool adds VP8X to a simple
  WebP to flag the metadata it adds; the canvas size it also holds is the bitstream's,
  and alpha and animation have chunks of their own), and not the RIFF size;
* TIFF and the TIFF-based RAWs (DNG, NEF, CR2, ARW, PEF, ...): the image-structure fields
  and the strip or tile bytes of every IFD and SubIFD, wherever a rewrite moved them.

Other formats (HEIC, CR3, RAF, ...) and files whose structure does not parse get
``image_sha256`` None. For those the caller falls back to :func:`pixels_sha256` of the
image it decodes anyway (phototag's downscaled, upright copy): a decode, but no request.

Cost: on a 24-MP JPEG (6000x4000, 6.9 MB, in the page cache) both digests take 10 ms on
one core here, the whole-file sha256 alone 5 ms; no pixel is decoded.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from PIL import Image

from phototag.errors import BadImage, FileGone

_CHUNK = 1 << 20

_JPEG_SOI = b"\xff\xd8"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_METADATA = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"})
_WEBP_METADATA = frozenset({b"EXIF", b"XMP ", b"ICCP", b"VP8X"})
_TIFF_HEADERS = (b"II*\x00", b"MM\x00*")


@dataclass(frozen=True, slots=True)
class FileHashes:
    sha256: str  # hex sha256 of every byte of the file
    image_sha256: str | None  # hex sha256 of the image data alone; None: format not known


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


class _Malformed(Exception):
    """The structure does not parse: no image hash (the whole-file hash still holds)."""


def hash_file(path: Path) -> FileHashes:
    """Both digests of ``path``, from one sequential read (TIFF: one more pass that reads
    its IFDs and image bytes). Raises FileGone if it disappeared, BadImage if unreadable."""
    try:
        with path.open("rb") as fh:
            tee = _Tee(fh)
            head = tee.peek(12)
            try:
                image = _parse(tee, head)
            except _Malformed:
                image = None
            tee.drain(None)
            if image is None and head[:4] in _TIFF_HEADERS:
                image = _tiff_image_hash(fh)
    except FileNotFoundError as exc:
        raise FileGone("file disappeared before it could be read") from exc
    except OSError as exc:
        raise BadImage(f"cannot read the file: {exc.strerror}") from exc
    return FileHashes(sha256=tee.whole.hexdigest(), image_sha256=image)


def pixels_sha256(image: Image.Image) -> str:
    """Hex sha256 of decoded pixels (with their size and mode), for formats whose image
    data :func:`hash_file` cannot find; the same decode of the same data gives the same."""
    digest = hashlib.sha256(f"pixels\0{image.mode} {image.width}x{image.height}\0".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


def _parse(tee: _Tee, head: bytes) -> str | None:
    if head.startswith(_JPEG_SOI):
        return _jpeg(tee)
    if head.startswith(_PNG_SIGNATURE):
        return _png(tee)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp(tee)
    return None  # TIFF is read with seeks once the sequential pass is over


class _Tee:
    """A sequential reader that feeds every byte it reads to the whole-file digest."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._pending = b""
        self.whole = hashlib.sha256()

    def peek(self, n: int) -> bytes:
        self._pending = self._fh.read(n)
        self.whole.update(self._pending)
        return self._pending

    def read(self, n: int) -> bytes:
        data, self._pending = self._pending[:n], self._pending[n:]
        if len(data) < n:
            more = self._fh.read(n - len(data))
            self.whole.update(more)
            data += more
        return data

    def exact(self, n: int) -> bytes:
        data = self.read(n)
        if len(data) != n:
            raise _Malformed("truncated")
        return data

    def copy(self, n: int, into: _Digest | None) -> None:
        """Read ``n`` bytes, adding them to ``into`` (None: the whole-file digest only)."""
        while n > 0:
            data = self.read(min(n, _CHUNK))
            if not data:
                raise _Malformed("truncated")
            if into is not None:
                into.update(data)
            n -= len(data)

    def drain(self, into: _Digest | None) -> None:
        while data := self.read(_CHUNK):
            if into is not None:
                into.update(data)


def _jpeg(tee: _Tee) -> str:
    image = hashlib.sha256(b"jpeg\0")
    image.update(tee.exact(2))  # SOI
    while True:
        if tee.exact(1) != b"\xff":
            raise _Malformed("not a marker")
        marker = tee.exact(1)[0]
        while marker == 0xFF:  # fill bytes before a marker
            marker = tee.exact(1)[0]
        if marker == 0xD9 or 0xD0 <= marker <= 0xD7 or marker == 0x01:  # EOI, RSTn, TEM
            image.update(bytes((0xFF, marker)))
            if marker == 0xD9:
                break
            continue
        size = tee.exact(2)
        length = int.from_bytes(size, "big")
        if length < 2:
            raise _Malformed("bad segment length")
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:  # APPn, COM: metadata
            tee.copy(length - 2, None)
            continue
        image.update(bytes((0xFF, marker)) + size)
        tee.copy(length - 2, image)
        if marker == 0xDA:  # SOS: the rest is image data (scans, and any trailer)
            break
    tee.drain(image)
    return image.hexdigest()


def _png(tee: _Tee) -> str:
    image = hashlib.sha256(b"png\0")
    image.update(tee.exact(8))
    while head := tee.read(8):
        if len(head) != 8:
            raise _Malformed("truncated chunk")
        length = int.from_bytes(head[:4], "big")
        kind = head[4:]
        if kind in _PNG_METADATA:
            tee.copy(length + 4, None)  # data and CRC
            continue
        image.update(head)
        tee.copy(length + 4, image)
    return image.hexdigest()


def _webp(tee: _Tee) -> str:
    image = hashlib.sha256(b"webp\0")
    tee.exact(12)  # RIFF, its size (grows with metadata), WEBP
    while head := tee.read(8):
        if len(head) != 8:
            raise _Malformed("truncated chunk")
        kind = head[:4]
        size = int.from_bytes(head[4:], "little")
        padded = size + (size & 1)
        if kind in _WEBP_METADATA:
            tee.copy(padded, None)
            continue
        image.update(head)
        tee.copy(padded, image)
    return image.hexdigest()


# TIFF fields that say how the image bytes are laid out and read (TIFF 6.0, DNG 1.4):
# width, length, bits per sample, compression, photometric, samples per pixel, rows per
# strip, planar configuration, predictor, colour map, tile width/length, sample format,
# the CFA pattern fields, JPEG tables; NewSubfileType tells a preview from the main image.
_TIFF_STRUCTURE = frozenset(
    {254, 256, 257, 258, 259, 262, 277, 278, 284, 317, 320, 322, 323, 339, 347}
    | {33421, 33422, 50710, 50711}
)
_TIFF_DATA = ((273, 279), (324, 325), (513, 514))  # strips, tiles, old-style JPEG
_TIFF_SUBIFDS = 330
_TIFF_TYPES = {1: "B", 2: "B", 3: "H", 4: "I", 5: "II", 6: "b", 7: "B", 8: "h", 9: "i"}
_TIFF_TYPES |= {10: "ii", 11: "f", 12: "d", 13: "I", 16: "Q"}
_TIFF_MAX_IFDS = 64


def _tiff_image_hash(fh: BinaryIO) -> str | None:
    """The image-structure fields and image bytes of every IFD, in IFD order."""
    try:
        return _tiff(fh)
    except (_Malformed, struct.error, OverflowError, ValueError):
        return None


def _tiff(fh: BinaryIO) -> str:
    fh.seek(0)
    header = fh.read(8)
    order = "<" if header[:2] == b"II" else ">"
    image = hashlib.sha256(b"tiff\0")
    pending = [struct.unpack(order + "I", header[4:8])[0]]
    seen: set[int] = set()
    while pending:
        offset = pending.pop(0)
        if offset == 0 or offset in seen:
            continue
        if len(seen) >= _TIFF_MAX_IFDS:
            raise _Malformed("too many IFDs")
        seen.add(offset)
        fields, next_ifd = _tiff_ifd(fh, order, offset)
        pending += [next_ifd, *fields.get(_TIFF_SUBIFDS, ())]
        image.update(b"IFD")
        for tag in sorted(fields.keys() & _TIFF_STRUCTURE):
            image.update(struct.pack("<H", tag) + repr(fields[tag]).encode())
        for offsets_tag, counts_tag in _TIFF_DATA:
            offsets, counts = fields.get(offsets_tag, ()), fields.get(counts_tag, ())
            if len(offsets) != len(counts):
                raise _Malformed("offsets and byte counts differ in number")
            for at, count in zip(offsets, counts, strict=True):
                _hash_range(fh, at, count, image)
    return image.hexdigest()


def _tiff_ifd(fh: BinaryIO, order: str, offset: int) -> tuple[dict[int, tuple[int, ...]], int]:
    """(tag -> values, for numeric fields; next IFD offset) of the IFD at ``offset``."""
    fh.seek(offset)
    (count,) = struct.unpack(order + "H", _read_exact(fh, 2))
    table = _read_exact(fh, 12 * count + 4)
    fields: dict[int, tuple[int, ...]] = {}
    for i in range(count):
        tag, kind, n = struct.unpack(order + "HHI", table[12 * i : 12 * i + 8])
        fmt = _TIFF_TYPES.get(kind)
        if fmt is None or not (tag in _TIFF_STRUCTURE or tag == _TIFF_SUBIFDS or _is_data(tag)):
            continue
        size = struct.calcsize("<" + fmt) * n
        raw = table[12 * i + 8 : 12 * i + 12]
        if size > 4:
            if size > 1 << 24:
                raise _Malformed("field too large")
            here = fh.tell()
            fh.seek(struct.unpack(order + "I", raw)[0])
            raw = _read_exact(fh, size)
            fh.seek(here)
        fields[tag] = struct.unpack(order + fmt * n, raw[:size])
    (next_ifd,) = struct.unpack(order + "I", table[12 * count :])
    return fields, next_ifd


def _is_data(tag: int) -> bool:
    return any(tag in pair for pair in _TIFF_DATA)


def _hash_range(fh: BinaryIO, at: int, count: int, into: _Digest) -> None:
    fh.seek(at)
    while count > 0:
        data = fh.read(min(count, _CHUNK))
        if not data:
            raise _Malformed("image data past the end of the file")
        into.update(data)
        count -= len(data)


def _read_exact(fh: BinaryIO, n: int) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise _Malformed("truncated IFD")
    return data
