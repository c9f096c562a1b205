"""Replace a file's bytes so that a crash at any instant leaves the old file or the new one.

The new bytes go to a hidden temporary file in the same folder (``TEMP_PREFIX`` + random,
so the watcher ignores it), are fsynced, get the old file's mode, owner and (optionally)
mtime, and are renamed over the old file; the folder is fsynced last. A temporary file
left by a crash is removed by :func:`remove_stale_temp_files` at the next start.

No file is read for tagging nor replaced while another process has it open for writing:
a writer that pauses longer than the quiet time (a phone sync, a network copy) and then
goes on writing on the same descriptor would write into an orphaned inode, and the photo
would be cut short for good. A kernel lease tells: ``F_RDLCK`` cannot be had while anyone
has the file open for writing, ``F_WRLCK`` while anyone has it open at all, and while it
is held nobody can open the file (their ``open`` waits until it is released).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import stat
import tempfile
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

from phototag.domain import FileSig
from phototag.errors import DiskFull, FileChanged, FileGone, MetadataWriteError

TEMP_PREFIX = ".phototag-tmp-"
BACKUP_PREFIX = ".phototag-backup-"  # the old bytes of a photo rewritten in its own inode
_SLACK_BYTES = 1_000_000  # beyond the write itself before a full disk counts as free again
# a lease cannot be had: not the file's owner without CAP_LEASE (EACCES), or a filesystem
# that gives none (NFS, SMB, some FUSE: EINVAL, ENOLCK, EOPNOTSUPP)
_NO_LEASE = frozenset({errno.EACCES, errno.EPERM, errno.EINVAL, errno.ENOLCK, errno.EOPNOTSUPP})
# NFSv4 and SMB grant a lease only on a file the server delegated (an oplock), and answer
# EAGAIN otherwise: there it means "no lease here", not "someone has it open"
_DELEGATED_LEASE_FSTYPES = frozenset({"nfs", "nfs4", "cifs", "smb3"})
# an extended attribute not copied: not ours to set, not kept here, or removed meanwhile
_XATTR_REFUSED = frozenset({errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.ENODATA})


class Lease(StrEnum):
    """What a lease attempt found out about other processes holding a file open."""

    HELD = "held"  # nobody else had it open (as the lease kind asks)
    REFUSED = "refused"  # another process has it open: someone is still at work on it
    UNAVAILABLE = "unavailable"  # no lease on this file here: fall back on quiet time


@contextlib.contextmanager
def lease(path: Path, *, exclusive: bool) -> Iterator[Lease]:
    """Hold a kernel lease on ``path`` for the ``with`` block.

    ``exclusive`` (``F_WRLCK``) is refused while any other process has the file open,
    otherwise (``F_RDLCK``) while any has it open for writing. While it is held, another
    process's ``open`` waits until the block ends; the lease break signal is SIGURG, whose
    default is to be ignored (SIGIO's default would end the daemon).
    """
    try:  # O_NONBLOCK: another holder's lease makes the open fail instead of wait
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except BlockingIOError:
        yield Lease.REFUSED
        return
    try:
        with _leased(fd, exclusive=exclusive) as got:
            yield got
    finally:
        os.close(fd)


@contextlib.contextmanager
def _leased(fd: int, *, exclusive: bool) -> Iterator[Lease]:
    """A lease on the open ``fd`` for the block (the descriptor's own access mode does not
    count against it)."""
    got = Lease.HELD
    fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK if exclusive else fcntl.F_RDLCK)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EBUSY, *_NO_LEASE):
            raise
        refused = exc.errno not in _NO_LEASE and not _leases_need_delegation(fd)
        got = Lease.REFUSED if refused else Lease.UNAVAILABLE
    try:
        yield got
    finally:
        if got is Lease.HELD:
            fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)


def _leases_need_delegation(fd: int) -> bool:
    """Is ``fd`` on NFS or SMB, where a lease is refused with EAGAIN whenever the server has
    not delegated the file to this client, whoever has it open? Found by the device number
    in /proc/self/mountinfo (its third field)."""
    st = os.fstat(fd)
    device = f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) > 2 and fields[2] == device and " - " in line:
                    fstype = line.split(" - ", 1)[1].split()[0]
                    return fstype in _DELEGATED_LEASE_FSTYPES
    except OSError:
        pass
    return False


def check_no_writer(path: Path, *, quiet_s: float, now_ns: int) -> None:
    """Raise FileChanged while another process has ``path`` open for writing.

    Where no lease can be had, the file must instead have been quiet (its mtime unchanged)
    for ``quiet_s``, longer than the watcher's debounce: a paused writer is then likely done.
    FileGone if it is not there.
    """
    try:
        with lease(path, exclusive=False) as got:
            if got is Lease.REFUSED:
                raise FileChanged(f"{path.name} is still open for writing by another process")
            if got is Lease.UNAVAILABLE:
                age_s = (now_ns - path.stat().st_mtime_ns) / 1e9
                if age_s < quiet_s:
                    raise FileChanged(
                        f"{path.name} was written {age_s:.1f} s ago and no lease shows "
                        f"whether its writer is done; waiting until it is quiet for {quiet_s} s"
                    )
    except FileNotFoundError as exc:
        raise FileGone(f"file disappeared: {path}") from exc


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

    The new file gets the old one's mode, owner, every extended attribute this filesystem
    lets phototag set (desktop tags, ratings and comments in ``user.*``, the POSIX ACL in
    ``system.posix_acl_access``) and, with ``keep_mtime``, its times. A file with more than
    one hard link is never split: it is rewritten in its own inode instead
    (:func:`rewrite_in_place`). Returns the file's signature after the write. OSError
    propagates; the temporary file is removed on every failure and ``path`` is then
    untouched.
    """
    st = os.stat(path)
    if st.st_nlink > 1:
        return rewrite_in_place(path, data, expected=expected, keep_mtime=keep_mtime)
    with _room_for(path, len(data)), _temp_beside(path) as (fd, tmp):
        _write_all(fd, data)
        os.fchmod(fd, stat.S_IMODE(st.st_mode))
        if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
            os.fchown(fd, st.st_uid, st.st_gid)
        _copy_xattrs(path, fd)  # after the chown, which may drop some; the ACL sets the mode
        if keep_mtime:
            os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.fsync(fd)
        # no one else may hold the old file open across the rename: a writer still at work
        # would go on writing into the orphaned inode (the job is re-queued instead)
        with lease(path, exclusive=True) as got:
            if got is Lease.REFUSED:
                raise FileChanged(f"{path.name} is open in another process; not replaced")
            check_unchanged(path, expected)
            if os.stat(path).st_ino != st.st_ino:
                raise FileChanged(f"{path.name} was replaced by another file meanwhile")
            os.replace(tmp, path)
    fsync_dir(path.parent)
    return current_sig(path)


def rewrite_in_place(path: Path, data: bytes, *, expected: FileSig, keep_mtime: bool) -> FileSig:
    """Write ``data`` into ``path``'s own inode: every hard link, the owner, mode, ACL and
    extended attributes stay as they are.

    Not atomic by nature, so a complete copy of the old bytes is made first (fsynced, then
    linked as :func:`backup_path`, so it exists only when complete), the rewrite runs
    under an exclusive lease (no one else has the file open meanwhile), and the copy is
    removed only once the new bytes are on disk. A crash in between leaves the copy, and
    :func:`remove_stale_temp_files` puts the old bytes back at the next start.
    """
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        with _leased(fd, exclusive=True) as got:
            if got is Lease.REFUSED:
                raise FileChanged(f"{path.name} is open in another process; not rewritten")
            check_unchanged(path, expected)
            st = os.fstat(fd)
            backup = backup_path(path, inode=st.st_ino)
            old = _read_all(fd, st.st_size)
            with _room_for(path, len(old) + len(data)), _temp_beside(path) as (copy_fd, copy_tmp):
                _write_all(copy_fd, old)
                os.fsync(copy_fd)
                try:
                    os.link(copy_tmp, backup)  # never over a backup a crash left
                except FileExistsError as exc:
                    raise MetadataWriteError(
                        f"{path.name}: a backup of an interrupted rewrite is still there "
                        f"({backup.name}); nothing written"
                    ) from exc
            fsync_dir(path.parent)
            with _room_for(path, len(data)):
                try:
                    _overwrite(fd, data)
                except OSError:  # e.g. no room for the longer file: the old bytes go back
                    _overwrite(fd, old)  # into the blocks they had, then the copy goes
                    os.fsync(fd)
                    backup.unlink()
                    raise
            if keep_mtime:
                os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
            os.fsync(fd)
    finally:
        os.close(fd)
    backup.unlink()
    fsync_dir(path.parent)
    return current_sig(path)


def backup_path(path: Path, *, inode: int) -> Path:
    """Where :func:`rewrite_in_place` keeps the old bytes of ``path`` (inode ``inode``):
    hidden beside it, so the watcher ignores it; the inode says whose bytes they are."""
    return path.with_name(f"{BACKUP_PREFIX}{inode}-{path.name}")


def create_exclusive(path: Path, data: bytes, *, mode: int) -> FileSig:
    """Atomically create ``path`` with ``data``; FileChanged if something appeared there."""
    with _room_for(path, len(data)), _temp_beside(path) as (fd, tmp):
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
    """Undo what a crash left under ``root`` (recursive): temporary files are removed, and
    a photo whose rewrite in its own inode was interrupted gets its old bytes back from the
    backup (:func:`rewrite_in_place`). Returns how many files were cleaned up."""
    removed = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            if not name.startswith((TEMP_PREFIX, BACKUP_PREFIX)):
                continue
            candidate = Path(folder) / name
            if candidate.is_symlink() or not candidate.is_file():
                continue
            if name.startswith(BACKUP_PREFIX) and not _restore(candidate):
                continue  # whose bytes these are is not known: kept for a person to look at
            with contextlib.suppress(FileNotFoundError):
                candidate.unlink()
                removed += 1
    return removed


def _restore(backup: Path) -> bool:
    """Put ``backup``'s bytes back into the photo it was made of, in its own inode (its
    links stay joined); False, with nothing changed, if no file there has that inode."""
    inode, _, name = backup.name[len(BACKUP_PREFIX) :].partition("-")
    photo = backup.with_name(name)
    try:
        fd = os.open(photo, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        if not inode.isdigit() or os.fstat(fd).st_ino != int(inode):
            return False  # replaced since: the file there now is someone else's
        _overwrite(fd, backup.read_bytes())
        os.fsync(fd)
        return True
    finally:
        os.close(fd)


def _copy_xattrs(path: Path, fd: int) -> None:
    """Copy every extended attribute of ``path`` onto ``fd`` that may be set here; a name
    the filesystem or phototag's privileges refuse (``security.*``, ``trusted.*`` for
    a user) is left out, as every copying tool does."""
    try:
        names = os.listxattr(path)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return  # a filesystem without extended attributes
        raise
    for name in names:
        try:
            os.setxattr(fd, name, os.getxattr(path, name))
        except OSError as exc:
            if exc.errno not in _XATTR_REFUSED:
                raise


def _overwrite(fd: int, data: bytes) -> None:
    view, offset = memoryview(data), 0
    while offset < len(data):
        offset += os.pwrite(fd, view[offset:], offset)
    os.ftruncate(fd, len(data))


def _read_all(fd: int, size: int) -> bytes:
    chunks, offset = [], 0
    while chunk := os.pread(fd, max(size - offset, 1 << 16), offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def check_room(folder: Path, *, name: str, need_bytes: int) -> None:
    """Raise DiskFull when ``folder``'s disk has less than ``need_bytes`` (and some slack)
    free: how a write that another program made (exiftool) is told from a failed one."""
    fs = os.statvfs(folder)
    free = fs.f_bavail * fs.f_frsize
    if free < need_bytes + _SLACK_BYTES:
        raise DiskFull(
            f"no space left on the disk of {folder} to write {name}",
            folder=folder,
            need_bytes=need_bytes + _SLACK_BYTES,
        )


@contextlib.contextmanager
def _room_for(path: Path, need_bytes: int) -> Iterator[None]:
    """Turn "no space left" (or over quota) on ``path``'s disk into DiskFull: the photo is
    as it was, and the job waits until ``need_bytes`` (and some slack) are free there."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise DiskFull(
            f"no space left on the disk of {path.parent} to write {path.name}",
            folder=path.parent,
            need_bytes=need_bytes + _SLACK_BYTES,
        ) from exc


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
