"""Faults in the tree: a folder moved out of a root, a root deleted and made again, and a
burst of inotify overflows."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import time
from pathlib import Path

import pytest
from loguru import logger

from conftest import DATA
from daemon_harness import DaemonProcess, vlm_env, wait_for
from fakevlm import FakeVLM
from phototag.config import Settings
from phototag.intake.intake import Intake
from phototag.intake.selection import Selection
from phototag.intake.watch import start_observers, stop_observers
from phototag.store.queue import Index
from phototag.store.reader import IndexReader

OLD_NS = time.time_ns() - 3600 * 10**9


def _status_of(daemon: DaemonProcess, photo: Path) -> str | None:
    """The status of ``photo``'s record, read from the index in this process."""
    reader = IndexReader.open(daemon.state / "index.sqlite3")
    try:
        record = reader.get(photo)
    finally:
        reader.close()
    return record.status if record else None


def _wait_tagged(daemon: DaemonProcess, photo: Path) -> None:
    wait_for(
        lambda: _status_of(daemon, photo) == "done",
        timeout_s=20,  # the reconcile is 600 s away: only the watch can have seen it
        what=f"{photo.name} tagged",
        log=daemon.log_path,
    )


@pytest.mark.slow
def test_a_folder_moved_out_of_the_root_is_recorded_as_gone(tmp_path: Path) -> None:
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    (inbox / "trip").mkdir(parents=True)
    outside.mkdir()
    for name in ("chelsea.jpg", "coffee.jpg"):
        shutil.copyfile(DATA / name, inbox / "trip" / name)
    with FakeVLM() as fake:
        daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake)).start()
        try:
            daemon.wait_done(2)
            os.rename(inbox / "trip", outside / "trip")
            status = wait_for(
                lambda: (s := daemon.status())["counts"]["deleted"] == 2 and s,
                timeout_s=15,
                what="the moved-out folder's records marked deleted",
                log=daemon.log_path,
            )
            assert status["counts"]["done"] == 0
            assert "folder gone" in daemon.log_path.read_text()
        finally:
            assert daemon.stop() == 0


@pytest.mark.slow
def test_a_vanished_root_is_reported_and_watched_again_when_it_is_back(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(0.05)
    shutil.copyfile(DATA / "chelsea.jpg", inbox / "before.jpg")
    with FakeVLM() as fake:
        daemon = DaemonProcess(home=tmp_path / "home", roots=[inbox], env=vlm_env(fake))
        daemon.env["NOTIFY_SOCKET"] = str(notify_path)
        daemon.start()
        try:
            daemon.wait_done(1)
            shutil.rmtree(inbox)
            status = wait_for(
                lambda: (s := daemon.status()).get("vanished_roots") and s,
                timeout_s=15,
                what="the vanished root in the status",
                log=daemon.log_path,
            )
            assert status["vanished_roots"] == [str(inbox)]
            assert status["counts"]["deleted"] == 1
            assert "has vanished" in daemon.log_path.read_text()
            text = daemon.tagctl("status").stdout
            assert f"missing:   {inbox}" in text, text
            sent: list[str] = []

            def status_sent() -> bool:
                with contextlib.suppress(TimeoutError):
                    sent.append(notify.recv(4096).decode())
                return any(f"watched folder missing: {inbox}" in m for m in sent)

            wait_for(status_sent, timeout_s=15, what="STATUS= naming the missing root")

            inbox.mkdir()
            shutil.copyfile(DATA / "coffee.jpg", inbox / "after.jpg")
            _wait_tagged(daemon, inbox / "after.jpg")
            assert daemon.status()["vanished_roots"] == []

            # gone and made again at once: the new folder is another inode, watched again
            shutil.rmtree(inbox)
            inbox.mkdir()
            shutil.copyfile(DATA / "rocket.jpg", inbox / "again.jpg")
            _wait_tagged(daemon, inbox / "again.jpg")
            assert _status_of(daemon, inbox / "after.jpg") == "deleted"
        finally:
            assert daemon.stop() == 0
            notify.close()


def test_a_burst_of_overflows_is_answered_with_one_reconcile(tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    for i in range(50):
        path = root / f"d{i % 5}" / f"p{i}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"jpeg")
        os.utime(path, ns=(OLD_NS, OLD_NS))
    index = Index(tmp_path / "state" / "index.sqlite3")
    selection = Selection.from_settings(Settings(roots=[root]))
    intake = Intake(
        index=index,
        selection=selection,
        debounce_s=0.5,
        writer_quiet_s=30.0,
        on_queued=lambda: None,
    )
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING")
    observers = start_observers([root], recursive=True, mode="inotify", sink=intake.changes)
    intake.start()
    try:
        # the kernel's queue overflows 29 times in one burst; watchdog logs each overflow
        # (and again for each recursive watch it rebuilds), which is how phototag hears it
        for _ in range(29):
            logging.getLogger("watchdog.observers.inotify_c").warning(
                "Inotify queue overflowed; filesystem events were lost"
            )
            logging.getLogger("watchdog.observers.inotify").warning(
                "Inotify queue overflowed; reconciling recursive watches below %r", str(root)
            )
        wait_for(
            lambda: index.queue_depth() == 50 and intake.changes.empty(),
            timeout_s=10,
            what="the reconcile to queue every file",
        )
        reconciles = [line for line in lines if "reconciling the roots" in line]
        assert len(reconciles) == 1, reconciles
        assert "(58 report(s))" in reconciles[0]
    finally:
        intake.stop()
        stop_observers(observers)
        logger.remove(sink)
        index.close()
