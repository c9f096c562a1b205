"""vlm.max_inflight = "auto" beside fixed settings, in one run, against simulated servers.

    .venv/bin/python bench/bench_adaptive.py [--quick] [--json FILE]

Every run is the real ``phototagd`` (backend openai, metadata written) over photos queued
in a fresh index, against a SlotVLM (bench/slotvlm.py) in this process:

1. **Fixed latency**, 1, 4, 8, 32 and 64 slots. The latency grows with the slots
   (``max(0.5, slots / 16)`` s) so the ideal, slots / latency, stays at or below 16
   photos a second: above that the 2 shared cores, not the pipeline, are the limit (see
   section 2). "auto" against the old advice, a fixed ``slots + 2``.
2. **Latency that grows with the load**, as a GPU's batch: ``0.5 s x (1 + active / 16)``
   with 16 slots (a hard cap; more queue). A sweep of fixed settings finds the best; "auto"
   runs beside it.
3. **A router that answers 429** as soon as 12 requests are at it (32 slots behind it).
   "auto" should settle below 12, with fewer than 2 % of its requests refused and none
   failing.

Rates are photos over the time from the first claim to the last finish (the whole run,
with the start), and "settled": from the finish of the first quarter of the photos to the
last but one round, once the limit has found its level.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import Daemon, Report, fill_index, make_photos, parser
from slotvlm import SlotVLM

PHOTO_PX = (640, 427)
MAX_RATE = 16.0  # photos a second the simulated servers are sized to at most
FIXED_SLOTS = (1, 4, 8, 32, 64)
GROWING: dict[str, Any] = {"slots": 16, "latency_s": 0.5, "growth": 1.0}
GROWING_SWEEP = (8, 12, 16, 18, 24, 32)
REFUSE_ABOVE = 12
REFUSING: dict[str, Any] = {"slots": 32, "latency_s": 1.0, "refuse_above": REFUSE_ABOVE}


@dataclass
class Run:
    photos: int
    done: int
    failed: int
    rate: float  # photos/s over the whole run
    settled: float  # photos/s once settled
    at_server: int  # the most requests at the server at once
    requests: int  # tagging requests the server received
    refused: int
    limits: list[int] = field(default_factory=list)  # the daemon's limit, sampled

    def late_limits(self) -> list[int]:
        return self.limits[len(self.limits) // 2 :] or [0]


def latency_for(slots: int) -> float:
    return max(0.5, slots / MAX_RATE)


def run_once(
    tmp: Path, pool: list[Path], *, count: int, inflight: str, server: dict[str, Any]
) -> Run:
    tmp.mkdir(parents=True)
    folder = tmp / "photos"
    folder.mkdir()
    photos = []
    for src in pool[:count]:  # fresh copies: each run writes into them
        dest = folder / src.name
        dest.write_bytes(src.read_bytes())
        photos.append(dest)
    daemon = Daemon(
        tmp / "home",
        [folder],
        env={
            "PHOTOTAG_BACKEND": "openai",
            "PHOTOTAG_VLM__MODEL": "fake-vlm",
            "PHOTOTAG_VLM__MAX_INFLIGHT": inflight,
        },
    )
    fill_index(daemon.index_path, photos, status="queued")
    limits: list[int] = []
    stop = threading.Event()

    def sample_limit() -> None:  # the heartbeat's view, as tagctl status shows it
        while not stop.wait(0.5):
            concurrency = daemon.meta().get("concurrency") or {}
            if "main" in concurrency:
                limits.append(concurrency["main"]["limit"])

    vlm = SlotVLM(**server)
    with vlm:
        daemon.env["PHOTOTAG_VLM__BASE_URL"] = vlm.url
        daemon.start()
        sampler = threading.Thread(target=sample_limit, daemon=True)
        sampler.start()
        try:
            ideal_s = count * server["latency_s"] / server["slots"]
            daemon.wait_for(
                lambda: (
                    daemon.query(
                        "SELECT count(*) FROM files WHERE status IN ('queued','processing')"
                    )[0][0]
                    == 0
                ),
                timeout_s=90 + 6 * ideal_s,
                what="queue drained",
                interval_s=0.25,
            )
        finally:
            stop.set()
            sampler.join()
            daemon.stop()
        requests = len(vlm.tagging_requests())
        refused, at_server = vlm.refused, vlm.max_in_flight
    first = daemon.query("SELECT min(started_at) FROM files WHERE status='done'")[0][0]
    finishes = [
        row[0]
        for row in daemon.query(
            "SELECT finished_at FROM files WHERE status='done' ORDER BY finished_at"
        )
    ]
    failed = daemon.query("SELECT count(*) FROM files WHERE status='failed'")[0][0]
    tail = min(server["slots"], len(finishes) // 4)
    settled = finishes[len(finishes) // 4 : len(finishes) - tail]
    return Run(
        photos=count,
        done=len(finishes),
        failed=failed,
        rate=len(finishes) / (finishes[-1] - first),
        settled=(len(settled) - 1) / (settled[-1] - settled[0]),
        at_server=at_server,
        requests=requests,
        refused=refused,
        limits=limits,
    )


def describe(run: Run) -> str:
    late = run.late_limits()
    return (
        f"{run.done}/{run.photos} done, {run.failed} failed; at most {run.at_server} at "
        f"the server; daemon's limit in the 2nd half: median {statistics.median(late):g}, "
        f"{min(late)}-{max(late)}"
    )


def main() -> None:
    p = parser(__doc__)
    args = p.parse_args()
    rounds = 4 if args.quick else 12
    slot_counts = (1, 8) if args.quick else FIXED_SLOTS
    report = Report('11. Adaptive concurrency: vlm.max_inflight = "auto" beside fixed settings')
    report.row(
        "photos",
        f"distinct {PHOTO_PX[0]}x{PHOTO_PX[1]} JPEGs; real phototagd, backend openai, "
        "workers 2, metadata written; a fresh index and copies for each run",
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        most = max(
            *(s * rounds * (3 if s <= 8 else 1) for s in slot_counts),
            16 * 2 * rounds,
            REFUSE_ABOVE * 3 * rounds,
        )
        pool = make_photos(tmp / "pool", most, size=PHOTO_PX)
        n = 0

        def run(**kwargs: Any) -> Run:
            nonlocal n
            n += 1
            return run_once(tmp / f"run-{n}", pool, **kwargs)

        # 1. fixed latency
        for slots in slot_counts:
            latency_s = latency_for(slots)
            server = {"slots": slots, "latency_s": latency_s}
            ideal = slots / latency_s
            # the small servers' runs are short in time: more rounds for a stable rate
            count = slots * rounds * (3 if slots <= 8 else 1)
            for inflight in ("auto", str(slots + 2)):
                started = time.monotonic()
                result = run(count=count, inflight=inflight, server=server)
                label = f"fixed latency {latency_s:g} s, {slots:2d} slots, {inflight:>4}"
                report.row(
                    f"{label}: settled / ideal",
                    f"{result.settled:6.2f} / {ideal:5.1f} photos/s = "
                    f"{result.settled / ideal:6.1%}; whole run {result.rate / ideal:6.1%} "
                    f"({describe(result)}; {time.monotonic() - started:.0f} s)",
                )
                if inflight == "auto":
                    report.target(
                        f"fixed latency, {slots} slots: auto settled / ideal",
                        result.settled / ideal,
                        0.95,
                        higher_is_better=True,
                    )
        # 2. latency that grows with the load
        sweep = (8, 16, 24) if args.quick else GROWING_SWEEP
        count = 16 * 2 * rounds
        best, best_at = 0.0, ""
        for fixed in sweep:
            result = run(count=count, inflight=str(fixed), server=GROWING)
            if result.settled > best:
                best, best_at = result.settled, str(fixed)
            report.row(
                f"growing latency, fixed {fixed:2d}: settled",
                f"{result.settled:6.2f} photos/s; whole run {result.rate:6.2f} "
                f"({describe(result)})",
            )
        result = run(count=count, inflight="auto", server=GROWING)
        report.row(
            "growing latency, auto: settled",
            f"{result.settled:6.2f} photos/s = {result.settled / best:6.1%} of the best fixed "
            f"({best_at}); whole run {result.rate:6.2f} ({describe(result)})",
        )
        report.target(
            "growing latency: auto settled / best fixed",
            result.settled / best,
            0.95,
            higher_is_better=True,
        )
        # 3. a router that refuses above a threshold
        threshold = REFUSE_ABOVE
        count = threshold * 3 * rounds
        for inflight in ("auto", str(threshold - 2)):
            result = run(count=count, inflight=inflight, server=REFUSING)
            share = result.refused / max(1, result.requests)
            report.row(
                f"429 above {threshold} at the server, {inflight:>4}",
                f"{result.settled:6.2f} photos/s settled; {result.refused} of "
                f"{result.requests} requests refused ({share:.2%}); {describe(result)}",
            )
            if inflight == "auto":
                report.target("429 above 12: share of auto's requests refused", share, 0.02)
                report.target(
                    "429 above 12: auto's median limit in the 2nd half",
                    statistics.median(result.late_limits()),
                    threshold,
                )
                report.target("429 above 12: photos failed", result.failed, 0)
    report.note(
        "settled: photos finished from the end of the first quarter to the last but one "
        "round, over that time (above 100 %: a batch that finishes all at once falls at "
        "the window's edge); whole run: from the first claim to the last finish, with "
        "the start, where auto begins at 8 and ramps (it triples each round trip until the "
        "server queues)"
    )
    report.note(
        "the whole-run rate includes auto's ramp from 8 (a few round trips); with 32 and 64 "
        "slots and runs of only 12 round trips (2 and 4 s each) that shows"
    )
    report.note(
        "the 2 cores are shared with other work (the load average is above): settings that "
        "should tie differ by a few percent, which is why every row is from the same run"
    )
    report.note(
        f"fixed latency: the latency is max(0.5, slots / {MAX_RATE:g}) s, so the ideal is at "
        "most 16 photos/s, below what the 2 shared cores can tag (section 2)"
    )
    report.note(
        "growing latency: 0.5 s x (1 + active / 16), 16 slots, more queue: throughput "
        "rises with concurrency up to 16 (6.4 -> 10.7 -> 16 photos/s at 4, 8, 16), so a "
        "latency target would stop early"
    )
    report.note(
        "429: SlotVLM refuses at once when 12 requests are at it; phototag retries after "
        "its backoff (vlm.retry_base_s 1 s); a refusal cuts auto's limit and keeps the "
        "level that was refused out of reach for 60 s"
    )
    report.save(args.json)


if __name__ == "__main__":
    main()
