"""The sky/vegetation pixel layer: pure rules on pixels, then real photographs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phototag.processing.imaging import prepare
from phototag.taggers.local.scene import scene_keywords, scene_of_pixels

BENCH = Path(__file__).parent.parent / "bench" / "quality" / "photos"


def test_smooth_blue_top_is_sky_and_green_is_nature() -> None:
    frame = np.zeros((64, 64, 3), dtype=np.float32)
    frame[:, :] = (0.35, 0.6, 0.95)  # clear sky
    assert scene_of_pixels(frame) == ("sky",)
    frame[20:] = (0.2, 0.6, 0.15)  # a meadow below it
    assert scene_of_pixels(frame) == ("sky", "nature")
    noisy = np.random.default_rng(1).random((64, 64, 3), dtype=np.float32)
    noisy[..., 2] = 0.95  # blue cloth, not sky: too much texture
    assert "sky" not in scene_of_pixels(noisy)
    assert scene_of_pixels(np.full((64, 64, 3), 0.5, dtype=np.float32)) == ()


def test_real_photos() -> None:
    def keywords(name: str) -> tuple[str, ...]:
        image = prepare(BENCH / f"{name}.jpg", max_edge_px=384, max_pixels=10**8)
        return scene_keywords(image.image)

    assert keywords("mate-storm") == ("sky",)  # storm clouds over a road
    assert keywords("mate-greenmeadow") == ("nature",)  # blades of grass
    assert keywords("opencv-fruits") == ()  # oranges and lemons are neither
