"""Prometheus textfile-collector output (``phototag.prom``) for node_exporter users.

``metrics`` maps a name to a number (one sample) or to ``{label: {value: number}}``
(one sample per label value)::

    {"tagged_total": 412, "queue_depth": 3, "backend_up": True,
     "jobs": {"status": {"queued": 3, "failed": 1}}}

Names get a ``phototag_`` prefix; names ending in ``_total`` are counters, the rest
gauges. Anything else (text, None, NaN) is left out. The file is replaced atomically,
so node_exporter never reads half of it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from phototag.metadata.atomic import write_text

PREFIX = "phototag_"
_BAD_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_]")


def render_prom(metrics: Mapping[str, Any]) -> str:
    lines: list[str] = []
    for raw_name, value in sorted(metrics.items()):
        name = _metric_name(raw_name)
        samples = list(_samples(name, value))
        if samples:
            kind = "counter" if name.endswith("_total") else "gauge"
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(samples)
    return "".join(line + "\n" for line in lines)


def write_prom(path: Path, metrics: Mapping[str, Any]) -> None:
    """Write the textfile atomically, readable by others (node_exporter's user)."""
    write_text(path, render_prom(metrics), mode=0o644)


def _metric_name(name: str) -> str:
    name = _BAD_NAME_CHARS.sub("_", name)
    return name if name.startswith(PREFIX) else PREFIX + name


def _number(value: Any) -> str | None:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return None


def _samples(name: str, value: Any) -> list[str]:
    number = _number(value)
    if number is not None:
        return [f"{name} {number}"]
    if not isinstance(value, Mapping):
        return []
    samples = []
    for label, by_value in sorted(value.items()):
        if not isinstance(by_value, Mapping):
            continue
        label_name = _BAD_NAME_CHARS.sub("_", str(label))
        for label_value, sample in sorted(by_value.items(), key=lambda kv: str(kv[0])):
            number = _number(sample)
            if number is not None:
                samples.append(f'{name}{{{label_name}="{_escape(str(label_value))}"}} {number}')
    return samples


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prom_metrics(
    *,
    counts: Mapping[str, int],
    queue_depth: int,
    in_flight: int,
    healthy: bool,
    paused: bool,
    concurrency: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The daemon's figures in the shape render_prom expects. ``concurrency`` (by model:
    main, description, keywords) gives ``vlm_limit``, ``vlm_in_flight``,
    ``vlm_latency_seconds`` and ``vlm_limit_cap``, labelled ``model``."""
    metrics: dict[str, Any] = {
        "files": {"status": dict(counts)},
        "queue_depth": queue_depth,
        "in_flight": in_flight,
        "backend_healthy": healthy,
        "paused": paused,
    }
    for name, key in (
        ("vlm_limit", "limit"),
        ("vlm_limit_cap", "cap"),
        ("vlm_in_flight", "in_flight"),
        ("vlm_latency_seconds", "latency_s"),
    ):
        if concurrency:
            metrics[name] = {"model": {model: s.get(key) for model, s in concurrency.items()}}
    return metrics
