"""Per photo of bench/quality: the truth's main subject, what the tagger wrote, and the
model's top classes (not a test; a look inside ``bench_quality.py``'s figures).

    .venv/bin/python bench/quality/diagnose.py [--top 10] [--only missed|vague|named] [NAME ...]

For each photo it prints the truth's subject and vague terms, the score, the keywords and
title, then the ``--top`` classes of the mean over the views (``Classifier.labels`` uses)
with each class's group, and the summed probability of the best groups.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_quality import PHOTOS, Subject, load_truth, score
from phototag.config import Settings
from phototag.processing.imaging import prepare
from phototag.taggers.local.classifier import Classifier, views
from phototag.taggers.local.labels import class_paths
from phototag.taggers.local.tagger import LocalTagger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--only", choices=[s.value for s in Subject])
    args = parser.parse_args()
    settings = Settings()
    tagger = LocalTagger.from_settings(settings)
    classifier = Classifier()
    paths = class_paths()
    truth = load_truth()
    for name in args.names or sorted(truth):
        image = prepare(
            PHOTOS / f"{name}.jpg",
            max_edge_px=settings.max_edge_px,
            max_pixels=settings.max_image_pixels,
        )
        result = tagger.tag(image)
        s = score(name, result, image, truth[name])
        if args.only and s.subject != args.only:
            continue
        per_view = classifier.batch(views(image.image))
        mean = per_view.mean(axis=0)
        print(f"== {name}: {s.subject} / title {s.title_score} {s.title!r}")
        print(f"   truth subject {list(truth[name].subject)} vague {list(truth[name].vague)}")
        print(f"   keywords right {s.right} wrong {s.wrong}")
        print(f"   views {len(per_view)}; centre max {per_view[0].max():.2f}")
        for index in np.argsort(-mean)[: args.top]:
            path = paths[index]
            group = "/".join(node.title for node in path.parents) or "-"
            by_view = " ".join(f"{p:.2f}" for p in per_view[:, index])
            print(f"   {mean[index]:.3f} [{by_view}] {index:4d} {path.leaf.keyword} ({group})")
        sums: dict[str, float] = {}
        for index, path in enumerate(paths):
            for depth in range(1, len(path.parents) + 1):
                key = "/".join(node.title for node in path.parents[:depth])
                sums[key] = sums.get(key, 0.0) + float(mean[index])
        best = sorted(sums.items(), key=lambda item: -item[1])[:5]
        print("   groups " + ", ".join(f"{key} {value:.2f}" for key, value in best))


if __name__ == "__main__":
    main()
