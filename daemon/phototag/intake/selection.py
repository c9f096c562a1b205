"""Which files phototag looks at: pure decisions on names, and the checks on one entry
before it is opened. The tree walk that applies them is ``intake.scan``.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from phototag.config import Settings
from phototag.errors import OutsideRoots
from phototag.store.records import display_path

# names that are still arriving or are not the user's photos
_PARTIAL_SUFFIXES = (".part", ".crdownload", ".filepart", ".tmp", ".partial", ".download", "~")
_RSYNC_TEMP = re.compile(r"^\..+\.[A-Za-z0-9]{6}$")  # rsync writes ".name.XXXXXX"


class SkipReason(StrEnum):
    """Why a path is not tagged: the decision. The value is the text shown (tagctl scan)
    and recorded (a skipped file's ``last_error``); a :class:`Skip` adds the variable part
    of the reasons that have one."""

    OUTSIDE_ROOTS = "outside the roots"
    IN_SUBFOLDER = "in a subfolder (recursive is off)"
    IN_HIDDEN_FOLDER = "in a hidden folder"
    APPLEDOUBLE = "AppleDouble resource file"
    RSYNC_TEMP = "temporary name (rsync)"
    HIDDEN_FILE = "hidden file"
    PARTIAL = "temporary name (download or copy in progress)"
    EXTENSION = "extension not handled"
    EXCLUDED = "excluded by a glob"
    NOT_INCLUDED = "not matched by the include globs"
    SYMLINK = "symbolic link, not followed (follow_symlinks is off)"
    NOT_REGULAR = "not a regular file"
    CANNOT_STAT = "cannot stat"  # the message adds the system's reason
    TOO_LARGE = "over max_file_bytes"  # the message adds the sizes


@dataclass(frozen=True, slots=True)
class Skip:
    """A file that must not be opened: the decision, and the message for a person."""

    reason: SkipReason
    message: str

    @classmethod
    def of(cls, reason: SkipReason) -> Skip:
        return cls(reason, reason.value)


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

    def locate(self, path: Path) -> Path:
        """Where ``path`` (absolute, given to a verb) is: the path under a root that the
        watcher and the scans record. Raises :class:`OutsideRoots` for a path outside
        every root, and, with ``follow_symlinks`` off, for one that leaves the roots
        through a symbolic link (``ROOT/link -> /elsewhere``): a verb must never read or
        write what the daemon itself would not. A link that stays inside gives the path
        it leads to, so one photo never has two records.
        """
        if self.root_of(path) is None:
            raise OutsideRoots(f"{display_path(path)} is outside the roots")
        if self.follow_symlinks:
            return path
        real = Path(os.path.realpath(path))
        for root in self.roots:
            real_root = Path(os.path.realpath(root))
            if real == real_root or real.is_relative_to(real_root):
                return root / real.relative_to(real_root)
        raise OutsideRoots(
            f"{display_path(path)} is outside the roots: a symbolic link leads to "
            f"{display_path(real)} (follow_symlinks is off)"
        )

    def skip_reason(self, path: Path) -> SkipReason | None:
        """Why ``path`` is not a photo to tag, from its name alone; None if it is one."""
        root = self.root_of(path)
        if root is None:
            return SkipReason.OUTSIDE_ROOTS
        relative = path.relative_to(root)
        if not self.recursive and len(relative.parts) > 1:
            return SkipReason.IN_SUBFOLDER
        reason = name_skip_reason(relative)
        if reason:
            return reason
        if path.suffix.lower() not in self.extensions:
            return SkipReason.EXTENSION
        text = relative.as_posix()
        if any(_glob_match(text, pattern) for pattern in self.exclude):
            return SkipReason.EXCLUDED
        if self.include and not any(_glob_match(text, pattern) for pattern in self.include):
            return SkipReason.NOT_INCLUDED
        return None


def entry_skip_reason(path: Path, *, follow_symlinks: bool) -> Skip | None:
    """Why the directory entry at ``path`` must not be opened (lstat only); None if it may.

    A symbolic link is not followed unless configured, so a link can never make phototag
    read or write outside the roots; anything but a regular file (a FIFO would block a
    reader forever, a device or a folder named like a photo) is never opened.
    """
    try:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            if not follow_symlinks:
                return Skip.of(SkipReason.SYMLINK)
            st = path.stat()
    except OSError as exc:
        return Skip(SkipReason.CANNOT_STAT, f"cannot stat: {exc.strerror or exc}")
    if not stat.S_ISREG(st.st_mode):
        return Skip.of(SkipReason.NOT_REGULAR)
    return None


def size_skip_reason(size_bytes: int, *, max_file_bytes: int) -> Skip | None:
    """A file too large to rewrite safely in memory (a 2 GB "photo" is not one)."""
    if size_bytes <= max_file_bytes:
        return None
    return Skip(
        SkipReason.TOO_LARGE,
        f"file is {size_bytes / 1e9:.1f} GB, over max_file_bytes ({max_file_bytes / 1e9:.1f} GB)",
    )


def name_skip_reason(relative: Path) -> SkipReason | None:
    """Hidden files and folders, and names that say "still being written"."""
    for part in relative.parts[:-1]:
        if part.startswith("."):
            return SkipReason.IN_HIDDEN_FOLDER
    name = relative.name
    if name.startswith("._"):
        return SkipReason.APPLEDOUBLE
    if _RSYNC_TEMP.match(name):
        return SkipReason.RSYNC_TEMP
    if name.startswith("."):
        return SkipReason.HIDDEN_FILE
    if name.lower().endswith(_PARTIAL_SUFFIXES):
        return SkipReason.PARTIAL
    return None


def _glob_match(relative: str, pattern: str) -> bool:
    """Match a glob against the path relative to its root, or against the name alone."""
    name = relative.rsplit("/", 1)[-1]
    return fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(name, pattern)
