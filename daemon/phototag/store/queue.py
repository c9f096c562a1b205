"""The daemon's read-write handle on the index: the durable job queue."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from phototag.domain import FileSig
from phototag.states import Status
from phototag.store.reader import IndexReader, Known, _keywords_of, _prefix_range
from phototag.store.records import FileRecord, Job, decode_path, encode_path
from phototag.store.schema import _COLUMNS, MIGRATIONS, SCHEMA_VERSION

# A re-tag asked for is done even if another tool edited the photo's metadata meanwhile
# (daemon stopped, then `tagctl backfill --retag`): without the image hash to compare
# with, the job cannot take the edit for a metadata-only change and skip the tagger.
_TAG_AGAIN = "status='queued', attempts=0, image_sha256=NULL"


class Index:
    """The daemon's read-write handle on the index (thread-safe)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        # the index holds every path and caption: 0600, whatever the umask or an older
        # phototag left (SQLite gives -wal and -shm the database file's mode)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
        _make_private(path)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._migrate()
        _make_private(path)

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} was written by a newer phototag (schema {version}); upgrade"
                )
            for step in range(version, SCHEMA_VERSION):
                self._db.executescript(f"BEGIN;\n{MIGRATIONS[step]}\nCOMMIT;")
                self._db.execute(f"PRAGMA user_version={step + 1}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- reading ---------------------------------------------------------------------

    def get(self, path: Path) -> FileRecord | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM files WHERE path = ?", (encode_path(path),)
            ).fetchone()
        return FileRecord.from_row(row) if row else None

    def get_id(self, job_id: int) -> FileRecord | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM files WHERE id = ?", (job_id,)
            ).fetchone()
        return FileRecord.from_row(row) if row else None

    def known_under(self, root: Path) -> Known:
        """The records at or under ``root`` (a folder or a file) the catch-up scan compares
        with the disk, read on a thread of their own: ``Known.wait()`` hands them over."""
        return Known(self.path, root)

    def find_tagged_copy(self, sha256: str) -> FileRecord | None:
        """A finished record whose input or written bytes hash to ``sha256``."""
        with self._lock:
            # "+status": not by the status index, which SQLite otherwise picks and then
            # reads every finished record for each job (18 % of the daemon's CPU at 10,000
            # photos); the two hash indexes find the few candidates
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM files WHERE (sha256 = ? OR out_sha256 = ?) "
                "AND +status IN ('done', 'deleted') AND result IS NOT NULL AND dry_run = 0 "
                "ORDER BY status = 'done' DESC, finished_at DESC LIMIT 1",
                (sha256, sha256),
            ).fetchone()
        return FileRecord.from_row(row) if row else None

    def queue_depth(self) -> int:
        """Queued files, from the trigger-kept counts (O(1), called on every heartbeat)."""
        with self._lock:
            row = self._db.execute("SELECT n FROM status_counts WHERE status='queued'").fetchone()
        return row[0] if row else 0

    # -- the queue ---------------------------------------------------------------------

    def enqueue(self, path: Path, sig: FileSig) -> bool:
        """Queue ``path`` (new or changed). False if it is already queued or processing."""
        now = time.time()
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO files (path, size, mtime_ns, status, queued_at, updated_at) "
                "VALUES (?, ?, ?, 'queued', ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns, "
                "status='queued', attempts=0, last_error=NULL, queued_at=excluded.queued_at, "
                "updated_at=excluded.updated_at "
                "WHERE files.status NOT IN ('queued','processing','undone')",
                (encode_path(path), sig.size, sig.mtime_ns, now, now),
            )
            return cur.rowcount > 0

    def skip(self, path: Path, sig: FileSig, *, reason: str) -> bool:
        """Record a file phototag will not open (a symbolic link, a FIFO), with the reason."""
        now = time.time()
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO files (path, size, mtime_ns, status, last_error, finished_at, "
                "updated_at) VALUES (?, ?, ?, 'skipped', ?, ?, ?) ON CONFLICT(path) DO UPDATE SET "
                "size=excluded.size, mtime_ns=excluded.mtime_ns, status='skipped', "
                "last_error=excluded.last_error, finished_at=excluded.finished_at, "
                "updated_at=excluded.updated_at WHERE files.status NOT IN ('queued','processing')",
                (encode_path(path), sig.size, sig.mtime_ns, reason, now, now),
            )
            return cur.rowcount > 0

    def claim(self, limit: int) -> list[Job]:
        """Move up to ``limit`` queued jobs to processing, oldest first."""
        now = time.time()
        with self._lock:
            rows = self._db.execute(
                "UPDATE files SET status='processing', started_at=?, updated_at=?, "
                "attempts=attempts+1 WHERE id IN (SELECT id FROM files WHERE status='queued' "
                "AND queued_at <= ? ORDER BY queued_at LIMIT ?) "
                "RETURNING id, path, size, mtime_ns, attempts",
                (now, now, now, limit),
            ).fetchall()
        rows.sort(key=lambda r: r[0])
        return [
            Job(
                id=r[0],
                path=decode_path(r[1]),
                sig=FileSig(size=r[2], mtime_ns=r[3]),
                attempts=r[4],
            )
            for r in rows
        ]

    def requeue(
        self,
        job_id: int,
        *,
        sig: FileSig | None = None,
        error: str | None = None,
        count_attempt: bool = False,
        delay_s: float = 0.0,
    ) -> None:
        """Put a claimed job back in the queue; not claimed again before ``delay_s``."""
        now = time.time()
        sets = ["status='queued'", "updated_at=?", "last_error=?", "queued_at=?"]
        params: list[Any] = [now, error, now + delay_s]
        if sig is not None:
            sets += ["size=?", "mtime_ns=?"]
            params += [sig.size, sig.mtime_ns]
        if not count_attempt:
            sets.append("attempts=max(attempts-1, 0)")
        with self._lock:
            self._db.execute(
                f"UPDATE files SET {', '.join(sets)} WHERE id=? AND status='processing'",
                (*params, job_id),
            )

    def requeue_processing(self, *, max_attempts: int) -> tuple[int, list[tuple[Path, int]]]:
        """At start: whatever a crash left mid-flight goes back to the queue, unless it was
        in flight at ``max_attempts`` crashes already (each claim counts one attempt; a job
        that ends, or goes back to the queue on purpose, gives it back): a photo that kills
        the daemon, e.g. past a memory limit, then fails instead of stopping all tagging.
        Returns (how many were queued again, the (path, attempts) that failed)."""
        now = time.time()
        with self._lock, self._tx():
            failed = self._db.execute(
                "UPDATE files SET status='failed', finished_at=?, updated_at=?, "
                "last_error='crashed the tagger ' || attempts || ' times' "
                "WHERE status='processing' AND attempts >= ? RETURNING path, attempts",
                (now, now, max_attempts),
            ).fetchall()
            requeued = self._db.execute(
                "UPDATE files SET status='queued', updated_at=? WHERE status='processing'",
                (now,),
            ).rowcount
        return requeued, [(decode_path(path), attempts) for path, attempts in failed]

    def requeue_where(self, *, status: Status, under: Path | None = None) -> int:
        """Queue again every record with ``status`` (e.g. FAILED), optionally under a folder."""
        sql = (
            "UPDATE files SET status='queued', attempts=0, queued_at=?, updated_at=? WHERE status=?"
        )
        params: list[Any] = [time.time(), time.time(), status]
        if under is not None:
            sql += " AND path >= ? AND path < ?"
            params += list(_prefix_range(under))
        with self._lock:
            return self._db.execute(sql, params).rowcount

    def requeue_done(self, *, under: Path | None = None, dry_run_only: bool = False) -> int:
        """Queue finished records again: every one at or under ``under`` (a file or folder),
        undone ones too, or only those tagged in a dry run (nothing was written into them)."""
        sql = f"UPDATE files SET {_TAG_AGAIN}, queued_at=?, updated_at=? "
        sql += "WHERE status='done'" if dry_run_only else "WHERE status IN ('done', 'undone')"
        now = time.time()
        params: list[Any] = [now, now]
        if dry_run_only:
            sql += " AND dry_run=1"
        if under is not None:
            sql += " AND (path = ? OR (path >= ? AND path < ?))"
            params += [encode_path(under), *_prefix_range(under)]
        with self._lock:
            return self._db.execute(sql, params).rowcount

    def requeue_fallback(self) -> int:
        """Queue again what the embedded fallback tagged while the VLM was down."""
        now = time.time()
        with self._lock:
            return self._db.execute(
                f"UPDATE files SET {_TAG_AGAIN}, queued_at=?, updated_at=? "
                "WHERE status='done' AND fallback=1",
                (now, now),
            ).rowcount

    def requeue_stale(self, *, backend: str, model: str, prompt_digest: str) -> int:
        """Queue again what another backend, model or prompt produced, or a fallback did."""
        now = time.time()
        with self._lock:
            return self._db.execute(
                f"UPDATE files SET {_TAG_AGAIN}, queued_at=?, updated_at=? "
                "WHERE status='done' AND (fallback=1 OR backend IS NOT ? OR model IS NOT ? "
                "OR coalesce(prompt_digest, '') IS NOT ?)",
                (now, now, backend, model, prompt_digest),
            ).rowcount

    def finish(
        self,
        job_id: int,
        *,
        status: Status,
        sig: FileSig | None = None,
        sha256: str | None = None,
        out_sha256: str | None = None,
        image_sha256: str | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        backend: str | None = None,
        model: str | None = None,
        prompt_digest: str | None = None,
        fallback: bool = False,
        dry_run: bool = False,
    ) -> None:
        """Record a job's end. ``sig`` is the file after phototag wrote it (no re-tag loop);
        ``image_sha256`` the hash of its image data alone, which a write leaves unchanged."""
        status = Status(status)  # an unknown status raises here, never reaches the row
        now = time.time()
        with self._lock, self._tx():
            old = self._db.execute(
                "SELECT result, status FROM files WHERE id=?", (job_id,)
            ).fetchone()
            sets = {
                "status": status,
                "last_error": error,
                "finished_at": now,
                "updated_at": now,
                "fallback": int(fallback),
                "dry_run": int(dry_run),
            }
            if sig is not None:
                sets |= {"size": sig.size, "mtime_ns": sig.mtime_ns}
            if sha256 is not None:
                sets["sha256"] = sha256
            if status is Status.DONE:
                sets |= {
                    "result": json.dumps(result, ensure_ascii=False) if result else None,
                    "out_sha256": out_sha256,
                    "image_sha256": image_sha256,
                    "backend": backend,
                    "model": model,
                    "prompt_digest": prompt_digest,
                }
            assignments = ", ".join(f"{k}=?" for k in sets)
            self._db.execute(f"UPDATE files SET {assignments} WHERE id=?", (*sets.values(), job_id))
            if status is Status.DONE and old is not None:
                # a record's keywords are counted while it has a result and is not deleted
                before = _keywords_of(old[0]) if Status(old[1]) is not Status.DELETED else []
                self._count_keywords(before, -1)
                self._count_keywords((result or {}).get("keywords", []), +1)

    def mark_deleted(self, path: Path) -> bool:
        return self.mark_gone([path]) > 0

    def mark_gone(self, paths: Iterable[Path]) -> int:
        """Mark these records deleted, in one transaction; how many were not already."""
        now = time.time()
        marked = 0
        with self._lock, self._tx():
            for path in paths:
                row = self._db.execute(
                    "SELECT result, status FROM files WHERE path=?", (encode_path(path),)
                ).fetchone()
                if row is None or Status(row[1]) is Status.DELETED:
                    continue
                self._count_keywords(_keywords_of(row[0]), -1)
                self._db.execute(
                    "UPDATE files SET status='deleted', updated_at=?, finished_at=? WHERE path=?",
                    (now, now, encode_path(path)),
                )
                marked += 1
        return marked

    def live_under(self, folder: Path) -> list[Path]:
        """The paths of the records at or under ``folder`` not marked deleted."""
        with self._lock:
            rows = self._db.execute(
                "SELECT path FROM files WHERE status <> 'deleted' "
                "AND (path = ? OR (path >= ? AND path < ?))",
                (encode_path(folder), *_prefix_range(folder)),
            ).fetchall()
        return [decode_path(row[0]) for row in rows]

    def mark_undone(self, path: Path, sig: FileSig) -> None:
        """Record that phototag's writes were taken out of ``path`` (now ``sig``): it is
        not queued again by the watcher or a scan, only by tagctl retag."""
        now = time.time()
        with self._lock, self._tx():
            row = self._db.execute(
                "SELECT result, status FROM files WHERE path=?", (encode_path(path),)
            ).fetchone()
            if row is not None and Status(row[1]) is Status.DONE:
                self._count_keywords(_keywords_of(row[0]), -1)
            self._db.execute(
                "INSERT INTO files (path, size, mtime_ns, status, finished_at, updated_at) "
                "VALUES (?, ?, ?, 'undone', ?, ?) ON CONFLICT(path) DO UPDATE SET "
                "size=excluded.size, mtime_ns=excluded.mtime_ns, status='undone', "
                "last_error=NULL, finished_at=excluded.finished_at, "
                "updated_at=excluded.updated_at",
                (encode_path(path), sig.size, sig.mtime_ns, now, now),
            )

    def move(self, src: Path, dest: Path) -> bool:
        """A file renamed inside the roots keeps its record (and is not tagged again)."""
        with self._lock, self._tx():
            if (
                self._db.execute("SELECT 1 FROM files WHERE path=?", (encode_path(src),)).fetchone()
                is None
            ):
                return False
            self._db.execute("DELETE FROM files WHERE path=?", (encode_path(dest),))
            self._db.execute(
                "UPDATE files SET path=?, updated_at=? WHERE path=?",
                (encode_path(dest), time.time(), encode_path(src)),
            )
            return True

    def move_tree(self, src: Path, dest: Path) -> int:
        """A folder renamed inside the roots: every record under it follows."""
        low, high = _prefix_range(src)
        with self._lock, self._tx():
            rows = self._db.execute(
                "SELECT id, path FROM files WHERE path >= ? AND path < ?", (low, high)
            ).fetchall()
            new_prefix = encode_path(dest)
            for row_id, raw in rows:
                new = new_prefix + raw[len(encode_path(src)) :]
                self._db.execute("DELETE FROM files WHERE path=? AND id<>?", (new, row_id))
                self._db.execute("UPDATE files SET path=? WHERE id=?", (new, row_id))
            return len(rows)

    def adopt(self, job_id: int, donor: FileRecord) -> None:
        """``job_id`` is a file moved while the daemon was down: take the donor's record."""
        with self._lock, self._tx():
            self._db.execute("DELETE FROM files WHERE id=?", (donor.id,))
            self._db.execute(
                "UPDATE files SET status='done', sha256=?, out_sha256=?, image_sha256=?, "
                "result=?, backend=?, model=?, prompt_digest=?, finished_at=?, updated_at=?, "
                "last_error=NULL WHERE id=?",
                (
                    donor.sha256,
                    donor.out_sha256,
                    donor.image_sha256,
                    json.dumps(donor.result, ensure_ascii=False),
                    donor.backend,
                    donor.model,
                    donor.prompt_digest,
                    donor.finished_at,
                    time.time(),
                    job_id,
                ),
            )
            if donor.status is not Status.DONE:
                self._count_keywords((donor.result or {}).get("keywords", []), +1)

    # -- the daemon's own record --------------------------------------------------------

    def set_meta(self, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, json.dumps(value, ensure_ascii=False)),
            )

    def reader(self) -> IndexReader:
        return IndexReader(self._db, self._lock)

    # -- helpers -------------------------------------------------------------------------

    def _count_keywords(self, keywords: Iterable[str], delta: int) -> None:
        for kw in {k.casefold(): k for k in keywords}.values():
            self._db.execute(
                "INSERT INTO keyword_counts (keyword, n) VALUES (?, max(?, 0)) "
                "ON CONFLICT(keyword) DO UPDATE SET n=max(n+?, 0)",
                (kw, delta, delta),
            )

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)


def _make_private(path: Path) -> None:
    """The index and its -wal and -shm files (where they exist) readable by us alone."""
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path.with_name(name), 0o600)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
