"""The inotify watch limit, for real: inside a user namespace whose watch limit is tiny,
the daemon warns once (naming the sysctl), polls instead, and still tags every photo."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA
from daemon_harness import DaemonProcess


def _namespace_limits_work() -> bool:
    probe = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "sh",
            "-c",
            "echo 8 > /proc/sys/user/max_inotify_watches",
        ],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


@pytest.fixture
def limited_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the daemon (and tagctl) in a user namespace allowing 10 inotify watches."""
    if shutil.which("unshare") is None or not _namespace_limits_work():
        pytest.skip("no user namespaces with their own inotify limits here")
    wrapper = tmp_path / "python-limited"
    wrapper.write_text(
        "#!/bin/sh\nexec unshare --user --map-root-user sh -c "
        f'\'echo 10 > /proc/sys/user/max_inotify_watches && exec {sys.executable} "$@"\' sh "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(wrapper))


@pytest.mark.slow
@pytest.mark.usefixtures("limited_python")
def test_watch_limit_falls_back_to_polling_with_one_clear_warning(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    for year in range(2000, 2030):  # 31 folders: more than the 10 watches allowed
        (inbox / str(year)).mkdir(parents=True)
    # polled files have no close-write event: they wait writer_quiet_s (short here)
    env = {
        "PHOTOTAG_POLL_INTERVAL_S": "0.5",
        "PHOTOTAG_LOG_LEVEL": "INFO",
        "PHOTOTAG_WRITER_QUIET_S": "1",
    }
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env).start()
    try:
        shutil.copyfile(DATA / "chelsea.jpg", inbox / "2029" / "late.jpg")
        shutil.copyfile(DATA / "coffee.jpg", inbox / "top.jpg")
        status = daemon.wait_done(2, timeout_s=60)
        assert status["counts"]["done"] == 2
        log = daemon.log_path.read_text()
        warnings = [line for line in log.splitlines() if "WARNING" in line]
        assert len([w for w in warnings if "inotify watch limit reached" in w]) == 1
        assert "fs.inotify.max_user_watches" in log and "by polling" in log
        assert "Traceback" not in log
        daemon.wait_settled(2)  # phototag's own writes came back and led to no work
        assert len(daemon.jsonl()) == 2
        assert "deleted:" not in daemon.log_path.read_text()
    finally:
        assert daemon.stop() == 0


@pytest.mark.slow
def test_polling_forced_by_the_setting_tags_photos(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = {
        "PHOTOTAG_WATCH_MODE": "polling",
        "PHOTOTAG_POLL_INTERVAL_S": "0.5",
        "PHOTOTAG_WRITER_QUIET_S": "1",
    }
    daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=env).start()
    try:
        (inbox / "sub").mkdir()
        shutil.copyfile(DATA / "rocket.jpg", inbox / "sub" / "rocket.jpg")
        assert daemon.wait_done(1, timeout_s=60)["counts"]["done"] == 1
        assert "watch_mode is polling" in daemon.log_path.read_text()
        daemon.wait_settled(1)
        assert len(daemon.jsonl()) == 1
    finally:
        assert daemon.stop() == 0
