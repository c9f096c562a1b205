"""Which photos get an XMP sidecar, and what it is called."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from phototag.config import SIDECAR_EXTENSIONS

# exiv2 opens an XMP sidecar only if it already is a valid (possibly empty) xpacket.
EMPTY_XPACKET = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    b' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    b" </rdf:RDF>\n"
    b"</x:xmpmeta>\n"
    b'<?xpacket end="w"?>\n'
)


def needs_sidecar(path: Path) -> bool:
    """RAW and HEIC/HEIF files are never rewritten: their tags go to an XMP sidecar."""
    return path.suffix.lower() in SIDECAR_EXTENSIONS


def sidecar_path(path: Path, *, naming: Literal["append", "replace"]) -> Path:
    """``IMG_1.CR3.xmp`` ("append": darktable, digiKam) or ``IMG_1.xmp`` ("replace":
    Lightroom, Capture One). An existing sidecar whose extension differs only in case
    (``IMG_1.XMP``) is the one used."""
    name = path.name + ".xmp" if naming == "append" else path.stem + ".xmp"
    preferred = path.with_name(name)
    if preferred.exists():
        return preferred
    for variant in (preferred.with_suffix(".XMP"), preferred.with_suffix(".Xmp")):
        if variant.exists():
            return variant
    return preferred
