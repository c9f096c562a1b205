"""Text that every XMP and IPTC reader accepts: what a model says, made safe to write.

XML 1.0 (and so XMP) forbids the C0 controls but tab, newline and carriage return, and
exiv2's XMP Toolkit refuses a packet holding U+FFFE or U+FFFF ("XMP Toolkit error 201"),
which then hides every other property of the photo from digiKam, darktable and gThumb.
IPTC-IIM has no such parser, so a control there is kept raw and shown as garbage. A lone
surrogate cannot be encoded as UTF-8 at all. :func:`valid_text` removes all of these
before anything is written: a control (NUL included, which C readers take as the end of
the string; a tab; a newline in a one-line title or keyword) becomes a space, so
``Cat\\x01on\\x07sofa`` reads "Cat on sofa" and a title holding a NUL keeps its second half.
"""

from __future__ import annotations

import re
from dataclasses import replace

from phototag.domain import TagResult, Tags

# every C0 control (a newline too, where a text has one line), DEL and the C1 block; a
# carriage return becomes a newline first (XMP normalises it away anyway)
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_CONTROLS_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]+")
# the 66 noncharacters (U+FDD0..U+FDEF and the last two of every plane) and lone surrogates
_INVALID = re.compile(
    "[\ufdd0-\ufdef\ud800-\udfff"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
    + "]"
)
_SPACES = re.compile(r" {2,}")
_LINE_ENDS = re.compile(r" *\n *")  # spaces left at either end of a line


def valid_text(text: str, *, multiline: bool = False) -> str:
    """``text`` with no noncharacter, no lone surrogate and no control character; with
    ``multiline`` (a caption, a description) its newlines stay.

    A run of controls becomes one space (it separated words), runs of spaces shrink to
    one, and the ends of the text and of its lines are stripped. Pure; a valid text
    comes back unchanged.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVALID.sub("", text)
    text = (_CONTROLS_BUT_NEWLINE if multiline else _CONTROLS).sub(" ", text)
    return _LINE_ENDS.sub("\n", _SPACES.sub(" ", text)).strip()


def valid_result(result: TagResult) -> TagResult:
    """``result`` with every text it would write made valid (:func:`valid_text`); a keyword
    left empty is dropped. The same object when nothing needed to change."""
    tags = result.tags
    clean = Tags(
        title=valid_text(tags.title),
        caption=valid_text(tags.caption, multiline=True),
        description=valid_text(tags.description, multiline=True),
        alt_text=valid_text(tags.alt_text, multiline=True),
        keywords=_valid_list(tags.keywords),
        hierarchical=_valid_list(tags.hierarchical),
    )
    return result if clean == tags else replace(result, tags=clean)


def _valid_list(items: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        if text := valid_text(item):
            seen.setdefault(text, None)
    return tuple(seen)
