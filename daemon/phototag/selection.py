"""Which files phototag looks at: pure decisions on names, plus the stat-only tree walk."""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from phototag.config import Settings
from phototag.models import FileSig
from phototag.state import decode_path, encode_path

# names that are still arriving or are not the user's photos
_PARTIAL_SUFFIXES = (".part", ".crdownload", ".filepart", ".tmp", ".partial", ".download", "~")
_RSYNC_TEMP = re.compile(r"^\..+\.[A-Za-z0-9]{6}$")  # rsync writes ".name.XXXXXX"


@dataclass(frozen=True, slots=True)
class Selection:
    """The roots and name rules from the settings; answers "would we tag this path?"."""

    roots: tuple[Path, ...]
    extensions: frozenset[str]
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    recursive: bool
    follow_symlinks: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> Selection:
        return cls(
            roots=tuple(settings.roots),
            extensions=frozenset(settings.extensions),
            include=tuple(settings.include),
            exclude=tuple(settings.exclude),
            recursive=settings.recursive,
            follow_symlinks=settings.follow_symlinks,
        )

    def root_of(self, path: Path) -> Path | None:
        for root in self.roots:
            if path == root or path.is_relative_to(root):
                return root
        return None

    def skip_reason(self, path: Path) -> str | None:
        """Why ``path`` is not a photo to tag, from its name alone; None if it is one."""
        root = self.root_of(path)
        if root is None:
            return "outside the roots"
        relative = path.relative_to(root)
        if not self.recursive and len(relative.parts) > 1:
            return "in a subfolder (recursive is off)"
        reason = name_skip_reason(relative)
        if reason:
            return reason
        if path.suffix.lower() not in self.extensions:
            return "extension not handled"
        text = relative.as_posix()
        if any(_glob_match(text, pattern) for pattern in self.exclude):
            return "excluded by a glob"
        if self.include and not any(_glob_match(text, pattern) for pattern in self.include):
            return "not matched by the include globs"
        return None

    def walk(
        self, top: Path | None = None, *, known: Mapping[bytes, tuple[int, int, str]] | None = None
    ) -> Iterator[tuple[Path, FileSig]]:
        """Every candidate under ``top`` (default: all roots) with its signature; stat only.

        ``known`` (path bytes -> size, mtime_ns, status, from the index) leaves out files in
        flight or unchanged before any ``Path`` or name rule is built, so a catch-up of an
        unchanged library costs one stat a file. Symlinks are not followed unless
        configured; hidden folders and symlink loops are not entered.
        """
        for root in (top,) if top is not None else self.roots:
            if root.is_dir():
                yield from self._walk_dir(encode_path(root), known or {}, seen=set())

    def _walk_dir(
        self, folder: bytes, known: Mapping[bytes, tuple[int, int, str]], *,
        seen: set[tuple[int, int]],
    ) -> Iterator[tuple[Path, FileSig]]:
        follow = self.follow_symlinks
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen:
                return  # a symlink loop
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError:
            return
        for entry in entries:
            try:
                if not follow and entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=follow):
                    if self.recursive and not entry.name.startswith(b"."):
                        yield from self._walk_dir(entry.path, known, seen=seen)
                    continue
                record = known.get(entry.path)
                if record is not None and record[2] in ("queued", "processing"):
                    continue
                est = entry.stat(follow_symlinks=follow)
            except OSError:
                continue
            if not stat.S_ISREG(est.st_mode):
                continue
            if (record is not None and record[0] == est.st_size
                    and record[1] == est.st_mtime_ns and record[2] != "deleted"):
                continue  # unchanged: the common case, kept free of any object
            path = decode_path(entry.path)
            if self.skip_reason(path) is None:
                yield path, FileSig(size=est.st_size, mtime_ns=est.st_mtime_ns)


def entry_skip_reason(path: Path, *, follow_symlinks: bool) -> str | None:
    """Why the directory entry at ``path`` must not be opened (lstat only); None if it may.

    A symbolic link is not followed unless configured, so a link can never make phototag
    read or write outside the roots; anything but a regular file (a FIFO would block a
    reader forever, a device or a folder named like a photo) is never opened.
    """
    try:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            if not follow_symlinks:
                return "symbolic link, not followed (follow_symlinks is off)"
            st = path.stat()
    except OSError as exc:
        return f"cannot stat: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    return None


def size_skip_reason(size_bytes: int, *, max_file_bytes: int) -> str | None:
    """A file too large to rewrite safely in memory (a 2 GB "photo" is not one)."""
    if size_bytes <= max_file_bytes:
        return None
    return f"file is {size_bytes / 1e9:.1f} GB, over max_file_bytes ({max_file_bytes / 1e9:.1f} GB)"


def name_skip_reason(relative: Path) -> str | None:
    """Hidden files and folders, and names that say "still being written"."""
    for part in relative.parts[:-1]:
        if part.startswith("."):
            return "in a hidden folder"
    name = relative.name
    if name.startswith("._"):
        return "AppleDouble resource file"
    if _RSYNC_TEMP.match(name):
        return "temporary name (rsync)"
    if name.startswith("."):
        return "hidden file"
    if name.lower().endswith(_PARTIAL_SUFFIXES):
        return "temporary name (download or copy in progress)"
    return None


def _glob_match(relative: str, pattern: str) -> bool:
    """Match a glob against the path relative to its root, or against the name alone."""
    name = relative.rsplit("/", 1)[-1]
    return fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(name, pattern)
