"""Run the real phototagd as a subprocess on temp folders, and wait on what it reports."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import exiftool
from fakevlm import FakeVLM
from phototag.reporting.status import collect_status
from phototag.store.reader import IndexReader

# Summary and metrics rewritten every second, for a test that reads them while the daemon
# runs; the others keep the default (60 s): at 1 s each daemon of the suite spent ~40 ms of
# CPU a second rewriting them.
FRESH_REPORTS = {
    "PHOTOTAG_OUTPUTS__SUMMARY_INTERVAL_S": "1",
    "PHOTOTAG_OUTPUTS__METRICS_INTERVAL_S": "1",
}


class DaemonProcess:
    def __init__(
        self,
        *,
        home: Path,
        roots: list[Path],
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.home = home
        self.roots = roots
        self.state = home / "state"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.upper().startswith("PHOTOTAG_")},
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_STATE_HOME": str(home / "xdg-state"),
            "XDG_RUNTIME_DIR": str(home / "run"),
            "PHOTOTAG_STATE_DIR": str(self.state),
            "PHOTOTAG_DEBOUNCE_S": "0.5",
            "PHOTOTAG_LOG_LEVEL": "DEBUG",
            **(env or {}),
        }
        for key in [k for k in self.env if k.startswith("NOTIFY_SOCKET") or k == "JOURNAL_STREAM"]:
            del self.env[key]
        (home / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
        self.args = args
        self.proc: subprocess.Popen[str] | None = None
        self.log_path = home / "daemon.log"

    def start(self) -> DaemonProcess:
        self._log = self.log_path.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "phototag.cli.phototagd", *map(str, self.roots), *self.args],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_for(  # watching, and the catch-up scan done: a file made now is seen
            lambda: (status := self.status()).get("running") and not status.get("starting"),
            timeout_s=60,
            what="daemon start",
            log=self.log_path,
        )
        return self

    def stop(self, *, timeout_s: float = 10.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout_s)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._log.close()
        return code

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self._log.close()

    def tagctl(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "phototag.cli.tagctl", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=check,
        )

    def status(self) -> dict[str, Any]:
        """What ``tagctl status --json`` says, read in this process from the index (a new
        tagctl process every poll cost most of the suite's time on 2 cores)."""
        index = self.state / "index.sqlite3"
        if not index.exists():
            return {}
        try:
            reader = IndexReader.open(index)
        except sqlite3.Error:  # being created right now
            return {}
        try:
            return json.loads(json.dumps(collect_status(reader)))
        except sqlite3.Error:
            return {}
        finally:
            reader.close()

    def jsonl(self) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        for path in sorted((self.state / "log").glob("*.jsonl")):
            lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return lines

    def wait_done(self, count: int, *, timeout_s: float = 60) -> dict[str, Any]:
        """Wait until ``count`` files are done or failed and nothing is queued or claimed
        (the index's own counts, current at once; the heartbeat lags up to 2 s)."""

        def finished() -> dict[str, Any] | None:
            status = self.status()
            counts = status.get("counts", {})
            settled = counts.get("done", 0) + counts.get("failed", 0) >= count
            idle = counts.get("queued", 1) == 0 and counts.get("processing", 1) == 0
            return status if settled and idle else None

        return wait_for(
            finished, timeout_s=timeout_s, what=f"{count} files finished", log=self.log_path
        )

    def wait_settled(self, count: int, *, timeout_s: float = 30) -> dict[str, Any]:
        """Wait until ``count`` files in all have settled with nothing to do: the proof
        that events (phototag's own writes, a touch) were seen and led to no work."""
        return wait_for(
            lambda: (s := self.status()).get("settled_unchanged", 0) >= count and s,
            timeout_s=timeout_s,
            what=f"{count} files to settle as unchanged",
            log=self.log_path,
        )

    def wait_heartbeats(self, count: int = 2, *, timeout_s: float = 30) -> dict[str, Any]:
        """Wait until the daemon's loop has gone round ``count`` more times (each round
        records a heartbeat): a "nothing happens meanwhile" check that is not a guess."""
        seen = {self.status().get("last_seen_at")}

        def beaten() -> dict[str, Any] | None:
            status = self.status()
            seen.add(status.get("last_seen_at"))
            return status if len(seen) > count else None

        return wait_for(beaten, timeout_s=timeout_s, what=f"{count} heartbeats", log=self.log_path)


def wait_for(
    predicate: Callable[[], Any],
    *,
    timeout_s: float,
    what: str,
    log: Path | None = None,
    interval_s: float = 0.1,  # a poll is ~1 ms of CPU (the index read): ten a second will do
) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    tail = log.read_text()[-4000:] if log and log.exists() else ""
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}\n--- log ---\n{tail}")


def keywords_of(path: Path) -> list[str]:
    (meta,) = exiftool(path, args=("-XMP-dc:Subject", "-IPTC:Keywords", "-XMP-dc:Title"))
    value = meta.get("Subject", [])
    return value if isinstance(value, list) else [value]


def write_slowly(src: Path, dest: Path, *, chunks: int, interval_s: float) -> None:
    data = src.read_bytes()
    step = max(1, len(data) // chunks)
    with dest.open("wb") as fh:
        for start in range(0, len(data), step):
            fh.write(data[start : start + step])
            fh.flush()
            time.sleep(interval_s)


def vlm_env(fake: FakeVLM, **extra: str) -> dict[str, str]:
    """Settings for a daemon that talks to the fake OpenAI-compatible server."""
    return {
        "PHOTOTAG_BACKEND": "openai",
        "PHOTOTAG_VLM__BASE_URL": fake.url,
        "PHOTOTAG_VLM__MODEL": "fake-vlm",
        "PHOTOTAG_VLM__MAX_INFLIGHT": "4",
        "PHOTOTAG_VLM__MAX_RETRIES": "1",
        "PHOTOTAG_VLM__RETRY_BASE_S": "0.2",
        "PHOTOTAG_VLM__TIMEOUT_S": "10",
        **extra,
    }
