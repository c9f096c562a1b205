"""Pipeline throughput of the real daemon against a VLM server with fixed latency and slots.

    .venv/bin/python bench/bench_throughput.py [--quick] [--slots 1 4 8 16] [--json FILE]

For each slot count: a SlotVLM (tests/fakevlm.py with a semaphore) answers every request
after 0.5 s, at most ``slots`` at a time; ``slots x rounds`` distinct photos are queued in a
fresh index (Index schema, one transaction); the real ``phototagd`` starts with backend
openai and ``vlm.max_inflight = slots`` and tags them all (hash, prepare, request, metadata
write, record). Achieved rate = photos / (first claim -> last finish, from the index);
the server's ideal is slots / latency. Target: >= 95 % of ideal at 8 slots.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import Daemon, Report, fill_index, make_photos, parser, stage_means
from slotvlm import SlotVLM

LATENCY_S = 0.5
PHOTO_PX = (1200, 800)


def run_once(tmp: Path, photos: list[Path], *, slots: int,
             extra_workers: int) -> tuple[float, int, int, dict[str, float]]:
    """(achieved images/s, photos done, most concurrent requests seen) for one slot count."""
    home = tmp / f"home-{slots}"
    tmp.mkdir(exist_ok=True)
    daemon = Daemon(home, [photos[0].parent], env={
        "PHOTOTAG_BACKEND": "openai",
        "PHOTOTAG_VLM__MODEL": "fake-vlm",
        "PHOTOTAG_VLM__MAX_INFLIGHT": str(slots),
        **({"PHOTOTAG_WORKERS": str(slots + extra_workers)} if extra_workers else {}),
    })
    fill_index(daemon.index_path, photos, status="queued")
    with SlotVLM(slots=slots, latency_s=LATENCY_S) as server:
        daemon.env["PHOTOTAG_VLM__BASE_URL"] = server.url
        daemon.start()
        try:
            daemon.wait_for(
                lambda: daemon.query("SELECT count(*) FROM files WHERE status IN "
                                     "('queued','processing')")[0][0] == 0,
                timeout_s=60 + 4 * len(photos) * LATENCY_S / slots, what="queue drained",
                interval_s=0.25)
        finally:
            daemon.stop()
        stages = stage_means(daemon.state / "log")
        first, last, done = daemon.query(
            "SELECT min(started_at), max(finished_at), count(*) FROM files WHERE status='done'")[0]
        return done / (last - first), done, server.max_in_flight, stages


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--slots", type=int, nargs="+", default=[1, 4, 8, 16])
    p.add_argument("--variants", nargs="+", choices=("default", "overlap"),
                   default=["default", "overlap"],
                   help="default: the daemon's own thread count (max(workers, slots)); "
                        "overlap: workers = 2 x slots, so photos are prepared and written "
                        "while others wait on the server (the tagger still caps requests)")
    args = p.parse_args()
    rounds = 4 if args.quick else 12
    report = Report(f"2. Pipeline throughput, server latency {LATENCY_S} s, fixed slots")
    report.row("photos", f"slots x {rounds} distinct {PHOTO_PX[0]}x{PHOTO_PX[1]} JPEGs "
                         "per run; real phototagd, backend openai, metadata written")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pool = make_photos(tmp / "pool", max(args.slots) * rounds, size=PHOTO_PX)
        for variant in args.variants:
            for slots in args.slots:
                folder = tmp / f"photos-{variant}-{slots}"
                folder.mkdir()
                photos = []
                for src in pool[: slots * rounds]:  # fresh copies: each run writes into them
                    dest = folder / src.name
                    dest.write_bytes(src.read_bytes())
                    photos.append(dest)
                started = time.monotonic()
                rate, done, seen, stages = run_once(
                    tmp / variant, photos, slots=slots,
                    extra_workers=slots if variant == "overlap" else 0)
                ideal = slots / LATENCY_S
                label = f"{variant}, {slots:2d} slots"
                report.row(f"{label}: achieved / ideal",
                           f"{rate:6.2f} / {ideal:5.1f} images/s = {rate / ideal:6.1%} "
                           f"({done}/{len(photos)} done, {seen} concurrent at the server, "
                           f"run {time.monotonic() - started:.0f} s)")
                report.row(f"{label}: mean stage times (ms)", ", ".join(
                    f"{k} {v * 1000:.0f}" for k, v in stages.items()))
                if slots == 8:
                    report.target(f"8 slots, {variant}: achieved / ideal", rate / ideal, 0.95,
                                  higher_is_better=True)
    report.note("default: one worker thread per slot, each prepares, waits on the server and "
                "writes in turn, so a slot idles while its worker hashes, decodes and writes")
    report.note("overlap: PHOTOTAG_WORKERS = 2 x slots (a setting, no code change); "
                "vlm.max_inflight still caps requests at the slot count")
    report.note("the rate runs from the first claim to the last finish in the index, so it "
                "includes the first photo's hash and decode and the last one's metadata write")
    report.save(args.json)


if __name__ == "__main__":
    main()
