"""ImageNet classes become friendly keywords with generic parents."""

from __future__ import annotations

import numpy as np

from phototag.taggers.local.classifier import pick_labels
from phototag.taggers.local.labels import class_paths

TABBY, TIGER_CAT, EGYPTIAN_CAT, ESPRESSO, CUP, MOPED = 281, 282, 285, 967, 968, 665


def _probabilities(**by_index: float) -> np.ndarray:
    probs = np.full(1000, 0.0, dtype=np.float32)
    for index, value in by_index.items():
        probs[int(index.lstrip("c"))] = value
    rest = 1.0 - probs.sum()
    probs[probs == 0] = rest / (probs == 0).sum()
    return probs


def test_every_class_has_a_friendly_name() -> None:
    paths = class_paths()
    assert len(paths) == 1000
    assert all(path.leaf.keyword and path.leaf.title[0].isupper() for path in paths)


def test_a_confident_class_brings_its_parents() -> None:
    (label,) = pick_labels(_probabilities(c967=0.9), top_k=3, min_confidence=0.25)
    assert label.keywords == ("espresso", "coffee", "drink")
    assert label.hierarchy == "Drinks|Coffee|Espresso"


def test_split_classes_still_make_a_confident_group() -> None:
    probs = _probabilities(c281=0.2, c282=0.2, c285=0.2)
    (label,) = pick_labels(probs, top_k=3, min_confidence=0.25)
    assert label.keywords == ("cat", "animal")
    assert label.hierarchy == "Animals|Cats"
    assert abs(label.confidence - 0.6) < 0.01


def test_low_confidence_guesses_are_left_out() -> None:
    assert pick_labels(_probabilities(c665=0.1, c968=0.1), top_k=3, min_confidence=0.25) == ()


def test_top_k_and_order() -> None:
    probs = _probabilities(c281=0.31, c967=0.35, c665=0.28)
    labels = pick_labels(probs, top_k=2, min_confidence=0.25)
    assert [label.name for label in labels] == ["espresso", "tabby cat"]
    assert labels[1].hierarchy == "Animals|Cats|Tabby cat"
