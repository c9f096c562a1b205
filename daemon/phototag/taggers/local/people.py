"""People who do not face the camera: OpenCV's HOG person detector (its default people
SVM ships inside ``opencv-python-headless``), on a small greyscale copy; and the decision
that turns faces and figures into people keywords.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from phototag.errors import BackendUnavailable

DETECT_HEIGHT_PX = 192  # HOG's window is 64 x 128 px: figures from two thirds of this height up
MIN_SCORE = 0.8  # SVM margin below this: a pole, a tree trunk, a door frame
DOMINANT_FACE_SHARE = 0.2  # one face this wide (share of the short edge): a portrait


@dataclass(frozen=True, slots=True)
class People:
    """What the detectors saw: frontal faces, standing figures, and whether one face
    dominates the frame (a portrait)."""

    faces: int = 0
    figures: int = 0
    dominant: bool = False

    @property
    def count(self) -> int:
        """A frontal face and a figure are often the same person: the larger count."""
        return max(self.faces, self.figures)


def people_keywords(people: People) -> tuple[str, ...]:
    """ "portrait" only for one dominant person; "group" for several; never both."""
    if people.count == 1:
        return ("portrait", "person") if people.dominant else ("person",)
    return ("group", "people") if people.count > 1 else ()


class FigureDetector:
    """The HOG person detector, created lazily; one thread at a time (OpenCV's detector
    is not safe to share, and it is ~15 ms of work a photo)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hog: Any = None

    def load(self) -> None:
        with self._lock:
            self._loaded()

    def heights(self, image: Image.Image) -> tuple[float, ...]:
        """Each confident figure's height as a share of the image height."""
        grey = image.convert("L")
        scale = DETECT_HEIGHT_PX / grey.height
        if scale < 1:
            grey = grey.resize(
                (max(64, round(grey.width * scale)), DETECT_HEIGHT_PX), Image.Resampling.BILINEAR
            )
        pixels = np.asarray(grey)
        if pixels.shape[0] < 128 or pixels.shape[1] < 64:
            return ()
        with self._lock:
            boxes, scores = self._loaded().detectMultiScale(
                pixels, winStride=(8, 8), padding=(8, 8), scale=1.1
            )
        return tuple(
            float(box[3]) / pixels.shape[0]
            for box, score in zip(boxes, np.ravel(scores), strict=True)
            if float(score) >= MIN_SCORE
        )

    def _loaded(self) -> Any:
        if self._hog is None:
            try:
                import cv2
            except ImportError as exc:
                raise BackendUnavailable(
                    "opencv-python-headless is not installed", permanent=True
                ) from exc
            hog = cv2.HOGDescriptor()
            hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())  # type: ignore[attr-defined]
            self._hog = hog
        return self._hog
