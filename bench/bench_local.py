"""Throughput and peak memory of the embedded default on 12-megapixel JPEGs (not a test).

    .venv/bin/python bench/bench_local.py [--workers 2] [--images 60]

Makes 12-MP JPEGs from the test photographs in a temp folder, then runs what a daemon
worker runs per photo — decode and downscale (``imaging.prepare``) and ``LocalTagger.tag``
— on ``--workers`` threads, and prints images per second, per-stage latency and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from phototag.config import Settings
from phototag.processing.imaging import prepare
from phototag.taggers.local.tagger import LocalTagger

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SIZE_PX = (4000, 3000)  # 12 megapixels


def make_photos(folder: Path) -> list[Path]:
    out = []
    for source in sorted(DATA.glob("*.jpg")):
        with Image.open(source) as im:
            exif = im.info.get("exif", b"")
            big = im.convert("RGB").resize(SIZE_PX, Image.Resampling.BICUBIC)
        dest = folder / source.name
        big.save(dest, quality=92, exif=exif)
        out.append(dest)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--images", type=int, default=60)
    args = parser.parse_args()
    settings = Settings()
    tagger = LocalTagger.from_settings(settings)
    started = time.perf_counter()
    health = tagger.preflight()
    print(
        f"preflight ok={health.ok} in {time.perf_counter() - started:.2f} s "
        f"({', '.join(f'{k} {v:.2f} s' for k, v in health.probes_s.items())})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        photos = make_photos(Path(tmp))
        work = [photos[i % len(photos)] for i in range(args.images)]
        prepare_s: list[float] = []
        tag_s: list[float] = []

        def one(path: Path) -> None:
            t0 = time.perf_counter()
            image = prepare(
                path, max_edge_px=settings.max_edge_px, max_pixels=settings.max_image_pixels
            )
            t1 = time.perf_counter()
            tagger.tag(image)
            prepare_s.append(t1 - t0)
            tag_s.append(time.perf_counter() - t1)

        one(work[0])  # warm up every model on this thread
        prepare_s.clear()
        tag_s.clear()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            list(pool.map(one, work))
        wall_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.images} images of {SIZE_PX[0]}x{SIZE_PX[1]} on {args.workers} workers: "
        f"{args.images / wall_s:.1f} images/s ({wall_s:.2f} s)"
    )
    for name, values in (("decode+downscale", prepare_s), ("tag", tag_s)):
        ordered = sorted(values)
        print(
            f"  {name:17s} p50 {statistics.median(ordered) * 1000:6.1f} ms   "
            f"p95 {ordered[int(0.95 * (len(ordered) - 1))] * 1000:6.1f} ms"
        )
    print(f"peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
