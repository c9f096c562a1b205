"""Shared by the tests/test_batch_*.py files: one-shot runs of the real phototagd and tagctl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from daemon_harness import DaemonProcess
from daemon_harness import vlm_env as harness_vlm_env
from fakevlm import FakeVLM


def vlm_env(fake: FakeVLM, **extra: str) -> dict[str, str]:
    """The daemon against the fake server, without the embedded models (fast start)."""
    return harness_vlm_env(
        fake, PHOTOTAG_LOCAL__WITH_VLM="false", PHOTOTAG_LOG_LEVEL="INFO", **extra
    )


class Batch(DaemonProcess):
    """A private home whose roots are in the environment, so tagctl knows them too."""

    def __init__(self, *, home: Path, roots: list[Path], env: dict[str, str]) -> None:
        roots_json = json.dumps([str(r) for r in roots])
        super().__init__(home=home, roots=[], env={"PHOTOTAG_ROOTS": roots_json, **env})
        self.roots = roots

    def once(self, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "phototag.cli.phototagd", "--once", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )

    def scan(self, *paths: Path) -> dict[str, Any]:
        out = self.tagctl("scan", "--json", *map(str, paths))
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def records_for(self, path: Path) -> list[dict[str, Any]]:
        return [r for r in self.jsonl() if r["path"] == str(path)]


def reasons(scan: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """path -> (action, reason) from a ``tagctl scan --json`` answer."""
    return {f["path"]: (f["action"], f["reason"]) for f in scan["files"]}


def backdate(*paths: Path, seconds: float = 3600) -> None:
    """Make files look long finished (complete on disk before the run started)."""
    when = time.time() - seconds
    for path in paths:
        os.utime(path, (when, when))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones and sidecars too) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
