"""Payloads and sessions of ``SqliteStore``: global payloads, sessions and the payloads a
session holds for several datapoints.

A mixin over the store's connection, lock, clock and caches. Global payloads and sessions
are read through in-process caches (the hot path); ``SqliteStore._fresh_cache`` drops them
when another connection wrote, and each write here drops what it changed.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from ...clock import now_iso
from ..base import JSON_TYPE, Payload, SessionRecord

STAMP_EVERY = 1.0  # seconds between two last_used writes of one session
SESSION_COLUMNS = ("session_id, partner, datapoint, payload, created_at, last_used, outcome, "
                   "content_type, name")


class PayloadRows:
    _db: sqlite3.Connection
    _lock: threading.RLock
    _clock: Callable[[], float]
    _cache: dict[tuple[str, str, str], Payload | None]
    _session_cache: dict[str, tuple[str, str, Payload] | None]
    _more_cache: dict[tuple[str, str, str, str], Payload | None]
    _stamped: dict[str, float]

    if TYPE_CHECKING:  # provided by SqliteStore
        def _fresh_cache(self) -> dict: ...
        def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor: ...
        def _one(self, sql: str, args: tuple = ()) -> tuple | None: ...

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


def _session(row: tuple) -> SessionRecord:
    sid, partner, datapoint, body, created_at, last_used, outcome, content_type, name = row
    return SessionRecord(sid, partner, datapoint, bytes(body), created_at, last_used, outcome,
                         content_type, name)
