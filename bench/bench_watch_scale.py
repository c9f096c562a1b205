"""Watching at scale: build a tree of folders and files, then measure how long the inotify
watches and the stat-only catch-up scan take, and how many watches are used against
fs.inotify.max_user_watches.

    .venv/bin/python bench/bench_watch_scale.py                      # 20,000 / 200,000
    .venv/bin/python bench/bench_watch_scale.py --folders 200 --files 2000
"""

from __future__ import annotations

import argparse
import queue
import tempfile
import time
from pathlib import Path

from phototag.config import DEFAULT_EXTENSIONS
from phototag.intake.scan import candidates
from phototag.intake.selection import Selection
from phototag.intake.watch import (
    MAX_WATCHES_SYSCTL,
    Change,
    inotify_watches_in_use,
    start_observers,
    stop_observers,
)


def build_tree(root: Path, *, folders: int, files: int) -> None:
    """``folders`` folders two levels deep (year/day style), ``files`` empty .jpg among them."""
    per_year = max(1, folders // 20)
    made = [root / f"{i // per_year:04d}" / f"{i % per_year:05d}" for i in range(folders)]
    for folder in made:
        folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (made[i % folders] / f"IMG_{i:07d}.jpg").touch()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--dir", type=Path, help="where to build the tree (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp) / "photos"
        started = time.perf_counter()
        build_tree(root, folders=args.folders, files=args.files)
        print(
            f"tree: {args.folders:,} folders, {args.files:,} files "
            f"built in {time.perf_counter() - started:.1f}s"
        )

        sink: queue.SimpleQueue[Change] = queue.SimpleQueue()
        started = time.perf_counter()
        observers = start_observers([root], recursive=True, mode="inotify", sink=sink)
        watch_s = time.perf_counter() - started
        used = inotify_watches_in_use()
        limit = MAX_WATCHES_SYSCTL.read_text().strip()
        print(
            f"inotify start-up: {watch_s:.2f}s, watches used {used:,} "
            f"of fs.inotify.max_user_watches {int(limit):,} "
            f"({100 * used / int(limit):.1f}%)"
        )

        selection = Selection(
            roots=(root,),
            extensions=frozenset(DEFAULT_EXTENSIONS),
            include=(),
            exclude=(),
            recursive=True,
            follow_symlinks=False,
        )
        started = time.perf_counter()
        found = sum(1 for _ in candidates(selection, root))
        print(
            f"catch-up / reconcile scan (stat only): {found:,} files in "
            f"{time.perf_counter() - started:.2f}s"
        )
        stop_observers(observers)


if __name__ == "__main__":
    main()
