"""Latency from a photo's close to its metadata written: embedded backend, default debounce.

    .venv/bin/python bench/bench_latency.py [--quick] [--json FILE]

Starts the real ``phototagd`` (backend local, ``debounce_s`` left at its default) on an
empty folder, then writes 50 distinct 24-MP JPEGs into it one at a time, ``--interval``
seconds apart (write, fsync, close), and notes the time of each close. A photo's latency
is the index's ``finished_at`` (set after the metadata write committed) minus its close.
Target: median at most debounce + 0.5 s.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from common import Daemon, Report, make_photos, parser, stage_means
from phototag.config import Settings
from phototag.store.records import encode_path


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--interval", type=float, default=1.0)
    args = p.parse_args()
    count = 10 if args.quick else 50
    debounce = Settings.model_fields["debounce_s"].default
    report = Report(
        f"6. Latency, close -> metadata written (embedded backend, debounce {debounce:g} s)"
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sources = make_photos(tmp / "src", count)
        inbox = tmp / "inbox"
        inbox.mkdir()
        daemon = Daemon(tmp / "home", [inbox], env={})
        daemon.start(timeout_s=300)
        closed: dict[bytes, float] = {}
        try:
            time.sleep(2)  # let the embedded models finish loading
            for src in sources:
                dest = inbox / src.name
                with dest.open("wb") as fh:
                    fh.write(src.read_bytes())
                    fh.flush()
                    os.fsync(fh.fileno())
                closed[encode_path(dest)] = time.time()
                time.sleep(args.interval)
            daemon.wait_for(
                lambda: (
                    daemon.query("SELECT count(*) FROM files WHERE status IN ('done','failed')")[0][
                        0
                    ]
                    >= count
                ),
                timeout_s=120,
                what="all photos tagged",
                interval_s=0.2,
            )
        finally:
            daemon.stop()
        rows = daemon.query("SELECT path, status, finished_at FROM files")
        stages = stage_means(daemon.state / "log")
    latencies = sorted(
        fin - closed[path] for path, status, fin in rows if status == "done" and path in closed
    )
    failed = sum(1 for _, status, _ in rows if status != "done")
    median = statistics.median(latencies)
    report.row(
        "photos",
        f"{count} x 24-MP JPEG, one every {args.interval:g} s "
        f"({len(latencies)} done, {failed} not done)",
    )
    report.row(
        "latency median / min / max", f"{median:.2f} / {latencies[0]:.2f} / {latencies[-1]:.2f} s"
    )
    report.row("latency p90", f"{latencies[int(0.9 * (len(latencies) - 1))]:.2f} s")
    report.row(
        "median minus debounce (stability check + tagging + write)", f"{median - debounce:.2f} s"
    )
    report.row(
        "mean stage times in the daemon (ms)",
        ", ".join(f"{k} {v * 1000:.0f}" for k, v in stages.items()),
    )
    report.target("median latency", median, debounce + 0.5, unit=" s")
    report.save(args.json)


if __name__ == "__main__":
    main()
