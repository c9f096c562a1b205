"""Replace a file's bytes so that a crash at any instant leaves the old file or the new one.

The new bytes go to a hidden temporary file in the same folder (``TEMP_PREFIX`` + random,
so the watcher ignores it), are fsynced, get the old file's mode, owner and (optionally)
mtime, and are renamed over the old file; the folder is fsynced last. A temporary file
left by a crash is removed by :func:`remove_stale_temp_files` at the next start.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from phototag.domain import FileSig
from phototag.errors import FileChanged, FileGone

TEMP_PREFIX = ".phototag-tmp-"


def current_sig(path: Path) -> FileSig:
    """The file's size and mtime now; FileGone if it is not there."""
    try:
        return FileSig.of(path)
    except FileNotFoundError as exc:
        raise FileGone(f"file disappeared: {path}") from exc


def check_unchanged(path: Path, expected: FileSig) -> None:
    """Raise FileChanged if ``path`` is not as it was when it was read (FileGone if missing)."""
    now = current_sig(path)
    if now != expected:
        raise FileChanged(
            f"{path.name} changed on disk since it was read "
            f"(size {expected.size} -> {now.size}, mtime_ns {expected.mtime_ns} -> {now.mtime_ns})"
        )


def replace_bytes(path: Path, data: bytes, *, expected: FileSig, keep_mtime: bool) -> FileSig:
    """Atomically replace ``path`` (which must still match ``expected``) with ``data``.

    Returns the file's signature after the write. OSError propagates; the temporary file
    is removed on every failure and ``path`` is then untouched.
    """
    st = os.stat(path)
    with _temp_beside(path) as (fd, tmp):
        _write_all(fd, data)
        os.fchmod(fd, stat.S_IMODE(st.st_mode))
        if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
            os.fchown(fd, st.st_uid, st.st_gid)
        if keep_mtime:
            os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.fsync(fd)
        check_unchanged(path, expected)
        os.replace(tmp, path)
    fsync_dir(path.parent)
    return current_sig(path)


def create_exclusive(path: Path, data: bytes, *, mode: int) -> FileSig:
    """Atomically create ``path`` with ``data``; FileChanged if something appeared there."""
    with _temp_beside(path) as (fd, tmp):
        _write_all(fd, data)
        os.fchmod(fd, mode)
        os.fsync(fd)
        try:
            os.link(tmp, path)  # fails if path exists: never clobbers a file made meanwhile
        except FileExistsError as exc:
            raise FileChanged(f"{path.name} appeared while phototag was writing it") from exc
    fsync_dir(path.parent)
    return current_sig(path)


def write_text(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` (UTF-8): the old content or the new, never a mix."""
    data = text.encode("utf-8")  # first: a text that cannot be encoded changes nothing
    with _temp_beside(path) as (fd, tmp):
        _write_all(fd, data)
        os.fchmod(fd, mode)
        os.fsync(fd)
        os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temp_files(root: Path) -> int:
    """Remove temporary files a crash left under ``root`` (recursive); returns how many."""
    removed = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            if not name.startswith(TEMP_PREFIX):
                continue
            candidate = Path(folder) / name
            if candidate.is_symlink() or not candidate.is_file():
                continue
            with contextlib.suppress(FileNotFoundError):
                candidate.unlink()
                removed += 1
    return removed


@contextlib.contextmanager
def _temp_beside(path: Path) -> Iterator[tuple[int, Path]]:
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    tmp = Path(name)
    try:
        yield fd, tmp
    finally:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
