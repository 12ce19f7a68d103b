"""The SQLite store: one file in WAL mode, short statements, no fsync on reads.

``synchronous=NORMAL`` in WAL mode keeps every committed write across a
process crash (``kill -9``); only a power loss can drop the last commits.
Several processes may share the file: global payload bytes and the faults in
force are cached in process and the caches are dropped whenever
``PRAGMA data_version`` says another connection wrote.

This module holds the connection and those caches; the tables are read and written by
the mixins: ``sessions.PayloadRows`` (payloads, sessions), ``flowstate.FlowRows`` (ids,
callbacks, cursors, buckets, sequences) and ``faults.FaultRows``; the schema is
``migrations.MIGRATIONS``.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ...errors import StoreError
from ..base import FaultRecord, Payload
from .faults import FaultRows
from .flowstate import FlowRows
from .migrations import migrate
from .sessions import PayloadRows

CACHE_LIMIT = 10_000  # entries per in-process cache before it starts over


class SqliteStore(PayloadRows, FlowRows, FaultRows):
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
            self._db.execute("PRAGMA busy_timeout=5000")
            _use_wal(self._db)
            self._db.execute("PRAGMA synchronous=NORMAL")
            migrate(self._db)
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

    def health(self) -> StoreError | None:
        return None  # a file of this host: what cannot be read is an error of the request


def _use_wal(db: sqlite3.Connection, wait: float = 5.0) -> None:
    """Switch a store file to WAL. Two processes opening a new file at once (workers,
    replicas on one host) both ask; SQLite answers the second "database is locked" at
    once, without its busy handler, so ask again for a bounded while."""
    deadline = time.monotonic() + wait
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
