"""What is in the photo: EfficientNet-Lite0 (ImageNet-1k) under onnxruntime, on the CPU.

The ONNX file ships in the package (``data/efficientnet_lite0.onnx``, rebuilt by
``packaging/model/export_efficientnet_lite0.py``). The session is created on first use,
once, under a lock, and runs one image at a time (see :class:`Classifier`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from phototag.errors import BackendUnavailable
from phototag.taggers.local.labels import LANDSCAPES, NEVER, SUM_BAR_FACTOR, Node, class_paths

MODEL_ID = "efficientnet-lite0"
INPUT_EDGE_PX = 224
SIDE_VIEWS_MIN_ASPECT = 1.5  # wider (or taller) than 3:2: the two end squares are seen too
# A scene's probability is split among its neighbours (mountain, valley, cliff): one scene
# at this much is as sure as an object at ``min_confidence`` (calibrated on bench/quality).
SCENE_MIN_CONFIDENCE = 0.25
CONFIDENT_CENTRE = 0.4  # the centre view this sure of one class: the end views are skipped
CROP_MIN_CONFIDENCE = 0.65  # a class this sure in one view alone is a secondary subject


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
    generic: bool = False  # a broad category ("animal", "architecture"): never a title
    group: str | None = None  # its nearest specific group ("cat" for a tabby cat), if any
    group_confidence: float = 0.0  # that group's summed probability


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
        return self.batch([image])[0]

    def batch(self, images: list[Image.Image]) -> np.ndarray:
        """Softmax over the 1000 classes for each image, in one inference (n x 1000)."""
        self.load()
        pixels = np.concatenate([to_input(image) for image in images])
        with self._run_lock:
            logits = self._session.run(None, {"image": pixels})[0]  # type: ignore[union-attr]
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def labels(self, image: Image.Image, *, top_k: int, min_confidence: float) -> tuple[Label, ...]:
        """Labels from the centre view; when it is unsure (no class reaches
        :data:`CONFIDENT_CENTRE`), from the mean over the framing :func:`views`, plus what
        one view alone (the detail view too) is sure of. Each other view costs one more
        inference, paid only when the centre is unsure (2 of the 7 test photos, 33 of
        bench/quality's 56): one for a frame up to 3:2, three for a longer one."""
        centre, *others = views(image)
        per_view = self.batch([centre])
        if others and float(per_view[0].max()) < CONFIDENT_CENTRE:
            per_view = np.concatenate([per_view, self.batch(others)])
        # the detail view (the last) is for secondary subjects only: in the mean it dilutes
        # the frame's own evidence (bench/quality: named or vaguely named 0.77 -> 0.73)
        framing = per_view[:-1] if len(per_view) > 1 else per_view
        return pick_labels(
            framing.mean(axis=0),
            top_k=top_k,
            min_confidence=min_confidence,
            view_maxima=per_view.max(axis=0) if len(per_view) > 1 else None,
        )


def views(image: Image.Image) -> list[Image.Image]:
    """The centre square; for a frame longer than :data:`SIDE_VIEWS_MIN_ASPECT`, the
    squares at both ends; last, the detail: the middle half of the centre square. A wide
    landscape's sides and a tall frame's top and bottom hold what the centre alone misses
    (measured on bench/quality: canoes at the left of a lake shore, mountains at a frame's
    edges), and the detail a small subject the whole frame drowns (a drum on the floor of a
    room: 0.71 in the detail, 0.25 in the centre square). The views after the first run as
    one batch."""
    width, height = image.size
    edge = min(width, height)
    left, top = (width - edge) // 2 + edge // 4, (height - edge) // 2 + edge // 4
    detail = image.crop((left, top, left + edge // 2, top + edge // 2))
    if max(width, height) <= SIDE_VIEWS_MIN_ASPECT * edge:
        return [image, detail]
    if width > height:
        ends = [image.crop((0, 0, edge, height)), image.crop((width - edge, 0, width, height))]
    else:
        ends = [image.crop((0, 0, width, edge)), image.crop((0, height - edge, width, height))]
    return [image, *ends, detail]  # the first is the centre (to_input crops it)


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
    probabilities: np.ndarray,
    *,
    top_k: int,
    min_confidence: float,
    view_maxima: np.ndarray | None = None,
) -> tuple[Label, ...]:
    """Confident classes and confident groups, at most ``top_k``, most confident first.

    A class counts when its own probability reaches ``min_confidence`` and the class's own
    calibrated bar (:data:`labels.CLASS_MIN_CONFIDENCE`, :data:`labels.GROUP_MIN_CONFIDENCE`).
    Every node of the hierarchy (Cats; Animals; Plants) counts on the summed probability of
    the classes under it, against ``min_confidence`` times its calibrated factor
    (:data:`labels.SUM_BAR_FACTOR`): a photo the model splits between tabby, tiger cat and
    Egyptian Mau is still confidently a cat, and one it splits between daisy, acorn and
    rapeseed is a plant. The most specific node that counts is taken, and only when no
    chosen label already sits under it, so "cat" never stands beside "tabby cat", nor
    "animal" beside "cat". Last, a class that a single view is sure of (``view_maxima`` >=
    :data:`CROP_MIN_CONFIDENCE`) is added as a secondary subject, with that view's
    confidence.
    """
    paths = class_paths()
    chosen: list[tuple[tuple[Node, ...], float, tuple[str, ...]]] = []
    # A class that is never written ("wing": 0.4 on a misty lake at dusk) is the model's
    # confusion, no evidence of anything: the rest is what the photo shows.
    probabilities = np.where(_never_written(), 0.0, probabilities)
    probabilities = probabilities / max(float(probabilities.sum()), 1e-9)
    for index in np.argsort(-probabilities)[: 4 * top_k]:
        confidence = float(probabilities[index])
        path = paths[index]
        if confidence < min(min_confidence, SCENE_MIN_CONFIDENCE) or len(chosen) >= top_k:
            break
        bar = SCENE_MIN_CONFIDENCE if path.parents[-1:] == (LANDSCAPES,) else min_confidence
        if confidence >= max(bar, path.min_confidence):
            chosen.append(((*path.parents, path.leaf), confidence, path.extra))
    sums = node_sums(probabilities)
    # deepest first, so that the most specific node that counts is the one taken
    for prefix, confidence in sorted(sums.items(), key=lambda item: (-len(item[0]), -item[1])):
        factor = SUM_BAR_FACTOR.get(prefix[-1].title, 1.0)
        if len(chosen) >= top_k or confidence < min_confidence * factor:
            continue
        if not any(nodes[: len(prefix)] == prefix for nodes, _, _ in chosen):
            chosen.append((prefix, confidence, ()))
    if view_maxima is not None:
        for index in np.argsort(-view_maxima)[:top_k]:
            confidence = float(view_maxima[index])
            path = paths[index]
            nodes = (*path.parents, path.leaf)
            if len(chosen) >= top_k or confidence < max(CROP_MIN_CONFIDENCE, min_confidence):
                break
            seen = any(n[-1] == path.leaf for n, _, _ in chosen)
            if confidence >= path.min_confidence and not seen:
                chosen.append((nodes, confidence, path.extra))
    chosen.sort(key=lambda item: -item[1])
    return tuple(_label(nodes, confidence, extra, sums) for nodes, confidence, extra in chosen)


def node_sums(probabilities: np.ndarray) -> dict[tuple[Node, ...], float]:
    """The summed probability under every node of the hierarchy, keyed by its path from
    the root: ``(Animals, Cats)`` sums the five cats, ``(Animals,)`` every animal. A class
    with its own raised bar is known noise below it ("wing" on clouds, "ladybug" on a
    leaf), so its probability is no evidence for its parents either."""
    nodes, members, owners = _membership()
    sums = np.bincount(owners, weights=probabilities[members], minlength=len(nodes))
    return {node: float(total) for node, total in zip(nodes, sums, strict=True)}


@cache
def _never_written() -> np.ndarray:
    return np.array([path.min_confidence >= NEVER for path in class_paths()])


@cache
def _membership() -> tuple[list[tuple[Node, ...]], np.ndarray, np.ndarray]:
    """Every node path, and (class index, node index) pairs for each class under a node;
    built once, since hashing 1000 paths per photo cost ~5 ms."""
    paths = class_paths()
    nodes = list(
        dict.fromkeys(p.parents[:depth] for p in paths for depth in range(1, len(p.parents) + 1))
    )
    where = {node: i for i, node in enumerate(nodes)}
    pairs = [
        (index, where[p.parents[:depth]])
        for index, p in enumerate(paths)
        if p.group_evidence
        for depth in range(1, len(p.parents) + 1)
    ]
    members, owners = (np.array(column) for column in zip(*pairs, strict=True))
    return nodes, members, owners


def _label(
    nodes: tuple[Node, ...],
    confidence: float,
    extra: tuple[str, ...],
    sums: dict[tuple[Node, ...], float],
) -> Label:
    parents = nodes[:-1]
    specific = bool(parents) and not parents[-1].generic
    return Label(
        name=nodes[-1].keyword,
        keywords=(nodes[-1].keyword, *extra, *(node.keyword for node in reversed(nodes[:-1]))),
        hierarchy="|".join(node.title for node in nodes),
        confidence=confidence,
        generic=nodes[-1].generic,
        group=parents[-1].keyword if specific else None,
        group_confidence=sums.get(parents, 0.0) if specific else 0.0,
    )
