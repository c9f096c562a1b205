"""The index's tables and the stepwise migrations between schema versions."""

from __future__ import annotations

SCHEMA_VERSION = 5


# files.status holds the values of phototag.states.Status, as free text: a new status
# needs no migration.


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


# Version 4: the hash of the image data without its metadata blocks
# (phototag.metadata.imagehash), so a metadata-only edit by another tool is told from new
# pixels and never tagged again. NULL for records made before it, and for formats it
# cannot parse: such a change counts as new pixels, as it did before.
_V4 = """
ALTER TABLE files ADD COLUMN image_sha256 TEXT;
"""


# Version 5: full-text search (tagctl search) over each result's title, caption,
# description and keywords, in an FTS5 table whose rowid is the file's id. Triggers keep
# it in step with files.result, so no writer needs to know it exists.
_FTS_ROW = (
    "json_extract({r}, '$.title'), json_extract({r}, '$.caption'), "
    "json_extract({r}, '$.description'), "
    "(SELECT group_concat(value, ', ') FROM json_each({r}, '$.keywords'))"
)
_V5 = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS files_fts USING fts5(
    title, caption, description, keywords, tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO files_fts (rowid, title, caption, description, keywords)
    SELECT id, {_FTS_ROW.format(r="result")} FROM files WHERE result IS NOT NULL;
CREATE TRIGGER IF NOT EXISTS files_fts_insert AFTER INSERT ON files
WHEN NEW.result IS NOT NULL BEGIN
    INSERT INTO files_fts (rowid, title, caption, description, keywords)
        VALUES (NEW.id, {_FTS_ROW.format(r="NEW.result")});
END;
CREATE TRIGGER IF NOT EXISTS files_fts_delete AFTER DELETE ON files
WHEN OLD.result IS NOT NULL BEGIN
    DELETE FROM files_fts WHERE rowid = OLD.id;
END;
CREATE TRIGGER IF NOT EXISTS files_fts_update AFTER UPDATE OF result ON files
WHEN OLD.result IS NOT NEW.result BEGIN
    DELETE FROM files_fts WHERE rowid = OLD.id;
    INSERT INTO files_fts (rowid, title, caption, description, keywords)
        SELECT NEW.id, {_FTS_ROW.format(r="NEW.result")} WHERE NEW.result IS NOT NULL;
END;
"""


MIGRATIONS = (_SCHEMA, _V2, _V3, _V4, _V5)  # MIGRATIONS[n] takes an index from version n to n + 1


_COLUMNS = (
    "id, path, size, mtime_ns, sha256, out_sha256, status, attempts, last_error, result, "
    "backend, model, prompt_digest, fallback, dry_run, queued_at, started_at, finished_at, "
    "updated_at, image_sha256"
)
