"""Resident size of the real daemon with 100,000 photos queued (target: under 200 MB).

    .venv/bin/python bench/bench_memory.py [--quick] [--json FILE]

Builds 100,000 distinct small JPEGs (160x120), queues them all in a fresh index (one
transaction) and starts the real ``phototagd`` twice:

- backend openai pointed at a closed port: the preflight fails, the circuit stays open
  and every photo stays queued;
- backend local (the embedded default, its models loaded): it works through the queue
  two photos at a time, so nearly all of it is still queued when measured.

Once the catch-up scan is over and some heartbeats have passed, reads VmRSS (now) and
VmHWM (peak) from /proc; a daemon of each kind on an empty folder is the reference.
"""

from __future__ import annotations

import io
import socket
import tempfile
import time
from pathlib import Path

from PIL import Image

from common import DATA, Daemon, Report, build_tree, fill_index, make_photos, parser, proc_status_kb


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.open(DATA / "chelsea.jpg").convert("RGB").resize((160, 120)).save(buf, "JPEG")
    return buf.getvalue()


def measure(home: Path, root: Path, *, backend: str, settle_s: float) -> tuple[float, float, int]:
    """(VmRSS MB, VmHWM MB, rows still queued) of a daemon on ``root``."""
    env = {"PHOTOTAG_BACKEND": backend}
    if backend == "openai":
        env |= {
            "PHOTOTAG_VLM__BASE_URL": f"http://127.0.0.1:{closed_port()}/v1",
            "PHOTOTAG_VLM__MODEL": "fake-vlm",
            "PHOTOTAG_VLM__CONNECT_TIMEOUT_S": "1",
        }
    daemon = Daemon(home, [root], env=env)
    daemon.start(timeout_s=300)
    try:
        daemon.wait_for(
            lambda: "catch-up scan" in daemon.log_path.read_text(),
            timeout_s=300,
            what="catch-up scan",
        )
        time.sleep(settle_s)  # a few heartbeats, health checks and intake rounds
        assert daemon.proc is not None
        rss = proc_status_kb(daemon.proc.pid, "VmRSS") / 1024
        peak = proc_status_kb(daemon.proc.pid, "VmHWM") / 1024
        queued = daemon.query("SELECT count(*) FROM files WHERE status='queued'")[0][0]
    finally:
        daemon.stop()
    return rss, peak, queued


def peak_tagging(home: Path, root: Path, *, photos: int) -> tuple[float, float]:
    """(VmRSS MB, VmHWM MB) of a local-backend daemon once it has tagged ``root``."""
    daemon = Daemon(home, [root], env={"PHOTOTAG_BACKEND": "local"})
    daemon.start(timeout_s=300)
    try:
        daemon.wait_for(
            lambda: daemon.query("SELECT count(*) FROM files WHERE status='done'")[0][0] == photos,
            timeout_s=600,
            what=f"{photos} photos tagged",
            interval_s=0.5,
        )
        assert daemon.proc is not None
        rss = proc_status_kb(daemon.proc.pid, "VmRSS") / 1024
        peak = proc_status_kb(daemon.proc.pid, "VmHWM") / 1024
    finally:
        daemon.stop()
    return rss, peak


def main() -> None:
    args = parser(__doc__).parse_args()
    count = 10_000 if args.quick else 100_000
    settle_s = 5.0 if args.quick else 10.0
    report = Report(f"5. Memory with {count:,} photos queued")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        empty = tmp / "empty"
        empty.mkdir()
        root = tmp / "photos"
        build_tree(root, count, content=tiny_jpeg(), unique=True)
        for backend, what in (
            ("openai", "openai, backend unreachable (all stay queued)"),
            ("local", "local (embedded default, models loaded, tagging)"),
        ):
            base_rss, base_peak, _ = measure(
                tmp / f"empty-{backend}", empty, backend=backend, settle_s=settle_s
            )
            home = tmp / f"home-{backend}"
            fill_index(
                home / "state" / "index.sqlite3", sorted(root.rglob("*.jpg")), status="queued"
            )
            rss, peak, queued = measure(home, root, backend=backend, settle_s=settle_s)
            report.row(f"{what}: empty folder", f"RSS {base_rss:.0f} MB, peak {base_peak:.0f} MB")
            report.row(f"{what}: {queued:,} still queued", f"RSS {rss:.0f} MB, peak {peak:.0f} MB")
            report.row(
                f"{what}: cost of the queue",
                f"{rss - base_rss:.0f} MB (peak {peak - base_peak:.0f} MB)",
            )
            report.target(f"{backend}: RSS with {count:,} queued", rss, 200, unit=" MB")
            report.target(
                f"{backend}: peak RSS (VmHWM) with {count:,} queued", peak, 200, unit=" MB"
            )
        big = 6 if args.quick else 20
        make_photos(tmp / "big", big)
        rss, peak = peak_tagging(tmp / "home-big", tmp / "big", photos=big)
        report.row(
            f"local, after tagging {big} 24-MP JPEGs (2 workers)",
            f"RSS {rss:.0f} MB, peak {peak:.0f} MB",
        )
    report.note(
        "local: the daemon on the empty folder has loaded its models but never run "
        "them, so the local cost of the queue also holds the working memory of "
        "tagging (onnxruntime's arena for one inference, the face detector's buffers)"
    )
    report.note(
        "24-MP JPEGs: not a target (the queue above holds small photos); the peak "
        "while two workers decode a full-size photo and rewrite its file"
    )
    report.save(args.json)


if __name__ == "__main__":
    main()
