"""``tagctl report --html`` over 10,000 photos: how long it takes, how big the page is, and
how fast headless chromium shows it (no target in the issue; figures for RESULTS.md).

    .venv/bin/python bench/bench_report.py [--quick] [--json FILE]

The photos are hard links of one 1024 x 683 JPEG (each path gets its own thumbnail all
the same); the index holds a done record for each (title, a caption, a 250-character
description, 12 keywords) and 1 % failures. Times the command twice (thumbnails made,
then reused), then loads the page in chromium (as tests/browser.py starts it) and times
the first page of cards and a click to the next page.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from common import DATA, PYTHON, Report, parser
from phototag.domain import FileSig
from phototag.store.queue import Index

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import start_browser

WORDS = ["sea", "beach", "sunset", "sky", "cloud", "wave", "sand", "rock", "boat"]
WORDS += ["harbour", "light", "water"]
DESCRIPTION = (
    "A wide view of a quiet harbour at dusk, with small fishing boats moored along a stone "
    "quay, the water calm and reflecting the orange sky, low hills behind and a lighthouse "
    "on the far point; the light is warm and soft."
)


def fill(index_path: Path, photos: list[Path]) -> None:
    index = Index(index_path)
    for path in photos:
        index.enqueue(path, FileSig.of(path))
    jobs = index.claim(len(photos))
    for job in jobs:
        failed = job.id % 100 == 0
        index.finish(
            job.id,
            status="failed" if failed else "done",
            error="not an image Pillow can decode" if failed else None,
            result=None
            if failed
            else {
                "title": f"Harbour at dusk {job.id}",
                "caption": "Fishing boats in a calm harbour at sunset.",
                "description": DESCRIPTION,
                "keywords": [*WORDS[job.id % 3 :], "harbour"],
            },
            backend="openai",
            model="qwen2.5-vl-7b",
        )
    index.close()


def du(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def main() -> None:
    args = parser(__doc__).parse_args()
    count = 1_000 if args.quick else 10_000
    report = Report(f"13. tagctl report --html over {count:,} photos")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        photos_dir = root / "photos"
        photos_dir.mkdir()
        source = photos_dir / "source.jpg"
        with Image.open(DATA / "chelsea.jpg") as im:
            im.convert("RGB").resize((1024, 683)).save(source, quality=88)
        photos = []
        for i in range(count):
            path = photos_dir / f"{i // 1000:02d}" / f"IMG_{i:05d}.jpg"
            path.parent.mkdir(exist_ok=True)
            os.link(source, path)
            photos.append(path)
        state = root / "state"
        fill(state / "index.sqlite3", photos)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PHOTOTAG_")},
            "PHOTOTAG_STATE_DIR": str(state),
            "PHOTOTAG_ROOTS": json.dumps([str(photos_dir)]),
            "XDG_CONFIG_HOME": str(root / "cfg"),
        }
        page = root / "review.html"
        cmd = [PYTHON, "-m", "phototag.cli.tagctl", "report", "--html", str(page)]
        for label in ("first run, thumbnails made", "second run, thumbnails reused"):
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True)
            spent = time.perf_counter() - t0
            report.row(
                f"tagctl report ({label})",
                f"{spent:6.1f} s ({spent / count * 1000:.1f} ms a photo)",
            )
        thumbs = root / "review_files"
        report.row(
            "page size",
            f"{page.stat().st_size / 1e6:.2f} MB ({page.stat().st_size / count:.0f} B a photo)",
        )
        report.row(
            "thumbnail folder",
            f"{len(list(thumbs.iterdir())):,} files, {du(thumbs) / 1e6:.0f} MB "
            f"({du(thumbs) / len(list(thumbs.iterdir())) / 1000:.1f} kB each)",
        )
        driver = start_browser(root / "profile", width_px=1400, height_px=1000)
        try:
            t0 = time.perf_counter()
            driver.get(page.as_uri())  # returns after the load event
            report.row(
                "chromium: driver.get (load event)", f"{(time.perf_counter() - t0) * 1000:6.0f} ms"
            )
            timing = driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0];"
                "return [n.domContentLoadedEventEnd, n.loadEventEnd];"
            )
            report.row(
                "chromium: DOMContentLoaded / load, first 100 cards drawn",
                f"{timing[0]:6.0f} / {timing[1]:.0f} ms",
            )
            time.sleep(1)  # let the lazy thumbnails in view arrive
            shown = driver.execute_script(
                "return [...document.querySelectorAll('img.thumb')]"
                ".filter(i => i.complete && i.naturalWidth > 0).length"
            )
            report.row("chromium: thumbnails loaded for the first view", f"{shown} of {count:,}")
            spent = driver.execute_script(
                "const t = performance.now(); show(1); return performance.now() - t;"
            )
            report.row("chromium: next page of 100 cards built", f"{spent:6.1f} ms")
            heap = driver.execute_script(
                "return performance.memory ? performance.memory.usedJSHeapSize : 0"
            )
            report.row("chromium: JS heap in use", f"{heap / 1e6:.0f} MB")
        finally:
            driver.quit()
    report.save(args.json)


if __name__ == "__main__":
    main()
