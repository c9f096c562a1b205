"""Per-stage timings and the metrics.json snapshot."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any


class StageStats:
    """The last ``window`` durations of each stage; p50/p95 by linear interpolation."""

    def __init__(self, *, window: int = 1000) -> None:
        self._window = window
        self._lock = threading.Lock()
        self._samples: dict[str, deque[float]] = {}

    def add(self, durations_s: Mapping[str, float]) -> None:
        with self._lock:
            for stage, seconds in durations_s.items():
                self._samples.setdefault(stage, deque(maxlen=self._window)).append(seconds)

    def percentiles(self) -> dict[str, dict[str, float]]:
        with self._lock:
            snapshot = {stage: sorted(values) for stage, values in self._samples.items()}
        return {
            stage: {
                "p50": _quantile(values, 0.50),
                "p95": _quantile(values, 0.95),
                "count": len(values),
            }
            for stage, values in snapshot.items()
        }


def _quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, interpolated between closest ranks (numpy's default)."""
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def metrics_snapshot(
    *,
    now: float,
    started_at: float,
    done_total: int,
    done_last_hour: int,
    queue_depth: int,
    in_flight: int,
    stages: StageStats,
    history: deque[dict[str, Any]],
    concurrency: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The metrics file's content; appends a point to ``history`` (bounded by its maxlen).

    ``concurrency``: each VLM server's limit, requests in flight and latency (None for the
    embedded tagger). Times are ``time.time()`` seconds. The last-hour rate divides by the
    time actually run when the daemon is younger than an hour.
    """
    uptime_s = max(0.0, now - started_at)
    hour_s = min(uptime_s, 3600.0)
    per_min_hour = done_last_hour * 60.0 / hour_s if hour_s else 0.0
    per_min_start = done_total * 60.0 / uptime_s if uptime_s else 0.0
    history.append(
        {
            "t": now,
            "done_total": done_total,
            "queue_depth": queue_depth,
            "in_flight": in_flight,
            "per_min": round(per_min_hour, 3),
        }
    )
    return {
        "schema": 1,
        "generated_at": now,
        "started_at": started_at,
        "uptime_s": uptime_s,
        "throughput": {
            "last_hour_per_min": per_min_hour,
            "since_start_per_min": per_min_start,
            "done_total": done_total,
            "done_last_hour": done_last_hour,
        },
        "queue_depth": queue_depth,
        "in_flight": in_flight,
        "stages": stages.percentiles(),
        "concurrency": dict(concurrency) if concurrency is not None else None,
        "history": list(history),
    }
