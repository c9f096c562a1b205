"""Catch-up scan of already-indexed, unchanged files against ``find -printf`` (target <= 3x).

    .venv/bin/python bench/bench_scan.py [--quick] [--json FILE] [--baseline DIR]

Builds a tree of empty ``.jpg`` files (500 a folder), records each with its real size and
mtime as "done" in a fresh index, then times ``Intake.scan()`` (index lookup, stat-only
walk, name rules; it must find nothing to do) in a fresh interpreter, interleaved with
``find ROOT -printf '%s %T@\\n'`` over the same tree; the page cache is warm for both.
The scan reads the index on a second thread while it walks: its CPU time (all threads)
is reported beside its wall time. Peak memory: the scanning process's VmHWM minus its
VmRSS just before the scan. ``--baseline DIR`` also times the ``Intake.scan()`` of another
phototag source root (``git archive main daemon | tar -x -C /tmp/main``, then
``--baseline /tmp/main/daemon``) in the same rounds, to tell a change's cost from the
machine's noise.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import PYTHON, Report, build_tree, fill_index, parser

CHILD = """
import json, os, sys, time
from pathlib import Path
from phototag.config import Settings
from phototag.intake.intake import Intake
from phototag.intake.selection import Selection
from phototag.store.queue import Index
sys.path.insert(0, {bench!r})
from common import proc_status_kb
root, index_path = Path({root!r}), Path({index!r})
index = Index(index_path)
intake = Intake(index=index, selection=Selection.from_settings(Settings(roots=[root])),
                debounce_s=2.0, writer_quiet_s=30.0, on_queued=lambda: None)
before = proc_status_kb(os.getpid(), "VmRSS")
t0, c0 = time.perf_counter(), time.process_time()
found = intake.scan()
spent, cpu = time.perf_counter() - t0, time.process_time() - c0
peak = proc_status_kb(os.getpid(), "VmHWM")
print(json.dumps({{"s": spent, "cpu_s": cpu, "found": found, "before_kb": before,
                  "peak_kb": peak}}))
"""


def scan_child(root: Path, index: Path, *, source: Path | None = None) -> dict[str, float]:
    """One scan in a fresh interpreter; ``source``: import phototag from there instead."""
    code = CHILD.format(bench=str(Path(__file__).parent), root=str(root), index=str(index))
    env = {**os.environ, "PYTHONPATH": str(source)} if source is not None else None
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout)


def find_once(root: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        ["find", str(root), "-printf", "%s %T@\n"], stdout=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - t0


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--baseline", type=Path, help="another phototag source root to time too")
    args = cli.parse_args()
    count, rounds = (10_000, 3) if args.quick else (100_000, 5)
    report = Report(f"3. Catch-up scan of {count:,} indexed, unchanged files")
    with tempfile.TemporaryDirectory() as tmp:
        root, index = Path(tmp) / "photos", Path(tmp) / "state" / "index.sqlite3"
        t0 = time.perf_counter()
        paths = build_tree(root, count)
        fill_index(index, paths, status="done")
        del paths
        report.row(
            "setup",
            f"{count:,} files in {count // 500} folders, index filled "
            f"({time.perf_counter() - t0:.0f} s)",
        )
        find_once(root)
        ours, theirs, runs, baseline = [], [], [], []
        for _ in range(rounds):
            theirs.append(find_once(root))
            run = scan_child(root, index)
            runs.append(run)
            ours.append(run["s"])
            if args.baseline is not None:
                baseline.append(scan_child(root, index, source=args.baseline))
        if any(r["found"] for r in runs):
            report.note(f"the scan found {runs[0]['found']} file(s) to queue: expected none")
        scan_s, find_s = statistics.median(ours), statistics.median(theirs)
        report.row(
            "phototag Intake.scan (median)", f"{scan_s:.3f} s ({count / scan_s:,.0f} files/s)"
        )
        report.row(
            "phototag Intake.scan CPU, all threads (median)",
            f"{statistics.median(r['cpu_s'] for r in runs):.3f} s",
        )
        report.row("find -printf '%s %T@\\n' (median)", f"{find_s:.3f} s")
        if baseline:
            base_s = statistics.median(r["s"] for r in baseline)
            base_cpu_s = statistics.median(r["cpu_s"] for r in baseline)
            report.row(
                f"baseline {args.baseline} (median)",
                f"{base_s:.3f} s, CPU {base_cpu_s:.3f} s (this tree / baseline: "
                f"{scan_s / base_s:.2f})",
            )
        peak = max(r["peak_kb"] - r["before_kb"] for r in runs) / 1024
        base = runs[0]["before_kb"] / 1024
        report.row(
            "scan peak memory (VmHWM - RSS before)", f"{peak:.1f} MB (process was {base:.0f} MB)"
        )
        report.target("scan / find", scan_s / find_s, 3.0)
    report.save(args.json)


if __name__ == "__main__":
    main()
