"""The SQLite index and durable job queue: one row per file, its status is the queue.

Paths are stored as bytes (``os.fsencode``) so that any name the kernel accepts, including
invalid UTF-8, round-trips. One writer connection per process, guarded by a lock; readers
(``tagctl``) open the file read-only and never block the daemon (WAL).

Status moves:  queued -> processing -> done | failed | skipped;  any -> deleted;
processing -> queued again at start (a crash left it mid-flight).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phototag.models import FileSig

SCHEMA_VERSION = 3
STATUSES = ("queued", "processing", "done", "failed", "skipped", "deleted")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id            INTEGER PRIMARY KEY,
    path          BLOB    NOT NULL UNIQUE,
    size          INTEGER NOT NULL,
    mtime_ns      INTEGER NOT NULL,
    sha256        TEXT,
    out_sha256    TEXT,
    status        TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    result        TEXT,
    backend       TEXT,
    model         TEXT,
    prompt_digest TEXT,
    fallback      INTEGER NOT NULL DEFAULT 0,
    dry_run       INTEGER NOT NULL DEFAULT 0,
    queued_at     REAL,
    started_at    REAL,
    finished_at   REAL,
    updated_at    REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS files_status   ON files(status, queued_at);
CREATE INDEX IF NOT EXISTS files_sha256   ON files(sha256);
CREATE INDEX IF NOT EXISTS files_out      ON files(out_sha256);
CREATE INDEX IF NOT EXISTS files_finished ON files(finished_at);
CREATE TABLE IF NOT EXISTS keyword_counts (keyword TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# added after schema 1 shipped, so created on open: records(status=...) newest first
# reads the last few rows of this index instead of sorting every row with that status
# Version 2: the newest records of a status come from an index, and counts by status from
# a table kept by triggers (tagctl status answers in O(1) on a million rows).
_V2 = """
CREATE INDEX IF NOT EXISTS files_status_when ON files(status, coalesce(finished_at, updated_at));
CREATE TABLE IF NOT EXISTS status_counts (status TEXT PRIMARY KEY, n INTEGER NOT NULL);
INSERT OR REPLACE INTO status_counts (status, n) SELECT status, count(*) FROM files GROUP BY status;
CREATE TRIGGER IF NOT EXISTS files_counted_insert AFTER INSERT ON files BEGIN
    INSERT INTO status_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT(status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS files_counted_delete AFTER DELETE ON files BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER IF NOT EXISTS files_counted_update AFTER UPDATE OF status ON files
WHEN OLD.status IS NOT NEW.status BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = OLD.status;
    INSERT INTO status_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT(status) DO UPDATE SET n = n + 1;
END;
"""

# Version 3: the catch-up scan reads (path, size, mtime_ns, status) under a root from this
# covering index alone, instead of one table lookup a row among rows fat with results.
_V3 = """
CREATE INDEX IF NOT EXISTS files_scan ON files(path, size, mtime_ns, status);
"""

MIGRATIONS = (_SCHEMA, _V2, _V3)  # MIGRATIONS[n] takes an index from version n to n + 1

_COLUMNS = (
    "id, path, size, mtime_ns, sha256, out_sha256, status, attempts, last_error, result, "
    "backend, model, prompt_digest, fallback, dry_run, queued_at, started_at, finished_at, "
    "updated_at"
)


def encode_path(path: Path | str) -> bytes:
    return os.fsencode(path)


def decode_path(raw: bytes) -> Path:
    return Path(os.fsdecode(raw))


def display_path(path: Path | str) -> str:
    """A printable, JSON-safe form of a path (invalid bytes shown as \\xNN)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class FileRecord:
    id: int
    path: Path
    size: int
    mtime_ns: int
    sha256: str | None
    out_sha256: str | None
    status: str
    attempts: int
    last_error: str | None
    result: dict[str, Any] | None
    backend: str | None
    model: str | None
    prompt_digest: str | None
    fallback: bool
    dry_run: bool
    queued_at: float | None
    started_at: float | None
    finished_at: float | None
    updated_at: float

    @property
    def sig(self) -> FileSig:
        return FileSig(size=self.size, mtime_ns=self.mtime_ns)

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> FileRecord:
        values = list(row)
        values[1] = decode_path(values[1])
        values[9] = json.loads(values[9]) if values[9] else None
        values[13] = bool(values[13])
        values[14] = bool(values[14])
        return cls(*values)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": display_path(self.path),
            "status": self.status,
            "size": self.size,
            "sha256": self.sha256,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "backend": self.backend,
            "model": self.model,
            "prompt_digest": self.prompt_digest,
            "fallback": self.fallback,
            "dry_run": self.dry_run,
            "queued_at": self.queued_at,
            "finished_at": self.finished_at,
            "result": self.result,
        }


def scan_key(raw_path: bytes, size: int, mtime_ns: int) -> bytes:
    """A file as the catch-up scan compares it, ``path/size mtime_ns`` in one bytes string:
    exact (the signature part holds no "/"), and built alike by SQLite (``_SCAN_SETTLED``)
    and by the walk, so the index side is a set of bytes filled in a few C calls."""
    return b"%b/%d %d" % (raw_path, size, mtime_ns)


def split_scan_key(key: bytes) -> tuple[bytes, FileSig]:
    raw_path, _, sig = key.rpartition(b"/")
    size, mtime_ns = sig.split(b" ")
    return raw_path, FileSig(size=int(size), mtime_ns=int(mtime_ns))


# The settled records of one chunk of paths as NUL-separated scan keys (a path holds no
# NUL), built by SQLite in a single step, so without the GIL; chunks bound the transient
# text (~1 MB) and the end of each is found by skipping rows in the path index.
_SCAN_SETTLED = (
    "SELECT CAST(group_concat(path || '/' || size || ' ' || mtime_ns, x'00') AS BLOB) "
    "FROM files WHERE path > ? AND path < ? "
    "AND status NOT IN ('queued', 'processing', 'deleted')"
)
_SCAN_CHUNK_LAST = (
    "SELECT path FROM files WHERE path > ? AND path < ? ORDER BY path LIMIT 1 OFFSET ?"
)
_SCAN_CHUNK = 16384


class Known:
    """What the index holds under a folder, for the catch-up scan: read on a thread of its
    own, over its own connection (one WAL snapshot; the daemon's writes go on), while the
    caller stats the disk. SQLite builds each chunk without the GIL, so with a second core
    free the read is nearly hidden (a fifth off the scan); on one core it costs a few
    percent more than reading rows in line. Deleted records are left out: a file back on
    disk is found like a new one.
    """

    def __init__(self, index_path: Path | None, folder: Path) -> None:
        self._settled: set[bytes] = set()  # scan keys of done, failed or skipped records
        self._in_flight: set[bytes] = set()  # paths queued or processing: never queued twice
        self._error: Exception | None = None
        self._thread: threading.Thread | None = None
        if index_path is not None:
            self._thread = threading.Thread(
                target=self._load, args=(index_path, folder), name="scan-index", daemon=True
            )
            self._thread.start()

    @classmethod
    def nothing(cls) -> Known:
        return cls(None, Path("/"))

    def wait(self) -> tuple[set[bytes], set[bytes]]:
        """(scan keys of settled records, paths in flight), once read."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._settled, self._in_flight

    def _load(self, index_path: Path, folder: Path) -> None:
        low, high = _prefix_range(folder)
        try:
            db = sqlite3.connect(index_path, isolation_level=None, check_same_thread=False)
            try:
                db.execute("PRAGMA busy_timeout=10000")
                db.execute("BEGIN")  # every query below sees the same snapshot
                self._in_flight = {row[0] for row in db.execute(
                    "SELECT path FROM files WHERE status IN ('queued', 'processing') "
                    "AND path >= ? AND path < ?",
                    (low, high),
                )}
                after: bytes | None = low  # chunks are (after, end): low is no file's path
                while after is not None:
                    row = db.execute(_SCAN_CHUNK_LAST, (after, high, _SCAN_CHUNK - 1)).fetchone()
                    last = row[0] if row else None
                    end = high if last is None else last + b"\0"  # the next path up from last
                    (keys,) = db.execute(_SCAN_SETTLED, (after, end)).fetchone()
                    if keys is not None:
                        self._settled.update(keys.split(b"\0"))
                    after = last
                db.execute("COMMIT")
            finally:
                db.close()
        except Exception as exc:  # handed to the scan, which raises it
            self._error = exc


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed queue entry: the file as it looked when it was queued."""

    id: int
    path: Path
    sig: FileSig
    attempts: int


def decide(record: FileRecord | None, sig: FileSig) -> str:
    """What to do with a file seen on disk: "queue", "unchanged", "in-flight" or "failed".

    Pure: compares what the index knows with the file's size and mtime, never reads it.
    """
    if record is None or record.status == "deleted":
        return "queue"
    if record.status in ("queued", "processing"):
        return "in-flight"
    if record.sig != sig:
        return "queue"
    if record.status == "failed":
        return "failed"
    return "unchanged"


class Index:
    """The daemon's read-write handle on the index (thread-safe)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._migrate()

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
        """The records under ``root`` the catch-up scan compares with the disk, read on a
        thread of their own: ``Known.wait()`` hands them over."""
        return Known(self.path, root)

    def find_tagged_copy(self, sha256: str) -> FileRecord | None:
        """A finished record whose input or written bytes hash to ``sha256``."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM files WHERE (sha256 = ? OR out_sha256 = ?) "
                "AND status IN ('done', 'deleted') AND result IS NOT NULL AND dry_run = 0 "
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
                "updated_at=excluded.updated_at WHERE files.status NOT IN ('queued','processing')",
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

    def requeue_processing(self) -> int:
        """At start: whatever a crash left mid-flight goes back to the queue."""
        with self._lock:
            return self._db.execute(
                "UPDATE files SET status='queued', updated_at=? WHERE status='processing'",
                (time.time(),),
            ).rowcount

    def requeue_where(self, *, status: str, under: Path | None = None) -> int:
        """Queue again every record with ``status`` (e.g. "failed"), optionally under a folder."""
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
        or only those tagged in a dry run (nothing was written into them)."""
        sql = "UPDATE files SET status='queued', attempts=0, queued_at=?, updated_at=? "
        sql += "WHERE status='done'"
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
                "UPDATE files SET status='queued', attempts=0, queued_at=?, updated_at=? "
                "WHERE status='done' AND fallback=1",
                (now, now),
            ).rowcount

    def requeue_stale(self, *, backend: str, model: str, prompt_digest: str) -> int:
        """Queue again what another backend, model or prompt produced, or a fallback did."""
        now = time.time()
        with self._lock:
            return self._db.execute(
                "UPDATE files SET status='queued', attempts=0, queued_at=?, updated_at=? "
                "WHERE status='done' AND (fallback=1 OR backend IS NOT ? OR model IS NOT ? "
                "OR coalesce(prompt_digest, '') IS NOT ?)",
                (now, now, backend, model, prompt_digest),
            ).rowcount

    def finish(
        self,
        job_id: int,
        *,
        status: str,
        sig: FileSig | None = None,
        sha256: str | None = None,
        out_sha256: str | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        backend: str | None = None,
        model: str | None = None,
        prompt_digest: str | None = None,
        fallback: bool = False,
        dry_run: bool = False,
    ) -> None:
        """Record a job's end. ``sig`` is the file after phototag wrote it (no re-tag loop)."""
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
            if status == "done":
                sets |= {
                    "result": json.dumps(result, ensure_ascii=False) if result else None,
                    "out_sha256": out_sha256,
                    "backend": backend,
                    "model": model,
                    "prompt_digest": prompt_digest,
                }
            assignments = ", ".join(f"{k}=?" for k in sets)
            self._db.execute(f"UPDATE files SET {assignments} WHERE id=?", (*sets.values(), job_id))
            if status == "done" and old is not None:
                # a record's keywords are counted while it has a result and is not deleted
                before = _keywords_of(old[0]) if old[1] != "deleted" else []
                self._count_keywords(before, -1)
                self._count_keywords((result or {}).get("keywords", []), +1)

    def mark_deleted(self, path: Path) -> bool:
        now = time.time()
        with self._lock, self._tx():
            row = self._db.execute(
                "SELECT result, status FROM files WHERE path=?", (encode_path(path),)
            ).fetchone()
            if row is None or row[1] == "deleted":
                return False
            self._count_keywords(_keywords_of(row[0]), -1)
            self._db.execute(
                "UPDATE files SET status='deleted', updated_at=?, finished_at=? WHERE path=?",
                (now, now, encode_path(path)),
            )
            return True

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
                "UPDATE files SET status='done', sha256=?, out_sha256=?, result=?, backend=?, "
                "model=?, prompt_digest=?, finished_at=?, updated_at=?, last_error=NULL "
                "WHERE id=?",
                (
                    donor.sha256,
                    donor.out_sha256,
                    json.dumps(donor.result, ensure_ascii=False),
                    donor.backend,
                    donor.model,
                    donor.prompt_digest,
                    donor.finished_at,
                    time.time(),
                    job_id,
                ),
            )
            if donor.status != "done":
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


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


class IndexReader:
    """Read-only queries, shared by the daemon (its own connection) and tagctl (a read-only one)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock | None = None) -> None:
        self._db = db
        self._lock = lock or threading.RLock()

    @classmethod
    def open(cls, path: Path) -> IndexReader:
        """Open an index read-only; raises FileNotFoundError if there is none yet."""
        if not path.exists():
            raise FileNotFoundError(path)
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        db.execute("PRAGMA busy_timeout=5000")
        return cls(db)

    def close(self) -> None:
        self._db.close()

    def _all(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def meta(self, key: str) -> Any:
        rows = self._all("SELECT value FROM meta WHERE key=?", (key,))
        return json.loads(rows[0][0]) if rows else None

    def counts(self) -> dict[str, int]:
        found = dict(self._all("SELECT status, n FROM status_counts"))
        return {status: found.get(status, 0) for status in STATUSES}

    def done_since(self, since: float) -> int:
        return self._all(
            # "+status": not the status index (most rows are done), the finished_at one
            "SELECT count(*) FROM files WHERE finished_at >= ? AND +status='done'", (since,)
        )[0][0]

    def records(
        self, *, status: str | None = None, limit: int = 100, newest_first: bool = True
    ) -> list[FileRecord]:
        order = "DESC" if newest_first else "ASC"
        where, params = ("WHERE status=?", [status]) if status else ("", [])
        rows = self._all(
            f"SELECT {_COLUMNS} FROM files {where} ORDER BY coalesce(finished_at, updated_at) "
            f"{order} LIMIT ?",
            (*params, limit),
        )
        return [FileRecord.from_row(r) for r in rows]

    def get(self, path: Path) -> FileRecord | None:
        rows = self._all(f"SELECT {_COLUMNS} FROM files WHERE path=?", (encode_path(path),))
        return FileRecord.from_row(rows[0]) if rows else None

    def top_keywords(self, limit: int) -> list[tuple[str, int]]:
        return [
            (k, n)
            for k, n in self._all(
                "SELECT keyword, n FROM keyword_counts WHERE n > 0 ORDER BY n DESC, keyword "
                "LIMIT ?",
                (limit,),
            )
        ]

    def iter_paths(self, *, statuses: Iterable[str]) -> Iterator[Path]:
        wanted = tuple(statuses)
        marks = ",".join("?" * len(wanted))
        for (raw,) in self._all(f"SELECT path FROM files WHERE status IN ({marks})", wanted):
            yield decode_path(raw)


def _keywords_of(result_json: str | None) -> list[str]:
    if not result_json:
        return []
    try:
        return list(json.loads(result_json).get("keywords", []))
    except (ValueError, AttributeError):
        return []


def _prefix_range(folder: Path) -> tuple[bytes, bytes]:
    """Byte range holding every path strictly under ``folder``: [folder/, folder0)."""
    base = encode_path(folder).rstrip(b"/")
    return base + b"/", base + b"0"
