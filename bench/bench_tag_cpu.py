"""CPU cost of ``LocalTagger.tag`` per photo: this tree against git revisions (not a test).

    .venv/bin/python bench/bench_tag_cpu.py [--rev 04e221c ...] [--rounds 5] [--repeats 3]

Makes 12-MP camera JPEGs from the test photographs (as ``bench_local.py`` does), extracts
each ``--rev``'s ``daemon/`` with ``git archive`` into a temp folder, and then, round after
round, runs one interpreter per tree in turn (this tree, then each revision), so every tree
sees the same load. Each interpreter decodes each photo (``imaging.prepare``) and tags it
``--repeats`` times on one thread and reports the process CPU time of each call. The
figures are the best over all rounds and repeats, per photo, then the mean over the
photos: the best is the cost of the code, the rest is other work on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
THIS_TREE = "this tree"
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def child(folder: Path, *, repeats: int) -> None:
    """Run inside the tree under test (``PYTHONPATH`` points at its ``daemon/``)."""
    import cv2

    from phototag.config import Settings
    from phototag.processing.imaging import prepare
    from phototag.taggers.local.tagger import LocalTagger

    cv2.setNumThreads(1)  # HOG and the cascades: CPU time on one thread, as a worker's
    settings = Settings()
    # trees before LocalTagger.from_settings took the whole settings
    build = getattr(LocalTagger, "from_settings", None)
    tagger = build(settings) if build else LocalTagger(settings=settings)  # type: ignore[call-arg]
    tagger.preflight()
    out: dict[str, dict[str, float]] = {}
    for path in sorted(folder.glob("*.jpg")):
        decode_s, tag_s = [], []
        for _ in range(repeats):
            t0 = time.process_time()
            image = prepare(
                path, max_edge_px=settings.max_edge_px, max_pixels=settings.max_image_pixels
            )
            t1 = time.process_time()
            tagger.tag(image)
            t2 = time.process_time()
            decode_s.append(t1 - t0)
            tag_s.append(t2 - t1)
        out[path.name] = {"decode_s": min(decode_s), "tag_s": min(tag_s)}
    print(json.dumps(out))


def extract(rev: str, into: Path) -> Path:
    """``daemon/`` of ``rev`` under ``into``; returns the folder to put on PYTHONPATH."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "daemon"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "daemon"


def measure(source: Path, folder: Path, *, repeats: int) -> dict[str, dict[str, float]]:
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": str(source)}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(folder), "--repeats", str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=source,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", action="append", default=[], help="a git revision to compare")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, repeats=args.repeats)
        return
    sys.path.insert(0, str(HERE))
    from bench_local import SIZE_PX, make_photos

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        make_photos(folder)
        trees = {THIS_TREE: ROOT / "daemon"}
        trees |= {rev: extract(rev, Path(tmp) / rev) for rev in args.rev}
        best: dict[str, dict[str, dict[str, float]]] = {name: {} for name in trees}
        load_before = os.getloadavg()
        for _ in range(args.rounds):
            for name, source in trees.items():
                for photo, cost in measure(source, folder, repeats=args.repeats).items():
                    seen = best[name].setdefault(photo, dict(cost))
                    for key, value in cost.items():
                        seen[key] = min(seen[key], value)
        load_after = os.getloadavg()
    photos = sorted(best[THIS_TREE])
    print(
        f"{len(photos)} photos of {SIZE_PX[0]}x{SIZE_PX[1]}, best of {args.rounds} round(s) "
        f"x {args.repeats}, "
        f"one thread; load {' '.join(f'{x:.2f}' for x in load_before)} -> "
        f"{' '.join(f'{x:.2f}' for x in load_after)}"
    )
    mine = statistics.fmean(best[THIS_TREE][p]["tag_s"] for p in photos)
    for name in trees:
        tag = statistics.fmean(best[name][p]["tag_s"] for p in photos)
        decode = statistics.fmean(best[name][p]["decode_s"] for p in photos)
        change = "" if name == THIS_TREE else f"  (this tree {100 * (mine / tag - 1):+.0f} %)"
        print(
            f"  {name:10s} tag {tag * 1000:6.1f} ms   decode {decode * 1000:5.1f} ms   "
            f"decode+tag {(tag + decode) * 1000:6.1f} ms{change}"
        )
    for photo in photos:
        cells = "  ".join(f"{best[name][photo]['tag_s'] * 1000:6.1f}" for name in trees)
        print(f"    {photo:16s} tag ms: {cells}")


if __name__ == "__main__":
    main()
