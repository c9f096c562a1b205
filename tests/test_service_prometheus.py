"""The Prometheus textfile: exposition format, labels, and an atomic replace."""

from __future__ import annotations

import math
import os
import stat
import threading
from pathlib import Path

from phototag.reporting.prometheus import render_prom, write_prom


def test_exposition_format() -> None:
    text = render_prom(
        {
            "tagged_total": 412,
            "queue_depth": 3,
            "backend_up": True,
            "seconds": 0.25,
            "jobs": {"status": {"queued": 3, "failed": 1, 'we"ird\n': 2}},
            "backend": "openai",
            "nothing": None,
            "nan": math.nan,
        }
    )
    assert text == (
        "# TYPE phototag_backend_up gauge\nphototag_backend_up 1\n"
        "# TYPE phototag_jobs gauge\n"
        'phototag_jobs{status="failed"} 1\nphototag_jobs{status="queued"} 3\n'
        'phototag_jobs{status="we\\"ird\\n"} 2\n'
        "# TYPE phototag_queue_depth gauge\nphototag_queue_depth 3\n"
        "# TYPE phototag_seconds gauge\nphototag_seconds 0.25\n"
        "# TYPE phototag_tagged_total counter\nphototag_tagged_total 412\n"
    )


def test_written_atomically_and_readable_by_node_exporter(tmp_path: Path) -> None:
    target = tmp_path / "phototag.prom"
    write_prom(target, {"tagged_total": 0})
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.add(target.read_text())

    thread = threading.Thread(target=reader)
    thread.start()
    for n in range(300):
        write_prom(target, {"tagged_total": n, "padding": {"i": {str(i): i for i in range(50)}}})
    stop.set()
    thread.join()
    assert len(seen) > 1, "the reader saw too few versions to show anything"
    assert all(text.endswith("phototag_tagged_total " + text.rsplit(" ", 1)[-1]) for text in seen)
    assert all("# TYPE phototag_tagged_total counter" in text for text in seen)
    assert os.listdir(tmp_path) == ["phototag.prom"]  # no temporary files left
