"""Read a person's title, caption and keywords the way photo tools do (MWG 2010).

A photo may carry each of them in XMP, IPTC-IIM and EXIF at once. :func:`reconcile`
follows the Metadata Working Group's *Guidelines for Handling Image Metadata* as
exiftool's MWG module implements them (``-MWG:Keywords``, ``-MWG:Description``; the
title is reconciled the same way between ``XMP-dc:Title`` and ``IPTC:ObjectName``): XMP
is current unless the Photoshop ``IPTCDigest`` stored in the file differs from the
digest of the IPTC block as it is now, which means a tool that does not know XMP changed
the IPTC since. EXIF ``ImageDescription`` wins for the description when it is not blank
(MWG). Windows' ``XPTitle``/``XPSubject``/``XPComment``/``XPKeywords`` (UCS-2) count
when nothing else carries the field, as Windows Explorer shows them.

IPTC without a declared ``CodedCharacterSet`` is decoded as UTF-8 if its bytes are valid
UTF-8, else as Windows-1252 (:func:`decode_iptc`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from phototag.metadata.bare import is_bare_jpeg
from phototag.metadata.exiftool import ExifTool

CURRENT_DIGEST = "File:CurrentIPTCDigest"
STORED_DIGEST = "Photoshop:IPTCDigest"
IPTC_CHARSET_TAG = "IPTC:CodedCharacterSet"


class IptcCharset(StrEnum):
    """How the IPTC block's text is encoded."""

    DECLARED_UTF8 = "utf8-declared"  # CodedCharacterSet says UTF-8
    UTF8 = "utf8"  # undeclared, but every non-ASCII value is valid UTF-8
    CP1252 = "cp1252"  # undeclared and not UTF-8: Windows-1252 (exiftool's "Latin")
    ASCII = "ascii"  # undeclared, nothing but ASCII (or no IPTC at all)


@dataclass(frozen=True, slots=True)
class Person:
    """What an MWG reader shows for the three fields a person most often writes."""

    title: str = ""
    caption: str = ""
    keywords: tuple[str, ...] = ()

    def text(self, name: str) -> str:
        return {"title": self.title, "caption": self.caption}.get(name, "")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A file's metadata as exiftool names it (``-G1 -a -struct``), IPTC text decoded.
    Of a JPEG with no metadata block, only the file-type tags exiftool would give."""

    tags: dict[str, Any]
    iptc_charset: IptcCharset
    person: Person

    @property
    def has_iptc(self) -> bool:
        return any(key.startswith("IPTC:") for key in self.tags)

    @property
    def has_xmp(self) -> bool:
        return any(key.startswith("XMP-") for key in self.tags)


# what exiftool reads of a JPEG that carries no metadata, of the tags phototag looks at
BARE_JPEG_TAGS = {
    "File:FileType": "JPEG",
    "File:FileTypeExtension": "jpg",
    "File:MIMEType": "image/jpeg",
}


def read_snapshot(path: Path, *, tool: ExifTool) -> Snapshot:
    """Read ``path`` (a photo or an XMP sidecar) with exiftool, unless it is a JPEG with
    no metadata block (:func:`phototag.metadata.bare.is_bare_jpeg`): nothing to read."""
    tags, charset = decode_iptc(BARE_JPEG_TAGS if is_bare_jpeg(path) else tool.read(path))
    return Snapshot(tags=tags, iptc_charset=charset, person=reconcile(tags))


def decode_iptc(tags: Mapping[str, Any]) -> tuple[dict[str, Any], IptcCharset]:
    """``tags`` with undeclared IPTC text re-decoded, and the IPTC block's charset.

    exiftool decodes undeclared IPTC as Windows-1252; the bytes are recovered from that
    text and decoded as UTF-8 when every non-ASCII value is valid UTF-8.
    """
    out = dict(tags)
    if str(tags.get(IPTC_CHARSET_TAG, "")).upper() in ("UTF8", "UTF-8"):
        return out, IptcCharset.DECLARED_UTF8
    texts = {k: v for k, v in tags.items() if k.startswith("IPTC:") and not _ascii(v)}
    if not texts:
        return out, IptcCharset.ASCII
    try:
        decoded = {k: _map(v, lambda s: _cp1252_bytes(s).decode("utf-8")) for k, v in texts.items()}
    except ValueError:  # not UTF-8 (or not text exiftool read as Windows-1252)
        return out, IptcCharset.CP1252
    out.update(decoded)
    return out, IptcCharset.UTF8


def reconcile(tags: Mapping[str, Any]) -> Person:
    """The person's title, caption and keywords as an MWG reader shows them."""
    xmp_current = xmp_is_current(tags)
    keywords = _pick(tags.get("XMP-dc:Subject"), tags.get("IPTC:Keywords"), xmp_current)
    if not keywords:
        keywords = [k.strip() for k in str(tags.get("IFD0:XPKeywords") or "").split(";")]
    title = _pick(tags.get("XMP-dc:Title"), tags.get("IPTC:ObjectName"), xmp_current)
    caption = _pick(tags.get("XMP-dc:Description"), tags.get("IPTC:Caption-Abstract"), xmp_current)
    description = text_of(tags.get("IFD0:ImageDescription"))
    return Person(
        title=text_of(title) or text_of(tags.get("IFD0:XPTitle")),
        caption=description
        or text_of(caption)
        or text_of(tags.get("IFD0:XPSubject"))
        or text_of(tags.get("IFD0:XPComment")),
        keywords=tuple(dict.fromkeys(k for k in as_texts(keywords) if k.strip())),
    )


def shown_with_sidecar(sidecar: Snapshot, photo: Person) -> Person:
    """What readers that prefer a sidecar (digiKam, darktable, Lightroom) show of a photo
    with one: each field from the sidecar where it has the field, else from the photo.
    The sidecar's keywords, once it has any, are what readers show: a keyword of the
    photo's that a person removed there stays removed."""
    return Person(
        title=sidecar.person.title or photo.title,
        caption=sidecar.person.caption or photo.caption,
        keywords=sidecar.person.keywords if "XMP-dc:Subject" in sidecar.tags else photo.keywords,
    )


def xmp_is_current(tags: Mapping[str, Any]) -> bool:
    """MWG: XMP is current unless the stored IPTC digest disagrees with the IPTC now."""
    current, stored = tags.get(CURRENT_DIGEST), tags.get(STORED_DIGEST)
    return current is None or stored is None or current == stored


def as_texts(value: Any) -> list[str]:
    """A tag's value as a list of texts (exiftool gives a scalar for a one-item list)."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def text_of(value: Any) -> str:
    """A text field's value ("" if blank, as MWG treats a field of spaces)."""
    if isinstance(value, list):
        value = value[0] if value else ""
    text = "" if value is None else str(value)
    return text if text.strip() else ""


def _pick(xmp: Any, iptc: Any, xmp_current: bool) -> Any:
    # exiftool's MWG RawConv: XMP when it is there and current, else IPTC
    if xmp not in (None, "", []) and (xmp_current or iptc in (None, "", [])):
        return xmp
    return iptc if iptc not in (None, "", []) else xmp


def _ascii(value: Any) -> bool:
    return all(str(v).isascii() for v in as_texts(value)) if not isinstance(value, int) else True


def _map(value: Any, fn: Any) -> Any:
    if isinstance(value, list):
        return [fn(str(v)) if isinstance(v, str) else v for v in value]
    return fn(value) if isinstance(value, str) else value


def _cp1252_bytes(text: str) -> bytes:
    # exiftool maps the five bytes Windows-1252 leaves undefined to U+0081 etc.;
    # ValueError for a character that no single byte gives
    return b"".join(ch.encode("cp1252") if fits_cp1252(ch) else bytes([ord(ch)]) for ch in text)


def fits_cp1252(text: str) -> bool:
    """Whether ``text`` can be written in Windows-1252."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True
