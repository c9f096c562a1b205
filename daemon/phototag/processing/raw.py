"""A RAW photo is tagged from the preview its camera embedded; it is never decoded in full."""

from __future__ import annotations

import io
import time
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from phototag.config import SIDECAR_EXTENSIONS
from phototag.errors import BadImage

RAW_EXTENSIONS = tuple(e for e in SIDECAR_EXTENSIONS if e not in (".heic", ".heif", ".hif"))
# LibRaw's sizes.flip -> EXIF Orientation: dcraw's "12435867"[flip], which LibRaw also writes
# into a JPEG preview's EXIF. TIFF-based RAWs (DNG, NEF, ...) give mirrored flips 1, 2, 4, 7 too.
_ORIENTATION_OF_FLIP = {1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}
_DATE_TIME, _EXIF_IFD, _DATE_TIME_ORIGINAL = 0x0132, 0x8769, 0x9003


def is_raw(path: Path) -> bool:
    return path.suffix.lower() in RAW_EXTENSIONS


def orientation_of_flip(flip: int) -> int:
    """The EXIF orientation for LibRaw's ``flip`` (0 upright, 3 180°, 5 90° CCW, 6 90° CW;
    1, 2, 4 and 7 are the mirrored ones)."""
    return _ORIENTATION_OF_FLIP.get(flip, 1)


def open_preview(path: Path) -> Image.Image:
    """The RAW's embedded preview, lazily decoded when it is a JPEG (so ``draft`` works),
    with the RAW's orientation set in its EXIF. BadImage if there is none or it is bad."""
    import rawpy  # imported here: only RAW files need libraw

    try:
        with rawpy.imread(str(path)) as raw:
            flip = raw.sizes.flip
            thumb = raw.extract_thumb()
    except rawpy.LibRawNoThumbnailError as exc:
        raise BadImage(
            "the RAW has no embedded preview (phototag never decodes a RAW in full)"
        ) from exc
    except rawpy.LibRawError as exc:
        raise BadImage(f"not a RAW file libraw can read: {exc}") from exc
    image: Image.Image
    try:  # libraw hands a JPEG preview over as its bytes, a bitmap one as an array
        if isinstance(thumb.data, bytes):
            image = Image.open(io.BytesIO(thumb.data))
        else:
            image = Image.fromarray(thumb.data)
    except (UnidentifiedImageError, OSError, ValueError, TypeError) as exc:
        raise BadImage(f"the RAW's embedded preview cannot be decoded: {exc}") from exc
    exif = image.getexif()
    if flip:
        exif[0x0112] = orientation_of_flip(flip)
    # LibRaw heads a JPEG preview with EXIF made from what it read; a RAW without a date gets
    # the Unix epoch there (in local time), which must not become a "1970" keyword.
    epoch = time.strftime("%Y:%m:%d %H:%M:%S", time.localtime(0))
    if exif.get(_DATE_TIME) == epoch:
        del exif[_DATE_TIME]
        exif.get_ifd(_EXIF_IFD).pop(_DATE_TIME_ORIGINAL, None)
    return image
