"""Run history a person can compare: one line per run in ``history.jsonl``, and the
rolling metrics window carried across restarts.

Each run of the daemon (a service start until its stop, or one ``--once``/``backfill``)
appends one JSON object when it ends: when, how long, backend, model, profile, how many
photos were tagged and failed, the rate, and the p50/p95 latency of each stage.
``tagctl history`` prints them. The entry is written at the end of a run, so a run
killed with SIGKILL leaves none (its photos are in the index and the JSONL all the same).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from loguru import logger

from phototag.reporting.progress import format_duration

HISTORY_NAME = "history.jsonl"
HISTORY_SCHEMA = 1


def run_entry(
    *,
    started_at: float,
    ended_at: float,
    backend: str,
    model: str,
    profile: str | None,
    tagged: int,
    failed: int,
    stages: Mapping[str, Mapping[str, float]],
    mode: str,
    gave_up: str | None = None,
) -> dict[str, Any]:
    """One run's line. Pure. ``stages`` as :meth:`StageStats.percentiles` gives them."""
    elapsed_s = max(ended_at - started_at, 0.0)
    return {
        "schema": HISTORY_SCHEMA,
        "started_at": round(started_at, 3),
        "ended_at": round(ended_at, 3),
        "elapsed_s": round(elapsed_s, 1),
        "mode": mode,  # "service", "once", "dry-run once", ...
        "backend": backend,
        "model": model,
        "profile": profile,
        "tagged": tagged,
        "failed": failed,
        "per_min": round((tagged + failed) * 60.0 / elapsed_s, 2) if elapsed_s else 0.0,
        "latency_s": {
            stage: {"p50": round(v["p50"], 4), "p95": round(v["p95"], 4)}
            for stage, v in stages.items()
        },
        "gave_up": gave_up,
    }


def append_run(path: Path, entry: Mapping[str, Any]) -> None:
    """Append one run's line, synced (a power cut loses at most the line being written)."""
    line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def read_runs(path: Path) -> list[dict[str, Any]]:
    """Every run recorded, oldest first; a torn or foreign line is passed over."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    runs = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("schema") == HISTORY_SCHEMA:
            runs.append(entry)
    return runs


def previous_window(metrics_path: Path) -> list[dict[str, Any]]:
    """The rolling window of the last metrics.json, so it goes on across a restart."""
    try:
        history = json.loads(metrics_path.read_text(encoding="utf-8")).get("history", [])
    except (OSError, ValueError, AttributeError) as exc:
        if not isinstance(exc, FileNotFoundError):
            logger.debug("previous metrics window not read: {}", exc)
        return []
    return [point for point in history if isinstance(point, dict)]


def render_runs(runs: Sequence[Mapping[str, Any]]) -> str:
    """The ``tagctl history`` table, oldest first. Pure."""
    if not runs:
        return "no runs recorded yet"
    header = ("started", "took", "mode", "backend / model / profile", "tagged", "failed")
    table = [(*header, "/min", "p50/p95 s", "ended")]
    for run in runs:
        identity = (run.get("backend"), run.get("model"), run.get("profile"))
        table.append(
            (
                time.strftime("%Y-%m-%d %H:%M", time.localtime(run.get("started_at", 0))),
                format_duration(run.get("elapsed_s", 0)),
                str(run.get("mode", "")),
                " / ".join(str(part) for part in identity if part),
                str(run.get("tagged", 0)),
                str(run.get("failed", 0)),
                f"{run.get('per_min', 0):.1f}",
                _latency(run.get("latency_s", {})),
                f"gave up: {run['gave_up']}" if run.get("gave_up") else "ok",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in table]
    return "\n".join(line.rstrip() for line in lines)


def _latency(latency: Mapping[str, Any]) -> str:
    """The whole job's p50/p95 seconds, "-" for a run that finished no photo."""
    total = latency.get("total")
    if not isinstance(total, Mapping):
        return "-"
    return f"{total.get('p50', 0):.2f}/{total.get('p95', 0):.2f}"
