"""The schema of ``SqliteStore``: an append-only list of migration scripts, applied once.

``PRAGMA user_version`` counts the scripts already applied; a new table or column is a new
script at the end of ``MIGRATIONS``, never an edit of an old one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: the original's tables, scoped by partner/datapoint everywhere
    """
    CREATE TABLE global_payloads (
        partner TEXT NOT NULL, datapoint TEXT NOT NULL, payload BLOB NOT NULL,
        updated_at TEXT NOT NULL, outcome TEXT,
        PRIMARY KEY (partner, datapoint));
    CREATE TABLE sessions (
        session_id TEXT PRIMARY KEY, partner TEXT NOT NULL, datapoint TEXT NOT NULL,
        payload BLOB NOT NULL, created_at TEXT NOT NULL, last_used TEXT, outcome TEXT);
    CREATE TABLE issued_ids (
        id TEXT NOT NULL, partner TEXT NOT NULL, datapoint TEXT NOT NULL, session_id TEXT,
        created REAL NOT NULL, polls INTEGER NOT NULL DEFAULT 0, outcome TEXT,
        PRIMARY KEY (partner, datapoint, id));
    CREATE TABLE callbacks (
        id TEXT NOT NULL, partner TEXT NOT NULL, datapoint TEXT NOT NULL, session_id TEXT,
        url TEXT NOT NULL, method TEXT NOT NULL, created_at TEXT NOT NULL,
        PRIMARY KEY (partner, datapoint, id));
    CREATE TABLE deliveries (
        request_id TEXT NOT NULL, attempt INTEGER NOT NULL, at TEXT NOT NULL,
        status INTEGER, error TEXT);
    CREATE INDEX deliveries_by_request ON deliveries (request_id);
    CREATE TABLE cursors (
        cursor TEXT PRIMARY KEY, partner TEXT NOT NULL, datapoint TEXT NOT NULL,
        session_id TEXT, offset_val INTEGER NOT NULL, expires REAL);
    CREATE TABLE buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL);
    """,
    # 2: sessions listed a page at a time, newest first
    """
    CREATE INDEX sessions_by_age ON sessions (created_at, session_id);
    """,
    # 3: named payloads with their content type, captured flow values, sequences
    """
    CREATE TABLE global_payloads_3 (
        partner TEXT NOT NULL, datapoint TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
        payload BLOB NOT NULL, updated_at TEXT NOT NULL, outcome TEXT,
        content_type TEXT NOT NULL DEFAULT 'application/json',
        PRIMARY KEY (partner, datapoint, name));
    INSERT INTO global_payloads_3 (partner, datapoint, name, payload, updated_at, outcome)
        SELECT partner, datapoint, '', payload, updated_at, outcome FROM global_payloads;
    DROP TABLE global_payloads;
    ALTER TABLE global_payloads_3 RENAME TO global_payloads;
    ALTER TABLE sessions ADD COLUMN name TEXT NOT NULL DEFAULT '';
    ALTER TABLE sessions ADD COLUMN content_type TEXT NOT NULL DEFAULT 'application/json';
    ALTER TABLE issued_ids ADD COLUMN captured TEXT;
    ALTER TABLE callbacks ADD COLUMN captured TEXT;
    ALTER TABLE callbacks ADD COLUMN payload_name TEXT NOT NULL DEFAULT '';
    CREATE TABLE sequences (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    """,
    # 4: one session across several datapoints (a session opened empty holds its payloads
    # here), and a session's callbacks listed
    """
    CREATE TABLE session_payloads (
        session_id TEXT NOT NULL, partner TEXT NOT NULL, datapoint TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '', payload BLOB NOT NULL, updated_at TEXT NOT NULL,
        outcome TEXT, content_type TEXT NOT NULL DEFAULT 'application/json',
        PRIMARY KEY (session_id, partner, datapoint, name));
    CREATE INDEX callbacks_by_session ON callbacks (session_id);
    """,
    # 5: faults set at run time, and request counters of every fault (see engine/faults.py)
    """
    CREATE TABLE faults (
        id TEXT PRIMARY KEY, partner TEXT NOT NULL, session_id TEXT, spec BLOB NOT NULL,
        created_at REAL NOT NULL, expires_at REAL);
    CREATE TABLE fault_counters (
        key TEXT PRIMARY KEY, count INTEGER NOT NULL, first_at REAL NOT NULL);
    """,
]


def migrate(db: sqlite3.Connection) -> None:
    """Apply the scripts the file has not seen yet, each with its ``user_version``."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version >= len(MIGRATIONS):
        return
    # Several processes (workers) may open a new file at once: read the version again
    # under the write lock, so that only one of them migrates.
    db.execute("BEGIN IMMEDIATE")
    try:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in _statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version={number}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    """The statements of a migration script (none of them contains a ``;`` in a literal)."""
    return [part.strip() for part in script.split(";") if part.strip()]
