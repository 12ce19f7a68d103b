"""The fault tables of ``SqliteStore`` (migration 5): faults set at run time and the request
counters of every fault.

A mixin over the store's connection, lock and clock. The faults in force are kept in
process for the hot path (``active_faults``); the store drops them with its other caches
when ``PRAGMA data_version`` says another connection wrote (looked at no more than once
every ``RECHECK_SECONDS``), this class whenever it writes them itself or the first of them
expires.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ..base import FaultRecord

FAULT_COLUMNS = "id, partner, session_id, spec, created_at, expires_at"
# How often the hot path asks SQLite whether another process wrote. ``PRAGMA data_version``
# costs 4-6 µs; a proxy serving 1,000-2,000 requests a second would pay it on nearly every
# request at 1 ms (about 1 % of a request's CPU, on routes without any fault), at 10 ms on
# one in ten to twenty. Writes by this process are seen at once; another process's (a
# worker's) within this time, well inside the 100 ms replicas promise.
RECHECK_SECONDS = 0.01


class FaultRows:
    _db: sqlite3.Connection
    _lock: threading.RLock
    _clock: Callable[[], float]
    _faults: tuple[FaultRecord, ...] | None = None  # None: read them again
    _faults_until: float = math.inf  # when the first of them expires
    _faults_fresh: float = -math.inf  # time.monotonic() until which no data_version check

    if TYPE_CHECKING:  # provided by SqliteStore
        def _fresh_cache(self) -> dict: ...
        def _one(self, sql: str, args: tuple = ()) -> tuple | None: ...

    def add_fault(self, partner: str, session_id: str | None, spec: bytes,
                  expires_at: float | None) -> FaultRecord:
        record = FaultRecord(uuid.uuid4().hex[:12], partner, session_id, spec, self._clock(),
                             expires_at)
        with self._transaction():
            self._drop_expired()
            self._db.execute(f"INSERT INTO faults ({FAULT_COLUMNS}) VALUES (?,?,?,?,?,?)",
                             (record.id, partner, session_id, spec, record.created_at,
                              expires_at))
        return record

    def list_faults(self, session_id: str | None = None) -> list[FaultRecord]:
        where, args = "(expires_at IS NULL OR expires_at > ?)", [self._clock()]
        if session_id is not None:
            where += " AND session_id = ?"
            args.append(session_id)
        with self._lock:
            rows = self._db.execute(f"SELECT {FAULT_COLUMNS} FROM faults WHERE {where} "
                                    "ORDER BY created_at, rowid", args).fetchall()
        return [_fault(r) for r in rows]

    def active_faults(self) -> tuple[FaultRecord, ...]:
        faults = self._faults
        if faults is not None and time.monotonic() < self._faults_fresh \
                and (self._faults_until == math.inf or self._clock() < self._faults_until):
            return faults  # the hot path: no lock, no SQL
        with self._lock:
            now = time.monotonic()
            if now >= self._faults_fresh:
                self._fresh_cache()  # another process wrote: read them again
            faults = self._faults
            if faults is None or self._clock() >= self._faults_until:
                faults = tuple(self.list_faults())
                self._faults_until = min((f.expires_at for f in faults
                                          if f.expires_at is not None), default=math.inf)
                self._faults = faults
            self._faults_fresh = now + RECHECK_SECONDS
            return faults

    def delete_fault(self, fault_id: str) -> bool:
        with self._transaction():
            deleted = self._db.execute("DELETE FROM faults WHERE id=?", (fault_id,)).rowcount
            self._drop_counters([fault_id])
        return deleted > 0

    def clear_faults(self, session_id: str | None = None) -> int:
        where, args = ("WHERE session_id=?", (session_id,)) if session_id is not None else ("", ())
        with self._transaction():
            ids = [r[0] for r in self._db.execute(f"SELECT id FROM faults {where}", args)]
            self._db.execute(f"DELETE FROM faults {where}", args)
            self._drop_counters(ids)
        return len(ids)

    def count_fault(self, key: str) -> tuple[int, float]:
        row = self._one(
            "INSERT INTO fault_counters VALUES (?, 1, ?) ON CONFLICT (key) DO UPDATE "
            "SET count = count + 1 RETURNING count, first_at", (key, self._clock()))
        assert row is not None
        return int(row[0]), float(row[1])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction over the fault tables; the cached faults are read again."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            finally:
                self._faults = None

    def _drop_expired(self) -> None:
        ids = [r[0] for r in self._db.execute(
            "SELECT id FROM faults WHERE expires_at IS NOT NULL AND expires_at <= ?",
            (self._clock(),))]
        if ids:
            self._db.executemany("DELETE FROM faults WHERE id=?", [(i,) for i in ids])
            self._drop_counters(ids)

    def _drop_counters(self, fault_ids: list[str]) -> None:
        """Counters of a fault set at run time are keyed ``<id>|...``."""
        self._db.executemany("DELETE FROM fault_counters WHERE key >= ? AND key < ?",
                             [(f"{i}|", f"{i}}}") for i in fault_ids])


def _fault(row: tuple) -> FaultRecord:
    fault_id, partner, session_id, spec, created_at, expires_at = row
    return FaultRecord(fault_id, partner, session_id, bytes(spec), created_at, expires_at)
