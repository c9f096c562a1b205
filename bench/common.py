"""Shared helpers for the benchmarks: test photos, the real daemon, memory, results.

Every benchmark prints its figures and, with ``--json FILE``, writes them for run_all.py.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
PYTHON = sys.executable
SOURCES = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "motorcycle.jpg", "rocket.jpg")
MP24 = (6000, 4000)

sys.path.insert(0, str(ROOT / "tests"))  # fakevlm.py


@dataclass
class Target:
    name: str
    value: float
    limit: float
    unit: str = ""
    higher_is_better: bool = False

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit


@dataclass
class Report:
    """What one benchmark found: a table of figures, targets and notes."""

    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def row(self, label: str, value: str) -> None:
        self.rows.append((label, value))
        print(f"  {label:52s} {value}", flush=True)

    def target(
        self,
        name: str,
        value: float,
        limit: float,
        *,
        unit: str = "",
        higher_is_better: bool = False,
    ) -> None:
        t = Target(name, value, limit, unit, higher_is_better)
        self.targets.append(t)
        sign = ">=" if higher_is_better else "<="
        print(
            f"  TARGET {name}: {value:.3g}{unit} (want {sign} {limit:g}{unit}) "
            f"{'met' if t.met else 'NOT MET'}",
            flush=True,
        )

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def save(self, path: Path | None) -> None:
        if path is not None:
            path.write_text(json.dumps(asdict(self), indent=2))


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    p.add_argument("--json", type=Path, help="also write the figures here (for run_all.py)")
    return p


# --- photos ------------------------------------------------------------------------------


def make_photo(
    dest: Path,
    *,
    source: str,
    size: tuple[int, int] = MP24,
    seed: int = 0,
    orientation: int = 1,
    quality: int = 92,
) -> Path:
    """A camera-like JPEG: a real photograph upscaled, with sensor-like grain so it
    compresses like a real one (a 24-MP file of about 8-12 MB at quality 92)."""
    with Image.open(DATA / source) as im:
        big = im.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    rng = np.random.default_rng(seed)
    pixels = np.asarray(big, dtype=np.int16)
    grain = rng.normal(0, 5, size=(size[1], size[0], 1)).astype(np.int16)
    pixels = np.clip(pixels + grain, 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "BenchCam"
    exif[0x0110] = "Model 24"
    Image.fromarray(pixels).save(dest, quality=quality, exif=exif.tobytes())
    return dest


def make_photos(folder: Path, count: int, *, size: tuple[int, int] = MP24) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        make_photo(
            folder / f"IMG_{i:04d}.jpg",
            source=SOURCES[i % len(SOURCES)],
            size=size,
            seed=i,
            orientation=6 if i % 4 == 3 else 1,
        )
        for i in range(count)
    ]


def build_tree(
    root: Path, count: int, *, per_dir: int = 500, content: bytes = b"", unique: bool = False
) -> list[Path]:
    """``count`` tiny files named like photos, ``per_dir`` to a folder; ``unique`` appends
    the file's number to ``content`` (after a JPEG's end, so it still decodes)."""
    paths = []
    for i in range(count):
        folder = root / f"{i // per_dir // 20:03d}" / f"{i // per_dir:04d}"
        if i % per_dir == 0:
            folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"IMG_{i:06d}.jpg"
        path.write_bytes(content + (str(i).encode() if unique else b""))
        paths.append(path)
    return paths


def fill_index(index_path: Path, paths: Iterable[Path], *, status: str) -> int:
    """Pre-fill an index (schema from phototag.store.queue.Index) in one transaction, with each
    file's real size and mtime, as the daemon would have recorded them."""
    from phototag.store.queue import Index
    from phototag.store.records import encode_path

    index = Index(index_path)
    index.close()
    now = time.time()
    db = sqlite3.connect(index_path, isolation_level=None)
    db.execute("BEGIN")
    rows = (
        (encode_path(p), st.st_size, st.st_mtime_ns, status, now, now, now)
        for p in paths
        for st in (os.stat(p),)
    )
    db.executemany(
        "INSERT INTO files (path, size, mtime_ns, status, queued_at, finished_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    db.execute("COMMIT")
    n = db.execute("SELECT count(*) FROM files").fetchone()[0]
    db.close()
    return n


# --- measuring ---------------------------------------------------------------------------


def median_time(fn: Callable[[], Any], *, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def proc_status_kb(pid: int, key: str) -> int:
    """A field of /proc/PID/status in kB (VmRSS now, VmHWM peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def proc_cpu_s(pid: int) -> float:
    """User plus system CPU seconds a process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stage_means(log_dir: Path) -> dict[str, float]:
    """Mean seconds per stage over the run's JSONL records."""
    totals: dict[str, list[float]] = {}
    for path in log_dir.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            for stage, spent in json.loads(line).get("durations_s", {}).items():
                totals.setdefault(stage, []).append(spent)
    return {stage: sum(v) / len(v) for stage, v in totals.items()}


# --- the real daemon ---------------------------------------------------------------------


class Daemon:
    """The real phototagd as a subprocess on private folders (as tests/daemon_harness.py)."""

    def __init__(self, home: Path, roots: list[Path], *, env: dict[str, str]) -> None:
        self.home = home
        self.state = home / "state"
        self.log_path = home / "daemon.log"
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith("PHOTOTAG_") and k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")
            },
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_STATE_HOME": str(home / "xdg-state"),
            "XDG_RUNTIME_DIR": str(home / "run"),
            "PHOTOTAG_STATE_DIR": str(self.state),
            "PHOTOTAG_LOG_LEVEL": "INFO",
            **env,
        }
        (home / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
        self.roots = roots
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def index_path(self) -> Path:
        return self.state / "index.sqlite3"

    def start(self, *, wait: bool = True, timeout_s: float = 120) -> Daemon:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "phototag.cli.phototagd", *map(str, self.roots)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        if wait:
            self.wait_for(
                lambda: self.meta().get("heartbeat_at"), timeout_s=timeout_s, what="daemon start"
            )
        return self

    def meta(self) -> dict[str, Any]:
        try:
            db = sqlite3.connect(f"file:{self.index_path}?mode=ro", uri=True)
            try:
                row = db.execute("SELECT value FROM meta WHERE key='daemon'").fetchone()
            finally:
                db.close()
        except sqlite3.Error:
            return {}
        return json.loads(row[0]) if row else {}

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(f"file:{self.index_path}?mode=ro", uri=True)
        try:
            db.execute("PRAGMA busy_timeout=5000")
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def wait_for(
        self, predicate: Callable[[], Any], *, timeout_s: float, what: str, interval_s: float = 0.1
    ) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"daemon exited ({self.proc.returncode}) waiting for {what}:\n"
                    + self.log_path.read_text()[-3000:]
                )
            value = predicate()
            if value:
                return value
            time.sleep(interval_s)
        raise TimeoutError(f"timed out waiting for {what}:\n" + self.log_path.read_text()[-3000:])

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
