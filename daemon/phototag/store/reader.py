"""Read-only views of the index: tagctl's reader and the catch-up scan's snapshot."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from phototag.states import Status
from phototag.store.records import FileRecord, Finished, decode_path, display_path, encode_path
from phototag.store.schema import _COLUMNS
from phototag.store.search import MATCH_SQL

# The settled records of one chunk of paths as NUL-separated scan keys (``records.SCAN_KEY``;
# a path holds no NUL), built by SQLite in a single step, so without the GIL; chunks bound
# the transient text (~1 MB) and the end of each is found by skipping rows in the path index.
_SETTLED_KEYS = (
    "SELECT CAST(group_concat(path || '/' || size || ' ' || mtime_ns, x'00') AS BLOB) "
    "FROM files WHERE {paths} AND status NOT IN ('queued', 'processing', 'deleted')"
)
_SCAN_SETTLED = _SETTLED_KEYS.format(paths="path > ? AND path < ?")
_SCAN_SETTLED_AT = _SETTLED_KEYS.format(paths="path = ?")  # the scanned path itself

# Paths a scan never queues, whatever their size and mtime (``records.decide``): in flight
# (never queued twice), or undone (a person took phototag's tags out: only tagctl retag
# asks again).
_SCAN_HELD = (
    "SELECT path FROM files WHERE status IN ('queued', 'processing', 'undone') "
    "AND (path = ? OR (path >= ? AND path < ?))"
)


_SCAN_CHUNK_LAST = (
    "SELECT path FROM files WHERE path > ? AND path < ? ORDER BY path LIMIT 1 OFFSET ?"
)


_SCAN_CHUNK = 16384


class Known:
    """What the index holds at or under a path (a folder, or one file), for the catch-up
    scan: read on a thread of its own, over its own connection (one WAL snapshot; the
    daemon's writes go on), while the caller stats the disk. SQLite builds each chunk
    without the GIL, so with a second core free the read is nearly hidden (a fifth off the
    scan); on one core it costs a few percent more than reading rows in line. Deleted
    records are left out: a file back on disk is found like a new one.
    """

    def __init__(self, index_path: Path | None, folder: Path) -> None:
        self._settled: set[bytes] = set()  # scan keys of done, failed, skipped, undone records
        self._held: set[bytes] = set()  # paths never queued by a scan (``_SCAN_HELD``)
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
        """(scan keys of settled records, paths held: in flight or undone), once read."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._settled, self._held

    def _load(self, index_path: Path, folder: Path) -> None:
        top = encode_path(folder)
        low, high = _prefix_range(folder)
        try:
            db = sqlite3.connect(index_path, isolation_level=None, check_same_thread=False)
            try:
                db.execute("PRAGMA busy_timeout=10000")
                db.execute("BEGIN")  # every query below sees the same snapshot
                self._held = {row[0] for row in db.execute(_SCAN_HELD, (top, low, high))}
                (keys,) = db.execute(_SCAN_SETTLED_AT, (top,)).fetchone()
                if keys is not None:
                    self._settled.add(keys)
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
        """How many records have each status, keyed by the :class:`Status` members."""
        found = dict(self._all("SELECT status, n FROM status_counts"))
        return {status: found.get(status, 0) for status in Status}

    def done_since(self, since: float) -> int:
        return self._all(
            # "+status": not the status index (most rows are done), the finished_at one
            "SELECT count(*) FROM files WHERE finished_at >= ? AND +status='done'",
            (since,),
        )[0][0]

    def records(
        self, *, status: Status | None = None, limit: int = 100, newest_first: bool = True
    ) -> list[FileRecord]:
        order = "DESC" if newest_first else "ASC"
        where, params = ("WHERE status=?", [status]) if status is not None else ("", [])
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

    def select(
        self,
        *,
        statuses: Iterable[Status],
        since: float | None = None,
        under: Iterable[Path] = (),
        limit: int | None = None,
    ) -> list[FileRecord]:
        """Records with one of ``statuses``, finished at or after ``since``, at or under one
        of ``under`` (files or folders; none given: everywhere); the newest first, at most
        ``limit``."""
        sql, params = _selection(_COLUMNS, statuses=statuses, since=since, under=under, limit=limit)
        return [FileRecord.from_row(r) for r in self._all(sql, params)]

    def finished_since(self, since: float, *, limit: int) -> list[Finished]:
        """What the summary lists of the records done or failed at or after ``since``, the
        newest first, at most ``limit``: four columns, not whole records (it lists every
        photo of a run at each rewrite; a FileRecord per row was 40 % of that)."""
        rows = self._all(
            *_selection(
                "path, status, last_error, result",
                statuses=(Status.DONE, Status.FAILED),
                since=since,
                limit=limit,
            )
        )
        return [
            Finished(
                path=display_path(raw),
                status=Status(status),
                last_error=error,
                result=json.loads(result) if result else None,
            )
            for raw, status, error, result in rows
        ]

    def search_paths(self, match: str, *, limit: int | None = None) -> list[Path]:
        """Paths of the records an FTS5 query matches, the newest record first
        (sqlite3.OperationalError for a query FTS5 cannot parse)."""
        rows = self._all(*_match_sql("files.path", match, limit))
        return [decode_path(raw) for (raw,) in rows]

    def search(self, match: str, *, limit: int | None = None) -> list[FileRecord]:
        """The records an FTS5 query matches, the newest record first."""
        columns = ", ".join(f"files.{c.strip()}" for c in _COLUMNS.split(","))
        return [FileRecord.from_row(r) for r in self._all(*_match_sql(columns, match, limit))]

    def iter_paths(self, *, statuses: Iterable[Status]) -> Iterator[Path]:
        wanted = tuple(statuses)
        marks = ",".join("?" * len(wanted))
        for (raw,) in self._all(f"SELECT path FROM files WHERE status IN ({marks})", wanted):
            yield decode_path(raw)


def _match_sql(columns: str, match: str, limit: int | None) -> tuple[str, tuple[Any, ...]]:
    sql = MATCH_SQL.format(columns=columns, limit="" if limit is None else " LIMIT ?")
    return sql, (match,) if limit is None else (match, limit)


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


def _selection(
    columns: str,
    *,
    statuses: Iterable[Status],
    since: float | None = None,
    under: Iterable[Path] = (),
    limit: int | None = None,
) -> tuple[str, list[Any]]:
    """The query of :meth:`IndexReader.select` for ``columns``: one of ``statuses``,
    finished at or after ``since``, at or under one of ``under``, the newest first."""
    wanted = tuple(statuses)
    where = [f"status IN ({','.join('?' * len(wanted))})"]
    params: list[Any] = list(wanted)
    if since is not None:
        where.append("coalesce(finished_at, updated_at) >= ?")
        params.append(since)
    places = []
    for top in under:
        places.append("(path = ? OR (path >= ? AND path < ?))")
        params += [encode_path(top), *_prefix_range(top)]
    if places:
        where.append(f"({' OR '.join(places)})")
    sql = f"SELECT {columns} FROM files WHERE {' AND '.join(where)}"
    sql += " ORDER BY coalesce(finished_at, updated_at) DESC"
    if limit is not None:
        sql, params = sql + " LIMIT ?", [*params, limit]
    return sql, params
