"""Flow state of ``SqliteStore``: polling ids, callback requests and their deliveries,
cursors, rate-limit buckets and sequences.

A mixin over the store's connection, lock and clock; none of it is cached in process.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...clock import now_iso
from ..base import CallbackRequest, Delivery, IssuedId


class FlowRows:
    _db: sqlite3.Connection
    _lock: threading.RLock
    _clock: Callable[[], float]

    if TYPE_CHECKING:  # provided by SqliteStore
        def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor: ...
        def _one(self, sql: str, args: tuple = ()) -> tuple | None: ...

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


def _issued(row: tuple) -> IssuedId:
    return IssuedId(*row[:7], _captured(row[7]))


def _captured_text(captured: dict[str, Any] | None) -> str | None:
    return json.dumps(captured, separators=(",", ":")) if captured else None


def _captured(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}
