"""Image preparation of 24-MP JPEGs: phototag in-process against vipsthumbnail (target <= 1.2).

    .venv/bin/python bench/bench_prepare.py [--quick] [--json FILE]

phototag: ``imaging.prepare`` (decode with JPEG draft, orient, downscale to 1024 px) plus
the JPEG encode the VLM tagger does (``taggers.vlm.tagger.encode_jpeg``, quality 85), timed
in-process (no interpreter start-up). vips: ``vipsthumbnail --size 1024`` writing a
quality-85 JPEG, timed three ways: one process per file (start-up included); the same
minus the median of a ``vipsthumbnail --version`` run (start-up excluded); and all files
in one invocation divided by the count (start-up amortised). Each is the median of
several rounds, interleaved, so both sides see the same machine load.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import Report, make_photos, parser
from phototag.processing.imaging import prepare
from phototag.taggers.vlm.tagger import encode_jpeg

EDGE = 1024
QUALITY = 85


def ours(paths: list[Path]) -> float:
    t0 = time.perf_counter()
    for path in paths:
        image = prepare(path, max_edge_px=EDGE, max_pixels=200_000_000)
        encode_jpeg(image.image, max_edge_px=EDGE, quality=QUALITY, max_bytes=2_000_000)
    return (time.perf_counter() - t0) / len(paths)


def vips_each(paths: list[Path], out: Path, *, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    for path in paths:
        subprocess.run(
            ["vipsthumbnail", str(path), "--size", str(EDGE), "-o", f"{out}/%s.jpg[Q={QUALITY}]"],
            check=True,
            env=env,
        )
    return (time.perf_counter() - t0) / len(paths)


def vips_batch(paths: list[Path], out: Path, *, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [
            "vipsthumbnail",
            *map(str, paths),
            "--size",
            str(EDGE),
            "-o",
            f"{out}/%s.jpg[Q={QUALITY}]",
        ],
        check=True,
        env=env,
    )
    return (time.perf_counter() - t0) / len(paths)


def vips_startup(*, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(["vipsthumbnail", "--version"], check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


def main() -> None:
    args = parser(__doc__).parse_args()
    count, rounds = (4, 3) if args.quick else (10, 5)
    report = Report("1. Image preparation, 24-MP JPEG -> 1024 px JPEG")
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_photos(Path(tmp) / "in", count)
        out = Path(tmp) / "out"
        out.mkdir()
        mb = statistics.mean(p.stat().st_size for p in paths) / 1e6
        report.row(
            "files",
            f"{count} x 6000x4000 JPEG q92, mean {mb:.1f} MB (every 4th has EXIF orientation 6)",
        )
        envs = {"default": dict(os.environ), "1 thread": {**os.environ, "VIPS_CONCURRENCY": "1"}}
        ours(paths[:1])  # warm the page cache and imports
        vips_each(paths[:1], out, env=envs["default"])
        figures: dict[str, list[float]] = {}
        for _ in range(rounds):
            figures.setdefault("phototag", []).append(ours(paths))
            for name, env in envs.items():
                startup = statistics.median(vips_startup(env=env) for _ in range(5))
                each = vips_each(paths, out, env=env)
                figures.setdefault(f"vips {name} per process", []).append(each)
                figures.setdefault(f"vips {name} start-up", []).append(startup)
                figures.setdefault(f"vips {name} minus start-up", []).append(each - startup)
                figures.setdefault(f"vips {name} one invocation", []).append(
                    vips_batch(paths, out, env=env)
                )
        med = {k: statistics.median(v) for k, v in figures.items()}
        for name, value in med.items():
            report.row(f"{name} (s/image)", f"{value * 1000:7.1f} ms")
        base = med["phototag"]
        for name in ("default", "1 thread"):
            for way in ("per process", "minus start-up", "one invocation"):
                report.row(
                    f"ratio phototag / vips {name} {way}", f"{base / med[f'vips {name} {way}']:.2f}"
                )
        report.target(
            "phototag / vipsthumbnail (start-up excluded both sides, default threads)",
            base / med["vips default minus start-up"],
            1.2,
        )
        report.note(
            "phototag runs on one thread; vipsthumbnail uses its thread pool on the "
            f"{os.cpu_count()} cores by default, so the VIPS_CONCURRENCY=1 rows "
            "compare one core with one core"
        )
        report.note(
            "vips 'minus start-up' subtracts the median wall time of `vipsthumbnail "
            "--version` (process start plus libvips init) from each per-file run"
        )
    report.save(args.json)


if __name__ == "__main__":
    main()
