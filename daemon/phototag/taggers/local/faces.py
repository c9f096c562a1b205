"""Who faces the camera: OpenCV's frontal-face Haar cascade (ships in
``opencv-python-headless``), on a small greyscale copy; faces smaller than
:data:`MIN_FACE_SHARE` of the short edge are crowd. :mod:`.people` decides the keywords.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from phototag.errors import BackendUnavailable

DETECT_EDGE_PX = 256  # the cascade runs on a copy this size: about 20 ms an image
MIN_FACE_SHARE = 0.1  # a face narrower than this share of the short edge is not counted
CASCADE = "haarcascade_frontalface_default.xml"


class FaceCounter:
    """One cascade, created lazily, used by one thread at a time: OpenCV's cascade is not
    safe to share, and a cascade per thread (workers, preflight) costs memory for ~20 ms
    of work per photo that the other worker overlaps with its own stages anyway."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cascade: Any = None

    def load(self) -> None:
        with self._lock:
            self._loaded()

    def widths(self, image: Image.Image) -> tuple[float, ...]:
        """Each face's width as a share of the image's short edge."""
        grey = image.convert("L")
        grey.thumbnail((DETECT_EDGE_PX, DETECT_EDGE_PX), Image.Resampling.BILINEAR)
        pixels = np.asarray(grey)
        min_edge = max(24, int(MIN_FACE_SHARE * min(pixels.shape)))
        with self._lock:
            found = self._loaded().detectMultiScale(
                pixels, scaleFactor=1.2, minNeighbors=6, minSize=(min_edge, min_edge)
            )
        return tuple(float(box[2]) / min(pixels.shape) for box in found)

    def _loaded(self) -> Any:
        """The cascade, opened on first use; call with the lock held."""
        if self._cascade is None:
            self._cascade = _open_cascade()
        return self._cascade


def _open_cascade() -> object:
    try:
        import cv2
    except ImportError as exc:
        raise BackendUnavailable("opencv-python-headless is not installed", permanent=True) from exc
    path = Path(cv2.data.haarcascades) / CASCADE  # type: ignore[attr-defined]  # not in its stubs
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise BackendUnavailable(f"face cascade not found: {path}", permanent=True)
    return cascade
