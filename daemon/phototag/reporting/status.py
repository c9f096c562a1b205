"""What the daemon is doing, computed from the index alone (so it works while it is down)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from phototag.reporting.progress import render_backlog
from phototag.states import Status
from phototag.store.reader import IndexReader
from phototag.store.records import display_path

HEARTBEAT_STALE_S = 30.0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return b"phototag" in cmdline


def collect_status(reader: IndexReader, *, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    daemon = reader.meta("daemon") or {}
    pid = daemon.get("pid")
    running = bool(
        pid
        and not daemon.get("stopped_at")
        and now - daemon.get("heartbeat_at", 0) < HEARTBEAT_STALE_S
        and pid_alive(int(pid))
    )
    counts = reader.counts()
    started = daemon.get("started_at")
    return {
        "running": running,
        "pid": pid if running else None,
        "started_at": started,
        "uptime_s": round(now - started, 1) if running and started else None,
        "last_seen_at": daemon.get("heartbeat_at"),
        "version": daemon.get("version"),
        "backend": daemon.get("backend"),
        "model": daemon.get("model"),
        "health": daemon.get("health") if running else None,
        "paused": bool(daemon.get("paused")) if running else False,
        # still starting: watchers and the catch-up scan not done yet (nothing is missed; a
        # file written now is found by that scan or seen by the watchers)
        "starting": bool(daemon.get("starting")) if running else False,
        "queue_depth": counts[Status.QUEUED],
        "in_flight": daemon.get("in_flight", 0) if running else 0,
        "waiting_to_settle": daemon.get("pending", 0) if running else 0,
        "settled_unchanged": daemon.get("settled_unchanged", 0) if running else 0,
        "backlog": daemon.get("backlog") if running else None,
        "vanished_roots": daemon.get("vanished_roots", []) if running else [],
        "concurrency": daemon.get("concurrency") if running else None,
        # settings changed in the configuration that the last reload could not apply
        "restart_needed": daemon.get("restart_needed", []) if running else [],
        "counts": counts,
        "images_per_min_last_hour": round(reader.done_since(now - 3600) / 60, 2),
        "last_errors": [
            {"path": display_path(r.path), "error": r.last_error, "at": r.finished_at}
            for r in reader.records(status=Status.FAILED, limit=5)
        ],
    }


def render_status(status: dict[str, Any]) -> str:
    lines = []
    if status["running"]:
        uptime = _duration(status["uptime_s"] or 0)
        state = "starting" if status.get("starting") else "running"
        lines.append(f"phototagd: {state} (pid {status['pid']}, up {uptime})")
    else:
        seen = status.get("last_seen_at")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seen)) if seen else "never"
        lines.append(f"phototagd: not running (last seen {when})")
    backend = status.get("backend") or "?"
    model = status.get("model")
    health = status.get("health") or {}
    health_text = health.get("description") or ("unknown" if not status["running"] else "?")
    lines.append(f"backend:   {backend}{f' ({model})' if model else ''}, {health_text}")
    if status.get("paused"):
        lines.append("paused:    yes (tagctl resume)")
    if status.get("restart_needed"):
        names = ", ".join(status["restart_needed"])
        lines.append(f"restart:   needed to apply {names} (a reload applied the rest)")
    for root in status.get("vanished_roots") or ():
        lines.append(f"missing:   {root} (watched folder vanished; watched again when it is back)")
    counts = status["counts"]
    lines.append(
        f"queue:     {status['queue_depth']} queued, {status['in_flight']} in flight, "
        f"{status['waiting_to_settle']} settling"
    )
    for model, c in (status.get("concurrency") or {}).items():
        lines.append(f"server:    {render_concurrency(c, model=model)}")
    if status.get("backlog"):
        lines.append(f"backlog:   {render_backlog(status['backlog'])}")
    lines.append(
        "files:     "
        + ", ".join(
            f"{counts[s]} {s}" for s in (Status.DONE, Status.FAILED, Status.SKIPPED, Status.DELETED)
        )
    )
    lines.append(f"rate:      {status['images_per_min_last_hour']} images/min over the last hour")
    if status["last_errors"]:
        lines.append("last errors:")
        for err in status["last_errors"]:
            lines.append(f"  {err['path']}: {err['error']}")
    return "\n".join(lines)


def render_concurrency(c: dict[str, Any], *, model: str) -> str:
    """``limit 12 (auto, probing, cap 64), 11 in flight, latency 0.52 s``; the field a
    per-field model serves is named."""
    who = "" if model == "main" else f"{model} model: "
    how = f"auto, {c['phase']}, cap {c['cap']}" if c["mode"] == "auto" else "fixed"
    latency = c.get("latency_s")
    text = f"{who}limit {c['limit']} ({how}), {c['in_flight']} in flight, " + (
        f"latency {latency:.2f} s" if latency is not None else "no answer yet"
    )
    if c.get("held_s"):
        text += f", held {c['held_s']:.1f} s (rate limit or Retry-After)"
    return text


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s"
