"""SQLite backend: one file in WAL mode, short statements, no fsync on reads.

``synchronous=NORMAL`` in WAL mode keeps every committed write across a
process crash (``kill -9``); only a power loss can drop the last commits.
Several processes may share the file: global payload bytes and the faults in
force are cached in process and the caches are dropped whenever
``PRAGMA data_version`` says another connection wrote.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..clock import now_iso
from ..errors import StoreError
from .base import (
    JSON_TYPE,
    CallbackRequest,
    Delivery,
    FaultRecord,
    IssuedId,
    Payload,
    SessionRecord,
)
from .sqlite_faults import FaultRows

CACHE_LIMIT = 10_000  # entries per in-process cache before it starts over
STAMP_EVERY = 1.0  # seconds between two last_used writes of one session

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


class SqliteStore(FaultRows):
    """The embedded default store (see module docstring)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.RLock()  # the CLI and callbacks may share the connection
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=5.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc
        self._cache: dict[tuple[str, str, str], Payload | None] = {}
        self._session_cache: dict[str, tuple[str, str, Payload] | None] = {}
        self._more_cache: dict[tuple[str, str, str, str], Payload | None] = {}
        self._stamped: dict[str, float] = {}
        self._faults: tuple[FaultRecord, ...] | None = None  # None: read them again
        self._faults_until = math.inf  # when the first of them expires
        self._faults_fresh = -math.inf  # no data_version check until then (monotonic)
        self._data_version = self._version()

    # --- plumbing -------------------------------------------------------------

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version >= len(MIGRATIONS):
            return
        # Several processes (workers) may open a new file at once: read the version again
        # under the write lock, so that only one of them migrates.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            (version,) = self._db.execute("PRAGMA user_version").fetchone()
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={number}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _version(self) -> int:
        return self._db.execute("PRAGMA data_version").fetchone()[0]

    def _fresh_cache(self) -> dict:
        version = self._version()
        if version != self._data_version:
            self._data_version = version
            self._cache.clear()
            self._session_cache.clear()
            self._more_cache.clear()
            self._faults = None
        for cache in (self._cache, self._session_cache, self._more_cache, self._stamped):
            if len(cache) > CACHE_LIMIT:  # bounded: many sessions must not grow memory forever
                cache.clear()
        return self._cache

    def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    def _one(self, sql: str, args: tuple = ()) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @property
    def name(self) -> str:
        return str(self.path)

    def now(self) -> float:
        return self._clock()

    # --- payloads -------------------------------------------------------------

    def put_global(self, partner: str, datapoint: str, body: bytes,
                   outcome: str | None = None, *, name: str = "",
                   content_type: str = JSON_TYPE, if_absent: bool = False) -> str | None:
        at = now_iso()
        conflict = "NOTHING" if if_absent else (
            "UPDATE SET payload=excluded.payload, updated_at=excluded.updated_at, "
            "outcome=excluded.outcome, content_type=excluded.content_type")
        written = self._write(
            "INSERT INTO global_payloads (partner, datapoint, name, payload, updated_at, "
            f"outcome, content_type) VALUES (?,?,?,?,?,?,?) "
            f"ON CONFLICT (partner, datapoint, name) DO {conflict}",
            (partner, datapoint, name, body, at, outcome, content_type),
        ).rowcount
        self._cache.pop((partner, datapoint, name), None)
        return at if written else None

    def get_global(self, partner: str, datapoint: str, name: str = "") -> Payload | None:
        with self._lock:
            cache = self._fresh_cache()
            key = (partner, datapoint, name)
            if key in cache:
                return cache[key]
            row = self._db.execute(
                "SELECT payload, updated_at, outcome, content_type FROM global_payloads "
                "WHERE partner=? AND datapoint=? AND name=?", key
            ).fetchone()
            payload = Payload(bytes(row[0]), row[1], row[2], row[3], name) if row else None
            cache[key] = payload
            return payload

    def payload_names(self, partner: str, datapoint: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name FROM global_payloads WHERE partner=? AND datapoint=? ORDER BY name",
                (partner, datapoint)).fetchall()
        return [r[0] for r in rows]

    def create_session(self, partner: str, datapoint: str, body: bytes,
                       outcome: str | None = None, *, name: str = "",
                       content_type: str = JSON_TYPE) -> str:
        session_id = str(uuid.uuid4())
        self._write(
            "INSERT INTO sessions (session_id, partner, datapoint, payload, created_at, "
            "last_used, outcome, name, content_type) VALUES (?,?,?,?,?,NULL,?,?,?)",
            (session_id, partner, datapoint, body, now_iso(), outcome, name, content_type),
        )
        return session_id

    def open_session(self, session_id: str | None = None) -> str | None:
        """A session with no payload yet (a new id when None); None when the id is taken."""
        session_id = session_id or str(uuid.uuid4())
        with self._lock:
            created = self._db.execute(
                "INSERT INTO sessions (session_id, partner, datapoint, payload, created_at) "
                "VALUES (?,'','',x'',?) ON CONFLICT (session_id) DO NOTHING",
                (session_id, now_iso())).rowcount
            self._session_cache.pop(session_id, None)
        return session_id if created else None

    def put_session_payload(self, session_id: str, partner: str, datapoint: str, body: bytes,
                            outcome: str | None = None, *, name: str = "",
                            content_type: str = JSON_TYPE) -> bool:
        """Set the session's payload for partner/datapoint (and name); False when there is no
        such session. The payload a session was created with is replaced in place."""
        with self._lock:
            row = self._db.execute("SELECT partner, datapoint, name FROM sessions "
                                   "WHERE session_id=?", (session_id,)).fetchone()
            if row is None:
                return False
            if tuple(row) == (partner, datapoint, name):
                self._db.execute("UPDATE sessions SET payload=?, outcome=?, content_type=? "
                                 "WHERE session_id=?", (body, outcome, content_type, session_id))
            else:
                self._db.execute(
                    "INSERT INTO session_payloads VALUES (?,?,?,?,?,?,?,?) ON CONFLICT "
                    "(session_id, partner, datapoint, name) DO UPDATE SET "
                    "payload=excluded.payload, updated_at=excluded.updated_at, "
                    "outcome=excluded.outcome, content_type=excluded.content_type",
                    (session_id, partner, datapoint, name, body, now_iso(), outcome,
                     content_type))
            self._session_cache.pop(session_id, None)
            self._more_cache.pop((session_id, partner, datapoint, name), None)
        return True

    def session_payload(self, session_id: str, partner: str, datapoint: str,
                        name: str = "", *, touch: bool = True) -> Payload | None:
        """The session's payload for partner/datapoint (and name), if it has one; stamps
        ``last_used`` when ``touch`` (at most once a second per session, so reads stay
        reads)."""
        with self._lock:
            self._fresh_cache()
            hit = self._session_cache.get(session_id, ())
            if hit == ():
                row = self._db.execute(
                    "SELECT partner, datapoint, payload, created_at, outcome, content_type, "
                    "name FROM sessions WHERE session_id=?", (session_id,)).fetchone()
                hit = (row[0], row[1], Payload(bytes(row[2]), row[3], row[4], row[5], row[6])
                       ) if row else None
                self._session_cache[session_id] = hit
            if hit is None:
                return None
            if hit[0] == partner and hit[1] == datapoint and hit[2].name == name:
                payload: Payload | None = hit[2]
            else:
                payload = self._more_payload(session_id, partner, datapoint, name)
                if payload is None:
                    return None
            now = self._clock()
            if touch and now - self._stamped.get(session_id, -STAMP_EVERY) >= STAMP_EVERY:
                self._stamped[session_id] = now
                self._db.execute("UPDATE sessions SET last_used=? WHERE session_id=?",
                                 (now_iso(), session_id))
            return payload

    def _more_payload(self, session_id: str, partner: str, datapoint: str,
                      name: str) -> Payload | None:
        key = (session_id, partner, datapoint, name)
        if key in self._more_cache:
            return self._more_cache[key]
        row = self._db.execute(
            "SELECT payload, updated_at, outcome, content_type, name FROM session_payloads "
            "WHERE session_id=? AND partner=? AND datapoint=? AND name=?", key).fetchone()
        payload = Payload(bytes(row[0]), row[1], row[2], row[3], row[4]) if row else None
        self._more_cache[key] = payload
        return payload

    def get_session(self, session_id: str) -> SessionRecord | None:
        row = self._one(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE session_id=?",
                        (session_id,))
        return _session(row) if row else None

    def list_sessions(self, limit: int | None = None,
                      after: str | None = None) -> list[SessionRecord]:
        """Newest first (ties by id), a page at a time: keyset paging, so a page costs the
        same however deep it is."""
        where, args = "", []
        with self._lock:
            if after is not None:
                row = self._db.execute("SELECT created_at FROM sessions WHERE session_id=?",
                                       (after,)).fetchone()
                if row is None:
                    return []
                where, args = "WHERE (created_at, session_id) < (?, ?)", [row[0], after]
            rows = self._db.execute(
                f"SELECT {SESSION_COLUMNS} FROM sessions {where} "
                "ORDER BY created_at DESC, session_id DESC "
                "LIMIT ?", (*args, -1 if limit is None else limit)).fetchall()
        return [_session(r) for r in rows]

    def count_sessions(self) -> int:
        row = self._one("SELECT count(*) FROM sessions")
        return int(row[0]) if row else 0

    def delete_session(self, session_id: str) -> bool:
        with self._lock:
            self._session_cache.pop(session_id, None)
            self._more_cache.clear()
            self._db.execute("DELETE FROM session_payloads WHERE session_id=?", (session_id,))
            return self._db.execute("DELETE FROM sessions WHERE session_id=?",
                                    (session_id,)).rowcount > 0

    def clear_sessions(self) -> int:
        with self._lock:
            self._session_cache.clear()
            self._more_cache.clear()
            self._db.execute("DELETE FROM session_payloads")
            return self._db.execute("DELETE FROM sessions").rowcount

    # --- polling ids ------------------------------------------------------------

    def issue_id(self, partner: str, datapoint: str, session_id: str | None,
                 outcome: str | None = None,
                 captured: dict[str, Any] | None = None) -> IssuedId:
        issued = IssuedId(str(uuid.uuid4()), partner, datapoint, session_id, self._clock(), 0,
                          outcome, dict(captured or {}))
        self._write(
            "INSERT INTO issued_ids (id, partner, datapoint, session_id, created, polls, "
            "outcome, captured) VALUES (?,?,?,?,?,0,?,?)",
            (issued.id, partner, datapoint, session_id, issued.created, outcome,
             _captured_text(captured)),
        )
        return issued

    def get_id(self, partner: str, datapoint: str, id: str) -> IssuedId | None:
        row = self._one(
            "SELECT id, partner, datapoint, session_id, created, polls, outcome, captured "
            "FROM issued_ids WHERE partner=? AND datapoint=? AND id=?", (partner, datapoint, id)
        )
        return _issued(row) if row else None

    def count_poll(self, partner: str, datapoint: str, id: str) -> IssuedId | None:
        """Count one status poll; the record returned holds the polls made *before* it."""
        row = self._one(
            "UPDATE issued_ids SET polls = polls + 1 WHERE partner=? AND datapoint=? AND id=? "
            "RETURNING id, partner, datapoint, session_id, created, polls - 1, outcome, "
            "captured", (partner, datapoint, id),
        )
        return _issued(row) if row else None

    # --- callbacks --------------------------------------------------------------

    def add_callback(self, partner: str, datapoint: str, session_id: str | None,
                     url: str, method: str, captured: dict[str, Any] | None = None,
                     payload_name: str = "") -> CallbackRequest:
        request = CallbackRequest(str(uuid.uuid4()), partner, datapoint, session_id, url, method,
                                  now_iso(), dict(captured or {}), payload_name)
        self._write(
            "INSERT INTO callbacks (id, partner, datapoint, session_id, url, method, created_at, "
            "captured, payload_name) VALUES (?,?,?,?,?,?,?,?,?)",
            (request.id, partner, datapoint, session_id, url, method, request.created_at,
             _captured_text(captured), payload_name))
        return request

    def get_callback(self, partner: str, datapoint: str, id: str) -> CallbackRequest | None:
        row = self._one(
            "SELECT id, partner, datapoint, session_id, url, method, created_at, captured, "
            "payload_name FROM callbacks WHERE partner=? AND datapoint=? AND id=?",
            (partner, datapoint, id))
        return CallbackRequest(*row[:7], _captured(row[7]), row[8]) if row else None

    def list_callbacks(self, session_id: str) -> list[CallbackRequest]:
        """The callback requests made in a session, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, partner, datapoint, session_id, url, method, created_at, captured, "
                "payload_name FROM callbacks WHERE session_id=? ORDER BY created_at, rowid",
                (session_id,)).fetchall()
        return [CallbackRequest(*row[:7], _captured(row[7]), row[8]) for row in rows]

    def log_delivery(self, request_id: str, attempt: int, status: int | None,
                     error: str | None) -> None:
        self._write("INSERT INTO deliveries VALUES (?,?,?,?,?)",
                    (request_id, attempt, now_iso(), status, error))

    def deliveries(self, request_id: str) -> list[Delivery]:
        with self._lock:
            rows = self._db.execute(
                "SELECT request_id, attempt, at, status, error FROM deliveries "
                "WHERE request_id=? ORDER BY rowid", (request_id,)
            ).fetchall()
        return [Delivery(*r) for r in rows]

    # --- cursors ------------------------------------------------------------------

    def add_cursor(self, partner: str, datapoint: str, session_id: str | None,
                   offset: int, ttl_seconds: int) -> str:
        cursor = str(uuid.uuid4())
        expires = self._clock() + ttl_seconds if ttl_seconds > 0 else None
        with self._lock:
            self._db.execute("DELETE FROM cursors WHERE expires IS NOT NULL AND expires < ?",
                             (self._clock(),))
            self._db.execute("INSERT INTO cursors VALUES (?,?,?,?,?,?)",
                             (cursor, partner, datapoint, session_id, offset, expires))
        return cursor

    def get_cursor(self, partner: str, datapoint: str, session_id: str | None,
                   cursor: str) -> int | None:
        row = self._one(
            "SELECT offset_val FROM cursors WHERE cursor=? AND partner=? AND datapoint=? "
            "AND session_id IS ? AND (expires IS NULL OR expires >= ?)",
            (cursor, partner, datapoint, session_id, self._clock()),
        )
        return row[0] if row else None

    # --- rate limits ----------------------------------------------------------------

    def take_token(self, key: str, per_minute: int) -> float:
        """Take one token from the bucket; 0 when allowed, else seconds until one is free."""
        now = self._clock()
        rate = per_minute / 60.0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT tokens, updated FROM buckets WHERE key=?", (key,)
                ).fetchone()
                tokens = float(per_minute) if row is None else min(
                    float(per_minute), row[0] + (now - row[1]) * rate)
                if tokens >= 1.0:
                    self._db.execute(
                        "INSERT INTO buckets VALUES (?,?,?) ON CONFLICT (key) DO UPDATE "
                        "SET tokens=excluded.tokens, updated=excluded.updated",
                        (key, tokens - 1.0, now),
                    )
                    wait = 0.0
                else:
                    wait = max(1.0, math.ceil((1.0 - tokens) / rate))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return wait

    def next_sequence(self, key: str) -> int:
        row = self._one(
            "INSERT INTO sequences VALUES (?, 1) ON CONFLICT (key) DO UPDATE "
            "SET value = value + 1 RETURNING value", (key,))
        assert row is not None
        return int(row[0])


def _statements(script: str) -> list[str]:
    """The statements of a migration script (none of them contains a ``;`` in a literal)."""
    return [part.strip() for part in script.split(";") if part.strip()]


SESSION_COLUMNS = ("session_id, partner, datapoint, payload, created_at, last_used, outcome, "
                   "content_type, name")


def _session(row: tuple) -> SessionRecord:
    sid, partner, datapoint, body, created_at, last_used, outcome, content_type, name = row
    return SessionRecord(sid, partner, datapoint, bytes(body), created_at, last_used, outcome,
                         content_type, name)


def _issued(row: tuple) -> IssuedId:
    return IssuedId(*row[:7], _captured(row[7]))


def _captured_text(captured: dict[str, Any] | None) -> str | None:
    return json.dumps(captured, separators=(",", ":")) if captured else None


def _captured(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}
