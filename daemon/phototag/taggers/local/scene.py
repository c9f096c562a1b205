"""A small pixel layer for what ImageNet has no class for: blue sky and green vegetation.

Pure statistics of a 64-px thumbnail (about 1 ms). EfficientNet's 1000 classes name no
sky, grass, leaf or forest, so on bench/quality a third of the photos got no content word
at all; these two rules add a vague but true one where the pixels are unambiguous.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

THUMB_EDGE_PX = 64
SKY_TOP_SHARE = 0.3  # the sky is looked for in this top share of the rows
SKY_MIN_SHARE = 0.6  # that much of the top band is smooth blue: "sky"
SKY_MAX_GRADIENT = 0.04  # mean absolute step between neighbours: smooth, not blue cloth
GREEN_MIN_SHARE = 0.4  # that much of the frame is saturated green: "nature"


def scene_keywords(image: Image.Image) -> tuple[str, ...]:
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    thumb = rgb.resize((THUMB_EDGE_PX, THUMB_EDGE_PX), Image.Resampling.BOX)
    return scene_of_pixels(np.asarray(thumb, dtype=np.float32) / 255.0)


def scene_of_pixels(rgb: np.ndarray) -> tuple[str, ...]:
    """``rgb``: an (h, w, 3) array of floats in 0..1."""
    high = rgb.max(axis=2)
    chroma = high - rgb.min(axis=2)
    saturation = chroma / np.where(high > 0, high, 1.0)
    hue = _hue(rgb, high=high, chroma=chroma)
    out: list[str] = []
    band = max(1, int(SKY_TOP_SHARE * rgb.shape[0]))
    blue = (hue >= 185) & (hue <= 250) & (saturation >= 0.2) & (high >= 0.35)
    top = rgb[:band]
    gradient = float(np.abs(np.diff(top, axis=1)).mean()) if top.shape[1] > 1 else 1.0
    if float(blue[:band].mean()) >= SKY_MIN_SHARE and gradient <= SKY_MAX_GRADIENT:
        out.append("sky")
    green = (hue >= 65) & (hue <= 170) & (saturation >= 0.3) & (high >= 0.15)
    if float(green.mean()) >= GREEN_MIN_SHARE:
        out.append("nature")
    return tuple(out)


def _hue(rgb: np.ndarray, *, high: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    safe = np.where(chroma > 0, chroma, 1.0)
    return (
        np.where(
            high == r,
            ((g - b) / safe) % 6,
            np.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4),
        )
        * 60.0
    )
