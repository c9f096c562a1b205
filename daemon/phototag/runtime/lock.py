"""One daemon per index: an exclusive ``flock`` on a lock file beside the index.

The control socket cannot be the guard: it lives under ``$XDG_RUNTIME_DIR``, which a run
from cron lacks or sets elsewhere, and ``--once`` opens none. The state folder is what two
writers would share, so the lock sits there. The kernel drops a ``flock`` when its holder
ends (a SIGKILL too), so a stale lock file never blocks a start; the pid written into it
is only for the message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from phototag.errors import IndexLocked

LOCK_SUFFIX = ".lock"


def lock_path(index_path: Path) -> Path:
    return index_path.with_name(index_path.name + LOCK_SUFFIX)


class IndexLock:
    """Held from :meth:`acquire` until :meth:`release` (or the process ends)."""

    def __init__(self, *, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, index_path: Path, *, holder: str) -> IndexLock:
        """Take the index's lock, or raise :class:`IndexLocked` naming the pid holding it.

        ``holder`` says who took it ("phototagd", "phototagd --once", "tagctl backfill").
        """
        path = lock_path(index_path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, who = _read_holder(fd)
            os.close(fd)
            raise IndexLocked(index_path=index_path, lock_path=path, pid=pid, holder=who) from None
        except BaseException:
            os.close(fd)
            raise
        os.fchmod(fd, 0o600)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {holder}\n".encode(), 0)
        return cls(fd=fd, path=path)

    def release(self) -> None:
        """Let go (idempotent). The file stays: removing it would race a new holder."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> IndexLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> tuple[int | None, str]:
    """The pid and name the holder wrote; (None, "") if it has not written them yet."""
    try:
        text = os.pread(fd, 256, 0).decode("utf-8", "replace")
    except OSError:
        return None, ""
    pid, _, who = text.strip().partition(" ")
    return (int(pid) if pid.isdigit() else None), who
