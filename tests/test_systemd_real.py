"""A real ``systemd --user`` manager runs our units.

The manager lives in a private mount namespace (``unshare -m``) with a tmpfs on
/run/systemd holding /run/systemd/system, so it believes systemd booted the machine;
HOME and XDG_RUNTIME_DIR point at temp folders. Every systemctl call enters that
namespace with nsenter. Skipped only where unshare is impossible (not root, no unshare).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from phototag.cli.cmd_service import UNIT_NAME

pytestmark = [pytest.mark.systemd, pytest.mark.slow]

BIN = Path(sys.executable).parent
SYSTEMD = Path("/lib/systemd/systemd")


def _unshare_problem() -> str | None:
    if not SYSTEMD.exists() or not shutil.which("systemctl"):
        return "systemd is not installed"
    if not shutil.which("unshare") or not shutil.which("nsenter"):
        return "unshare/nsenter (util-linux) are missing"
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return f"unshare -m is impossible here: {probe.stderr.strip()}"
    return None


class UserManager:
    """A private systemd --user manager and a way to talk to it."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.runtime = root / "run"
        self.units = self.home / ".config" / "systemd" / "user"
        for folder in (self.home, self.runtime, self.units):
            folder.mkdir(parents=True, exist_ok=True)
        self.runtime.chmod(0o700)
        self.env = {
            "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "LANG": "C.UTF-8",
        }
        self.log = (root / "manager.log").open("w")
        self.process = subprocess.Popen(
            [
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                "mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system && "
                f"exec {SYSTEMD} --user",
            ],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(
            lambda: self.run("is-system-running").stdout.strip() in ("running", "degraded"),
            timeout_s=30,
            what="the user manager to come up",
        )

    def exec(self, *argv: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run a command inside the manager's mount namespace, with its environment."""
        return subprocess.run(
            ["nsenter", "-t", str(self.process.pid), "-m", "--", *argv],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def run(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return self.exec("systemctl", "--user", *args, check=check)

    def prop(self, unit: str, name: str) -> str:
        return self.run("show", unit, "-p", name, "--value").stdout.strip()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the manager stops its units, then exits
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def wait_for(check: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[UserManager]:
    problem = _unshare_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the real systemd tests: {problem}")
        pytest.skip(problem)
    mgr = UserManager(tmp_path)
    try:
        yield mgr
    finally:
        mgr.close()


# A tiny Type=notify service built on phototag.service: READY after a delay, a STATUS
# line, and a watchdog thread whose liveness check turns False after HANG_AFTER_S seconds.
NOTIFY_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from phototag.runtime.systemd import Watchdog, notify
    ready_after_s = float(os.environ["READY_AFTER_S"])
    hang_after_s = float(os.environ.get("HANG_AFTER_S", "inf"))
    time.sleep(ready_after_s)
    started = time.monotonic()
    notify(ready=True, status="3 tagged, 0 queued, backend ok")
    beat = Watchdog(is_alive=lambda: time.monotonic() - started < hang_after_s,
                    status_line=lambda: "3 tagged, 0 queued, backend ok")
    beat.start()
    with open(os.environ["RUNS_FILE"], "a") as fh:
        fh.write(f"{os.getpid()}\\n")
    while True:
        time.sleep(1)
    """
)


def record_results(tmp_path: Path) -> str:
    """An ExecStopPost= line appending systemd's verdict ($SERVICE_RESULT) to results.txt."""
    return f"ExecStopPost=/bin/sh -c 'echo $$SERVICE_RESULT >> {tmp_path / 'results.txt'}'\n"


def results(tmp_path: Path) -> list[str]:
    path = tmp_path / "results.txt"
    return path.read_text().split() if path.exists() else []


def install_notify_unit(
    manager: UserManager, tmp_path: Path, *, hang_after_s: float | None, watchdog_s: int = 2
) -> Path:
    script = tmp_path / "notify_service.py"
    script.write_text(NOTIFY_SCRIPT)
    runs = tmp_path / "runs.txt"
    hang = f"Environment=HANG_AFTER_S={hang_after_s}\n" if hang_after_s is not None else ""
    (manager.units / "tiny.service").write_text(
        "[Service]\nType=notify\n"
        f"ExecStart={sys.executable} {script}\n"
        "Environment=READY_AFTER_S=2\n"
        f"Environment=RUNS_FILE={runs}\n{hang}"
        f"WatchdogSec={watchdog_s}s\nRestart=on-failure\nRestartSec=1s\n"
        f"{record_results(tmp_path)}"
    )
    manager.run("daemon-reload", check=True)
    return runs


def test_active_only_after_ready_and_status_text(manager: UserManager, tmp_path: Path) -> None:
    install_notify_unit(manager, tmp_path, hang_after_s=None)
    manager.run("start", "--no-block", "tiny.service", check=True)
    wait_for(
        lambda: manager.prop("tiny.service", "MainPID") not in ("", "0"),
        timeout_s=10,
        what="the service process",
    )
    assert manager.run("is-active", "tiny.service").stdout.strip() == "activating"
    wait_for(
        lambda: manager.run("is-active", "tiny.service").returncode == 0,
        timeout_s=15,
        what="READY=1",
    )
    assert manager.prop("tiny.service", "StatusText") == "3 tagged, 0 queued, backend ok"
    time.sleep(3)  # longer than WatchdogSec: the watchdog pings keep it alive
    assert manager.prop("tiny.service", "NRestarts") == "0"


def test_a_stuck_service_is_killed_by_the_watchdog_and_restarted(
    manager: UserManager, tmp_path: Path
) -> None:
    runs = install_notify_unit(manager, tmp_path, hang_after_s=1.0)
    manager.run("start", "tiny.service", check=True)  # returns once READY=1 arrived
    first_pid = manager.prop("tiny.service", "MainPID")
    wait_for(
        lambda: int(manager.prop("tiny.service", "NRestarts") or 0) >= 1,
        timeout_s=20,
        what="a watchdog restart",
    )
    wait_for(
        lambda: manager.run("is-active", "tiny.service").returncode == 0,
        timeout_s=15,
        what="the restarted service to be ready",
    )
    assert manager.prop("tiny.service", "MainPID") != first_pid
    assert len(runs.read_text().split()) >= 2
    assert results(tmp_path)[0] == "watchdog"


def test_tagctl_service_install_status_uninstall(manager: UserManager) -> None:
    dry = manager.exec(str(BIN / "tagctl"), "service", "install", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would write" in dry.stdout and "would run systemctl --user enable --now" in dry.stdout
    unit = manager.units / UNIT_NAME
    assert not unit.exists()

    installed = manager.exec(str(BIN / "tagctl"), "service", "install")
    assert installed.returncode == 0, installed.stderr
    assert f"ExecStart={BIN / 'phototagd'}\n" in unit.read_text()
    assert manager.prop(UNIT_NAME, "UnitFileState") == "enabled"
    assert manager.prop(UNIT_NAME, "FragmentPath") == str(unit)

    removed = manager.exec(str(BIN / "tagctl"), "service", "uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not unit.exists()
    assert manager.prop(UNIT_NAME, "LoadState") == "not-found"
    status = manager.exec(str(BIN / "tagctl"), "service", "status")
    assert status.returncode == 3


@pytest.fixture
def phototag_home(manager: UserManager, tmp_path: Path) -> Path:
    photos = tmp_path / "photos"
    photos.mkdir()
    config = manager.home / ".config" / "phototag" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'roots = ["{photos}"]\nbackend = "local"\n')
    return photos


def test_phototagd_under_systemd(manager: UserManager, phototag_home: Path) -> None:
    installed = manager.exec(str(BIN / "tagctl"), "service", "install")
    assert installed.returncode == 0, installed.stderr
    wait_for(
        lambda: manager.run("is-active", UNIT_NAME).returncode == 0,
        timeout_s=120,
        what="phototagd to be ready",
    )
    wait_for(
        lambda: manager.prop(UNIT_NAME, "StatusText") != "", timeout_s=30, what="a STATUS= line"
    )
    pid = manager.prop(UNIT_NAME, "MainPID")
    status = Path(f"/proc/{pid}/status").read_text()
    assert "NoNewPrivs:\t1" in status  # the sandboxing holds in a user unit
    assert "Seccomp:\t2" in status
    answer = manager.exec(str(BIN / "tagctl"), "pause", "--json")
    assert answer.returncode == 0, answer.stderr

    manager.run("stop", UNIT_NAME, check=True)
    assert manager.prop(UNIT_NAME, "Result") == "success"


def test_hung_phototagd_is_killed_by_the_watchdog_and_restarted(
    manager: UserManager, phototag_home: Path, tmp_path: Path
) -> None:
    dropin = manager.units / f"{UNIT_NAME}.d" / "hang.conf"
    dropin.parent.mkdir(parents=True)
    dropin.write_text(
        "[Service]\nWatchdogSec=3s\nRestartSec=1s\nTimeoutAbortSec=5s\n" + record_results(tmp_path)
    )
    installed = manager.exec(str(BIN / "tagctl"), "service", "install")
    assert installed.returncode == 0, installed.stderr
    wait_for(
        lambda: manager.run("is-active", UNIT_NAME).returncode == 0,
        timeout_s=120,
        what="phototagd to be ready",
    )
    first_pid = manager.prop(UNIT_NAME, "MainPID")
    os.kill(int(first_pid), signal.SIGSTOP)  # hung: every thread frozen, no watchdog ping
    wait_for(
        lambda: int(manager.prop(UNIT_NAME, "NRestarts") or 0) >= 1,
        timeout_s=60,
        what="a watchdog restart of phototagd",
    )
    assert results(tmp_path)[0] == "watchdog"
    wait_for(
        lambda: manager.prop(UNIT_NAME, "MainPID") not in ("0", "", first_pid),
        timeout_s=120,
        what="a new phototagd process",
    )
