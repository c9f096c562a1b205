"""The one tree walk, and the one rule that hands what a scan finds on.

Every look at the tree goes through :func:`walk`: the daemon's catch-up scan and its
periodic reconcile, a folder that appears, ``phototagd --once`` and ``tagctl backfill``
(all through :func:`candidates` and ``Intake.scan``), ``tagctl scan``'s report
(``discovery``, a view that says why it passes over the rest), undo over a folder, and the
count of folders an inotify watch needs. So the rules (hidden folders, symbolic links and
their loops, recursion) are written once.

A candidate already complete on disk goes straight to the queue, a recent one through the
stability tracker first: :func:`handoff` decides which, for every scan.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from enum import StrEnum
from itertools import chain
from pathlib import Path
from typing import TypeAlias

from phototag.domain import FileSig
from phototag.intake.selection import Selection
from phototag.store.reader import Known
from phototag.store.records import SCAN_KEY, decode_path, encode_path, split_scan_key


class Kind(StrEnum):
    """What the walk found at one path."""

    FILE = "file"  # a regular file (a link's target, with follow_symlinks)
    FOLDER = "folder"  # a folder, listed: its entries follow it
    LINK = "link"  # a symbolic link, not followed
    SPECIAL = "special"  # a FIFO, socket or device: never opened
    HIDDEN_FOLDER = "hidden folder"  # not entered
    SUBFOLDER = "subfolder"  # not entered: recursive is off
    UNREADABLE = "unreadable"  # a folder that cannot be listed (the error says why)
    UNSTATABLE = "unstatable"  # gone since listed, or a broken link followed (the error)


# (path, kind, its stat, the error): a plain tuple, as os.walk yields, because one is built
# for every file and a NamedTuple's constructor costs a tenth of the walk. The stat is
# there for every kind but UNSTATABLE; the error only for UNREADABLE and UNSTATABLE.
Entry: TypeAlias = tuple[bytes, Kind, os.stat_result | None, OSError | None]


class Handoff(StrEnum):
    """Where a scan sends a file to process."""

    QUEUE = "queue"  # quiet for debounce_s already: complete on disk
    SETTLE = "settle"  # written recently: the stability tracker waits for it first


def handoff(sig: FileSig, *, now_ns: int, debounce_s: float) -> Handoff:
    """Queue a file untouched for ``debounce_s`` when it was found; let a newer one settle.
    Pure."""
    if now_ns - sig.mtime_ns >= debounce_s * 1e9:
        return Handoff.QUEUE
    return Handoff.SETTLE


def walk(
    top: Path, *, recursive: bool, follow_symlinks: bool, hidden_folders: bool = False
) -> Iterator[Entry]:
    """Every entry at or under ``top``, stat only, in directory order (as ``find`` lists
    them: a folder's entries right after it, unsorted; sorting 10,000 names costs a twentieth
    of the walk, and only a report needs it).

    ``top`` itself is followed if it is a link (a root may be one; a verb's PATH was
    located first) and is a FILE, FOLDER, UNREADABLE, SPECIAL or UNSTATABLE entry. Below
    it, links are followed only with ``follow_symlinks``, a folder is entered once (a
    symlink loop ends there, silently), hidden folders are not entered unless
    ``hidden_folders`` (what an inotify watch covers), and subfolders only when
    ``recursive``.
    """
    # built a batch at a time (a folder's entries up to the next subfolder) and flattened
    # by chain, in C: a generator resumed for every file made the walk a tenth slower
    return chain.from_iterable(
        _batches(
            encode_path(top),
            recursive=recursive,
            follow_symlinks=follow_symlinks,
            hidden_folders=hidden_folders,
        )
    )


def _batches(
    top: bytes, *, recursive: bool, follow_symlinks: bool, hidden_folders: bool
) -> Iterator[list[Entry]]:
    try:
        top_st = os.stat(top)
    except OSError as exc:
        yield [(top, Kind.UNSTATABLE, None, exc)]
        return
    if not stat.S_ISDIR(top_st.st_mode):
        yield [(top, Kind.FILE if stat.S_ISREG(top_st.st_mode) else Kind.SPECIAL, top_st, None)]
        return
    listing = _listing(top, follow_symlinks=follow_symlinks)
    if isinstance(listing, OSError):
        yield [(top, Kind.UNREADABLE, top_st, listing)]
        return
    yield [(top, Kind.FOLDER, top_st, None)]
    seen = {(top_st.st_dev, top_st.st_ino)}  # folders entered: a symlink loop ends here
    # one (prefix, entries) a folder being listed: a subfolder's entries come before the
    # rest of its parent's
    stack = [(top if top.endswith(b"/") else top + b"/", iter(listing))]  # a top of "/"
    is_file, is_dir, is_link = stat.S_ISREG, stat.S_ISDIR, stat.S_ISLNK
    file = Kind.FILE
    while stack:
        prefix, entries = stack[-1]
        batch: list[Entry] = []
        add = batch.append
        for name, st, error in entries:
            path = prefix + name
            if st is None:
                add((path, Kind.UNSTATABLE, None, error))
            elif is_file(st.st_mode):  # most entries: first
                add((path, file, st, None))
            elif not is_dir(st.st_mode):
                add((path, Kind.LINK if is_link(st.st_mode) else Kind.SPECIAL, st, None))
            elif name.startswith(b".") and not hidden_folders:
                add((path, Kind.HIDDEN_FOLDER, st, None))
            elif not recursive:
                add((path, Kind.SUBFOLDER, st, None))
            elif (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                listing = _listing(path, follow_symlinks=follow_symlinks)
                if isinstance(listing, OSError):
                    add((path, Kind.UNREADABLE, st, listing))
                    continue
                add((path, Kind.FOLDER, st, None))
                stack.append((path + b"/", iter(listing)))
                break  # into the subfolder; this folder's iterator resumes after it
        else:
            stack.pop()
        yield batch


def _listing(
    folder: bytes, *, follow_symlinks: bool
) -> list[tuple[bytes, os.stat_result | None, OSError | None]] | OSError:
    """The names in ``folder``, each with its stat (or why it has none); the error if the
    folder cannot be listed. The folder's descriptor is closed before the walk goes on, so
    a deep tree holds none open while its caller works."""
    try:
        names = os.listdir(folder)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        return exc
    entries: list[tuple[bytes, os.stat_result | None, OSError | None]] = []
    add, stat_at = entries.append, os.stat
    try:
        for name in names:
            # fstatat() relative to the folder's descriptor: the kernel does not resolve
            # the whole path again for every file (find does the same)
            try:
                add((name, stat_at(name, dir_fd=fd, follow_symlinks=follow_symlinks), None))
            except OSError as exc:  # gone since listed, or a broken link followed
                add((name, None, exc))
    finally:
        os.close(fd)
    return entries


def scan_keys(entries: Iterable[Entry]) -> list[bytes]:
    """The scan key (``records.SCAN_KEY``) of every regular file among ``entries``."""
    file, key = Kind.FILE, SCAN_KEY
    return [
        key % (path, st.st_size, st.st_mtime_ns)
        for path, kind, st, _ in entries
        if kind is file and st  # a FILE has its stat: "st" only tells the type checker
    ]


def candidates(
    selection: Selection, top: Path, *, known: Known | None = None
) -> Iterator[tuple[Path, FileSig]]:
    """Every file at or under ``top`` to process, with its signature, in walk order.

    The tree is listed first, as ``find`` would, then compared with ``known`` (from the
    index, read meanwhile on its own thread): files held (in flight, undone) or settled and
    unchanged are left out before any ``Path`` or name rule is built, so a catch-up of an
    unchanged library costs one stat and one set lookup a file.
    """
    keys = scan_keys(
        walk(top, recursive=selection.recursive, follow_symlinks=selection.follow_symlinks)
    )
    settled, held = (known or Known.nothing()).wait()
    for key in keys:
        if key in settled:
            continue  # unchanged: most of a library
        raw, sig = split_scan_key(key)
        if raw in held:
            continue
        path = decode_path(raw)
        if selection.skip_reason(path) is None:
            yield path, sig
