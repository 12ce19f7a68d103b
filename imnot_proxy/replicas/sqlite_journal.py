"""The journal of every worker on one SQLite file (``imnot-proxy start --workers N``).

A table of its own in the store's file (made here, not by the store's migrations: it
is the journal's), written one transaction per batch by the writer thread of
``BufferedJournal`` and trimmed to the newest ``size`` rows as it goes.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from ..journal import DEFAULT_SIZE
from .journal import BufferedJournal

SCHEMA = "CREATE TABLE IF NOT EXISTS imnot_journal (id INTEGER PRIMARY KEY, entry TEXT NOT NULL)"


class SqliteJournal(BufferedJournal):
    failures = (sqlite3.Error, OSError)

    def __init__(self, path: Path, replica: str, *, size: int = DEFAULT_SIZE):
        super().__init__(replica, store_name=str(path), size=size)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                   timeout=5.0)
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(SCHEMA)
        self._lock = threading.Lock()

    def _send(self, encoded: list[str]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO imnot_journal (entry) VALUES (?)",
                                     [(text,) for text in encoded])
                self._db.execute("DELETE FROM imnot_journal WHERE id <= "
                                 "(SELECT max(id) FROM imnot_journal) - ?", (self._size,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _read(self, limit: int) -> list[bytes | str]:
        with self._lock:
            rows = self._db.execute("SELECT entry FROM imnot_journal ORDER BY id DESC LIMIT ?",
                                    (limit,)).fetchall()
        return [row[0] for row in rows]

    def close(self) -> None:
        super().close()
        with self._lock:
            self._db.close()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM imnot_journal").fetchone()[0])
