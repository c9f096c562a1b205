"""Which trees are watched how: mountinfo parsing, the auto rule, and the overflow hook."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
from pathlib import Path

from phototag.intake.mounts import mount_of, parse_mountinfo, polling_reason
from phototag.intake.watch import Change, plan_watches, start_observers, stop_observers

MOUNTINFO = r"""22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:40 / /home rw,relatime shared:2 - ext4 /dev/sda2 rw
41 30 0:51 / /home/ann/Pictures/NAS rw,relatime shared:9 - nfs4 nas:/photos rw,vers=4.2
42 22 0:52 / /mnt/smb\040share rw,relatime shared:10 - cifs //box/photos rw
43 22 0:53 / /mnt/phone rw,nosuid shared:11 - fuse.sshfs ann@phone:/DCIM rw
44 22 0:54 / /mnt/usb rw,relatime shared:12 - vfat /dev/sdb1 rw
"""


def test_mountinfo_is_parsed_with_escapes_and_the_longest_mount_wins() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert [m.fstype for m in mounts] == ["ext4", "ext4", "nfs4", "cifs", "fuse.sshfs", "vfat"]
    smb = mount_of(Path("/mnt/smb share/2024/a.jpg"), mounts)
    assert smb is not None and smb.source == "//box/photos"
    assert mount_of(Path("/home/ann/Pictures/NAS/x"), mounts).fstype == "nfs4"
    assert mount_of(Path("/home/ann/Pictures/Inbox"), mounts).fstype == "ext4"
    reasons = {m.fstype: polling_reason(m) for m in mounts}
    assert reasons["ext4"] is None and reasons["vfat"] is None
    assert "network share" in reasons["nfs4"] and "network share" in reasons["cifs"]
    assert "FUSE" in reasons["fuse.sshfs"]


def test_auto_polls_network_and_fuse_trees_and_settings_force_either_way() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    roots = [Path("/home/ann/Pictures"), Path("/mnt/smb share"), Path("/mnt/phone/Camera")]
    native, polled = plan_watches(roots, mode="auto", mounts=mounts)
    assert native == [Path("/home/ann/Pictures")]
    assert set(polled) == {
        Path("/home/ann/Pictures/NAS"),
        Path("/mnt/smb share"),
        Path("/mnt/phone/Camera"),
    }
    native, polled = plan_watches(roots, mode="inotify", mounts=mounts)
    assert native == roots and polled == {}
    native, polled = plan_watches(roots, mode="polling", mounts=mounts)
    assert native == [] and set(polled) == set(roots)


def test_an_inotify_queue_overflow_asks_for_a_rescan(tmp_path: Path) -> None:
    sink: queue.SimpleQueue[Change] = queue.SimpleQueue()
    observers = start_observers([tmp_path], recursive=True, mode="inotify", sink=sink)
    try:
        # what watchdog's inotify reader logs when the kernel reports IN_Q_OVERFLOW
        logging.getLogger("watchdog.observers.inotify_c").warning(
            "Inotify queue overflowed; filesystem events were lost"
        )
        assert sink.get(timeout=5) == Change("rescan", Path("/"))
    finally:
        stop_observers(observers)


IN_CLOSE_NOWRITE, IN_OPEN = 0x10, 0x20


def _inotify_masks() -> list[int]:
    """The event masks of this process's inotify watches, as the kernel holds them."""
    masks = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:inotify":
                with open(f"/proc/self/fdinfo/{fd}") as fh:
                    masks += [int(m, 16) for m in re.findall(r"\bmask:([0-9a-f]+)", fh.read())]
    return masks


def test_inotify_is_not_asked_for_opens_and_reads(tmp_path: Path) -> None:
    # phototag opens each photo six or more times (hash, decode, metadata, thumbnail)
    (tmp_path / "sub").mkdir()
    before = len(_inotify_masks())
    sink: queue.SimpleQueue[Change] = queue.SimpleQueue()
    observers = start_observers([tmp_path], recursive=True, mode="inotify", sink=sink)
    try:
        masks = _inotify_masks()
        assert len(masks) == before + 2  # the root and its folder
        assert not [m for m in masks if m & (IN_OPEN | IN_CLOSE_NOWRITE)]
        (tmp_path / "sub" / "a.jpg").write_bytes(b"x")  # a change is still seen
        assert sink.get(timeout=5) == Change("touched", tmp_path / "sub" / "a.jpg")
    finally:
        stop_observers(observers)
