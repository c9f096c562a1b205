"""The adaptive limit is visible: ``tagctl status`` (text and --json), metrics.json and the
Prometheus textfile show the limit, the requests in flight and the latency, for the real
daemon against the fake server; its log says when the limit is cut."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA
from daemon_harness import FRESH_REPORTS, DaemonProcess, vlm_env, wait_for
from fakevlm import FakeVLM, error
from phototag.reporting.status import render_concurrency


@pytest.mark.slow
def test_status_metrics_and_prometheus_show_the_limit(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with FakeVLM() as fake:
        fake.latency_s = 0.05
        env = vlm_env(
            fake,
            PHOTOTAG_VLM__MAX_INFLIGHT="auto",
            PHOTOTAG_OUTPUTS__PROMETHEUS="true",
            **FRESH_REPORTS,
        )
        daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env).start()
        try:
            fake.script(error(429, "too many"))  # the first photo's request is refused once
            for name in ("chelsea.jpg", "coffee.jpg"):
                shutil.copyfile(DATA / name, inbox / name)
            daemon.wait_done(2)
            status = wait_for(  # the status comes from the daemon's heartbeat, every 2 s
                lambda: (s := daemon.status())["concurrency"]["main"]["limit"] < 8 and s,
                timeout_s=10,
                what="the cut limit in the status",
            )
            main = status["concurrency"]["main"]
            assert (main["mode"], main["cap"], main["in_flight"]) == ("auto", 64, 0)
            assert main["limit"] >= 1
            assert main["latency_s"] > 0
            text = daemon.tagctl("status", check=True).stdout
            assert f"server:    limit {main['limit']} (auto, probing, cap 64), 0 in flight" in text
            metrics_path = daemon.state / "metrics.json"

            def metrics_with_the_limit() -> dict[str, Any] | None:
                try:
                    metrics = json.loads(metrics_path.read_text())
                except (FileNotFoundError, json.JSONDecodeError):
                    return None
                shown = (metrics.get("concurrency") or {}).get("main", {}).get("limit")
                return metrics if shown == main["limit"] else None

            metrics = wait_for(metrics_with_the_limit, timeout_s=10, what="metrics.json")
            assert metrics["concurrency"]["main"]["limit"] == main["limit"]
            prom = (daemon.state / "phototag.prom").read_text()
            assert f'phototag_vlm_limit{{model="main"}} {main["limit"]}' in prom
            assert 'phototag_vlm_limit_cap{model="main"} 64' in prom
            assert 'phototag_vlm_in_flight{model="main"} 0' in prom
            assert 'phototag_vlm_latency_seconds{model="main"} ' in prom
        finally:
            daemon.stop()
        log = daemon.log_path.read_text()
        assert "concurrency limit 8 -> " in log and "overload" in log


def test_each_models_concurrency_is_one_status_line() -> None:
    main = {"mode": "fixed", "phase": "fixed", "limit": 4, "cap": 4, "in_flight": 3}
    keywords = {
        "mode": "auto",
        "phase": "startup",
        "limit": 12,
        "cap": 64,
        "in_flight": 12,
        "latency_s": 0.25,
        "held_s": 2.5,
    }
    assert render_concurrency({**main, "latency_s": None, "held_s": 0}, model="main") == (
        "limit 4 (fixed), 3 in flight, no answer yet"
    )
    assert render_concurrency(keywords, model="keywords") == (
        "keywords model: limit 12 (auto, startup, cap 64), 12 in flight, latency 0.25 s, "
        "held 2.5 s (rate limit or Retry-After)"
    )
