"""What the kernel says about filesystems: which mount a folder is on (network or FUSE, where
inotify sees only local changes) and whether the state folder still has room.

Pure parsing and decisions (:func:`parse_mountinfo`, :func:`mount_of`,
:func:`polling_reason`) with thin readers around them.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

MOUNTINFO = Path("/proc/self/mountinfo")
# filesystems whose changes made by other machines (or by a FUSE daemon) inotify never sees
NETWORK_FSTYPES = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "9p",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "ocfs2",
        "davfs",
        "coda",
    }
)
_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True, slots=True)
class Mount:
    mount_point: Path
    fstype: str
    source: str


def parse_mountinfo(text: str) -> list[Mount]:
    """The mounts listed in a ``/proc/<pid>/mountinfo`` text (see proc(5))."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        dash = fields.index("-")
        if dash < 5 or len(fields) < dash + 3:
            continue
        point = _OCTAL.sub(lambda m: chr(int(m[1], 8)), fields[4])
        mounts.append(
            Mount(mount_point=Path(point), fstype=fields[dash + 1], source=fields[dash + 2])
        )
    return mounts


def mount_of(path: Path, mounts: Sequence[Mount]) -> Mount | None:
    """The mount ``path`` lives on: the longest mount point that contains it (the last
    one listed wins when two are stacked on the same point)."""
    best: Mount | None = None
    for mount in mounts:
        inside = path == mount.mount_point or path.is_relative_to(mount.mount_point)
        if inside and (best is None or len(mount.mount_point.parts) >= len(best.mount_point.parts)):
            best = mount
    return best


def polling_reason(mount: Mount) -> str | None:
    """Why a tree on ``mount`` must be polled rather than watched with inotify; None if not."""
    fstype = mount.fstype.lower()
    if fstype in NETWORK_FSTYPES:
        return f"{mount.fstype} network share {mount.source} at {mount.mount_point}"
    if fstype == "fuse" or fstype == "fuseblk" or fstype.startswith("fuse."):
        return f"FUSE filesystem ({mount.fstype}) {mount.source} at {mount.mount_point}"
    return None


def mounts_under(folder: Path, mounts: Sequence[Mount]) -> list[Mount]:
    """Mounts strictly inside ``folder`` (a NAS share mounted inside a local root)."""
    return [m for m in mounts if m.mount_point != folder and m.mount_point.is_relative_to(folder)]


def read_mounts() -> list[Mount]:
    try:
        return parse_mountinfo(MOUNTINFO.read_text(errors="surrogateescape"))
    except OSError:
        return []


def free_bytes(folder: Path) -> int:
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


class SpaceGate:
    """Is there room for the index and the logs? Says no while the state folder's disk has
    less than ``min_free_bytes`` free, with one error when that starts and one notice when
    it ends. Looks at the disk at most once every ``every_s``."""

    def __init__(
        self,
        *,
        folder: Path,
        min_free_bytes: int,
        every_s: float = 1.0,
        measure: Callable[[Path], int] = free_bytes,
    ) -> None:
        self._folder = folder
        self._min_free_bytes = min_free_bytes
        self._every_s = every_s
        self._measure = measure
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._ok = True

    def ok(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at < self._every_s:
                return self._ok
            self._checked_at = now
            try:
                free = self._measure(self._folder)
            except OSError as exc:
                logger.warning("cannot measure free space in {}: {}", self._folder, exc)
                return self._ok
            ok = free >= self._min_free_bytes
            if ok != self._ok:
                if ok:
                    logger.info(
                        "state folder {} has room again ({} MB free): resuming",
                        self._folder,
                        free // 1_000_000,
                    )
                else:
                    logger.error(
                        "state folder {} is almost full ({} MB free, min_free_state_bytes is {} "
                        "MB): processing paused until space is freed",
                        self._folder,
                        free // 1_000_000,
                        self._min_free_bytes // 1_000_000,
                    )
            self._ok = ok
            return ok


class FullDisks:
    """Folders whose disk refused a photo's write for lack of room (ENOSPC, EDQUOT).

    While any of them has less free space than the write it refused needs, :meth:`ok` says
    no and processing pauses, as for a full state disk: one error when a disk fills, one
    notice when it has room again. Looks at the disks at most once every ``every_s``.
    """

    def __init__(
        self, *, every_s: float = 1.0, measure: Callable[[Path], int] = free_bytes
    ) -> None:
        self._every_s = every_s
        self._measure = measure
        self._lock = threading.Lock()
        self._need: dict[Path, int] = {}  # folder -> free bytes a retry needs there
        self._checked_at = float("-inf")

    def full(self, folder: Path, *, need_bytes: int) -> None:
        """A write into ``folder`` failed for lack of room; it needs ``need_bytes`` free."""
        with self._lock:
            if folder not in self._need:
                logger.error(
                    "the disk of {} is full (a photo's write needs {} MB): processing "
                    "paused until space is freed; nothing was changed",
                    folder,
                    max(1, need_bytes // 1_000_000),
                )
            self._need[folder] = max(need_bytes, self._need.get(folder, 0))
            self._checked_at = time.monotonic()

    def ok(self) -> bool:
        with self._lock:
            if not self._need:
                return True
            now = time.monotonic()
            if now - self._checked_at < self._every_s:
                return False
            self._checked_at = now
            for folder, need in list(self._need.items()):
                try:
                    free = self._measure(folder)
                except FileNotFoundError:
                    free = need  # the folder is gone: its jobs end as deleted
                except OSError as exc:
                    logger.warning("cannot measure free space in {}: {}", folder, exc)
                    continue
                if free >= need:
                    del self._need[folder]
                    logger.info(
                        "the disk of {} has room again ({} MB free): resuming",
                        folder,
                        free // 1_000_000,
                    )
            return not self._need
