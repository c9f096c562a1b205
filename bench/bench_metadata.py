"""Metadata writes per second: phototag's write_tags against exiftool run per photo.

Batch taggers run exiftool twice per photo (one process to read what is there, one to
write). phototag sends the same two steps to one long-lived ``exiftool -stay_open``
process and commits atomically (temp file, fsync, rename, fsync of the folder), all safety
steps included. A third line runs the reference's exact two commands through that helper,
so the gain of the helper alone shows apart from phototag's own work. Target: write_tags
at least 10x faster than a process per photo.

    .venv/bin/python bench/bench_metadata.py [--count 200]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from phototag.config import MetadataSettings
from phototag.domain import FileSig, TagResult, Tags
from phototag.metadata.exiftool import ExifTool
from phototag.metadata.write import write_tags

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
PHOTOS = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "motorcycle.jpg", "rocket.jpg")
RESULT = TagResult(
    tags=Tags(
        title="A title",
        caption="A caption of some length, with é and 日本語.",
        description="A longer description.",
        keywords=("cat", "sofa", "indoor", "café"),
        hierarchical=("Animals|Cats",),
    ),
    backend="local",
    model="bench",
)


def copies(folder: Path, *, count: int) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i in range(count):
        dest = folder / f"{i:04d}.jpg"
        shutil.copyfile(DATA / PHOTOS[i % len(PHOTOS)], dest)
        paths.append(dest)
    return paths


def bench_phototag(paths: list[Path]) -> float:
    settings = MetadataSettings()
    start = time.perf_counter()
    for path in paths:
        write_tags(path, RESULT, settings=settings, expected=FileSig.of(path))
    return time.perf_counter() - start


def reference_args() -> list[str]:
    tags = RESULT.tags
    return [
        f"-XMP-dc:Title={tags.title}",
        f"-IPTC:ObjectName={tags.title}",
        f"-XMP-dc:Description={tags.caption}",
        f"-IPTC:Caption-Abstract={tags.caption}",
        "-IPTC:CodedCharacterSet=UTF8",
        *(f"-XMP-dc:Subject+={k}" for k in tags.keywords),
        *(f"-IPTC:Keywords+={k}" for k in tags.keywords),
    ]


def bench_exiftool(paths: list[Path]) -> float:
    args = reference_args()
    start = time.perf_counter()
    for path in paths:
        subprocess.run(
            ["exiftool", "-j", "-XMP:all", "-IPTC:all", str(path)], capture_output=True, check=True
        )
        subprocess.run(
            ["exiftool", "-q", "-overwrite_original", *args, str(path)],
            capture_output=True,
            check=True,
        )
    return time.perf_counter() - start


def bench_stay_open(paths: list[Path]) -> float:
    args = reference_args()
    tool = ExifTool()
    tool.execute("-ver")  # started before the clock, as in the daemon
    start = time.perf_counter()
    for path in paths:
        tool.execute("-j", "-XMP:all", "-IPTC:all", str(path))
        tool.execute("-overwrite_original", *args, str(path))  # -q would hide "{ready}"
    elapsed = time.perf_counter() - start
    tool.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    count = parser.parse_args().count
    with tempfile.TemporaryDirectory() as tmp:
        ours = bench_phototag(copies(Path(tmp) / "phototag", count=count))
        helper = bench_stay_open(copies(Path(tmp) / "stay_open", count=count))
        theirs = bench_exiftool(copies(Path(tmp) / "exiftool", count=count))
    print(f"phototag write_tags : {count / ours:8.1f} writes/s ({ours:.2f} s for {count})")
    print(f"exiftool stay_open  : {count / helper:8.1f} writes/s ({helper:.2f} s for {count})")
    print(f"exiftool per photo  : {count / theirs:8.1f} writes/s ({theirs:.2f} s for {count})")
    print(f"stay_open speed-up  : {theirs / helper:8.1f}x (the same commands, one process)")
    print(f"speed-up            : {theirs / ours:8.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
