"""Which photos get an XMP sidecar, and what it is called."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from phototag.config import SIDECAR_EXTENSIONS
from phototag.errors import MetadataWriteError

# the longest file name ext4, btrfs, XFS and tmpfs allow (NAME_MAX); the sidecar's name is
# longer than its photo's, so a photo named near the limit can have none
NAME_MAX_BYTES = 255

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
    (``IMG_1.XMP``) is the one used. MetadataWriteError if the name would be too long
    for any file name."""
    name = path.name + ".xmp" if naming == "append" else path.stem + ".xmp"
    if len(os.fsencode(name)) > NAME_MAX_BYTES:
        raise MetadataWriteError(
            f"its XMP sidecar's name would be {len(os.fsencode(name))} bytes long, over the "
            f"{NAME_MAX_BYTES} a file name may have; shorten the photo's name (or use "
            'metadata.sidecar_naming = "replace")'
        )
    preferred = path.with_name(name)
    if preferred.exists():
        return preferred
    for variant in (preferred.with_suffix(".XMP"), preferred.with_suffix(".Xmp")):
        if variant.exists():
            return variant
    return preferred
