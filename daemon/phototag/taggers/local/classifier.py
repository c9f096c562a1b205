"""What is in the photo: EfficientNet-Lite0 (ImageNet-1k) under onnxruntime, on the CPU.

The ONNX file ships in the package (``data/efficientnet_lite0.onnx``, rebuilt by
``packaging/model/export_efficientnet_lite0.py``). The session is created on first use,
once, under a lock, and runs one image at a time (see :class:`Classifier`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from phototag.errors import BackendUnavailable
from phototag.taggers.local.labels import ClassPath, Node, class_paths

MODEL_ID = "efficientnet-lite0"
INPUT_EDGE_PX = 224


def default_model_path() -> Path:
    model = resources.files("phototag.taggers.local").joinpath("data/efficientnet_lite0.onnx")
    return Path(str(model))


@dataclass(frozen=True, slots=True)
class Label:
    """One thing seen, with its generic parents; ``keywords`` run specific to generic."""

    name: str  # "tabby cat"
    keywords: tuple[str, ...]  # ("tabby cat", "cat", "animal")
    hierarchy: str  # "Animals|Cats|Tabby cat"
    confidence: float


class Classifier:
    """Loads the model lazily and once; thread-safe.

    One image at a time: each concurrent ``run`` needs its own ~20 MB of activations in
    onnxruntime's arena, which keeps them for good. An inference is a third of a photo's
    work, so the other worker is mostly decoding or writing meanwhile and seldom waits.
    """

    def __init__(self, *, model_path: Path | None = None, threads: int = 1) -> None:
        self._model_path = model_path or default_model_path()
        self._threads = threads
        self._session: object | None = None
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()

    def load(self) -> None:
        """Create the session now (raises BackendUnavailable, permanent, if it cannot)."""
        if self._session is not None:
            return
        with self._lock:
            if self._session is None:
                self._session = _open_session(self._model_path, threads=self._threads)

    def close(self) -> None:
        with self._lock:
            self._session = None

    def probabilities(self, image: Image.Image) -> np.ndarray:
        """Softmax over the 1000 classes."""
        self.load()
        pixels = to_input(image)
        with self._run_lock:
            logits = self._session.run(None, {"image": pixels})[0][0]  # type: ignore[attr-defined]
        exp = np.exp(logits - logits.max())
        return exp / exp.sum()

    def labels(self, image: Image.Image, *, top_k: int, min_confidence: float) -> tuple[Label, ...]:
        return pick_labels(self.probabilities(image), top_k=top_k, min_confidence=min_confidence)


def _open_session(path: Path, *, threads: int) -> object:
    try:
        import onnxruntime
    except ImportError as exc:
        raise BackendUnavailable("onnxruntime is not installed", permanent=True) from exc
    if not path.is_file():
        raise BackendUnavailable(f"classifier model not found: {path}", permanent=True)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads  # the daemon's workers are the parallelism
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Without a memory pattern, each run's tensors reuse the arena's free blocks; with
    # one, the second run adds a single block the size of all of them (~9 MB, kept).
    options.enable_mem_pattern = False
    try:
        return onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise BackendUnavailable(
            f"cannot load the classifier model {path}: {exc}", permanent=True
        ) from exc


def to_input(image: Image.Image) -> np.ndarray:
    """Centre square, 224 x 224, RGB scaled to [-1, 1], NCHW float32 (as Lite0 was trained)."""
    width, height = image.size
    edge = min(width, height)
    left, top = (width - edge) // 2, (height - edge) // 2
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    square = rgb.resize(
        (INPUT_EDGE_PX, INPUT_EDGE_PX),
        Image.Resampling.BILINEAR,
        box=(left, top, left + edge, top + edge),
        reducing_gap=2.0,
    )
    pixels = (np.asarray(square, dtype=np.float32) - 127.0) / 128.0
    return pixels.transpose(2, 0, 1)[np.newaxis]


def pick_labels(
    probabilities: np.ndarray, *, top_k: int, min_confidence: float
) -> tuple[Label, ...]:
    """Confident classes and confident groups, at most ``top_k``, most confident first.

    A class counts when its own probability reaches ``min_confidence``. A group (Cats,
    Animals) counts on the summed probability of its classes, so a photo the model splits
    between tabby, tiger cat and Egyptian Mau is still confidently a cat; a group is only
    added when no chosen label already sits under it.
    """
    paths = class_paths()
    chosen: list[tuple[tuple[Node, ...], float]] = []
    for index in np.argsort(-probabilities)[:top_k]:
        confidence = float(probabilities[index])
        if confidence < min_confidence:
            break
        path = paths[index]
        chosen.append(((*path.parents, path.leaf), confidence))
    for prefix, confidence in _group_scores(probabilities, paths):
        if len(chosen) >= top_k:
            break
        covered = any(nodes[: len(prefix)] == prefix for nodes, _ in chosen)
        if confidence >= min_confidence and not covered:
            chosen.append((prefix, confidence))
    chosen.sort(key=lambda item: -item[1])
    return tuple(_label(nodes, confidence) for nodes, confidence in chosen)


def _group_scores(
    probabilities: np.ndarray, paths: tuple[ClassPath, ...]
) -> list[tuple[tuple[Node, ...], float]]:
    """Each class's nearest group (Cats, Coffee, Trucks) with its summed probability, most
    confident first. Wider groups (Animals) are not summed: over hundreds of classes the
    model's background noise alone would reach the threshold."""
    sums: dict[tuple[Node, ...], float] = {}
    for path, probability in zip(paths, probabilities, strict=True):
        if path.parents:
            sums[path.parents] = sums.get(path.parents, 0.0) + float(probability)
    return sorted(sums.items(), key=lambda item: -item[1])


def _label(nodes: tuple[Node, ...], confidence: float) -> Label:
    return Label(
        name=nodes[-1].keyword,
        keywords=tuple(node.keyword for node in reversed(nodes)),
        hierarchy="|".join(node.title for node in nodes),
        confidence=confidence,
    )
