"""Journals that several processes share: a capped Redis stream, or a table in the SQLite
file that workers on one host share.

``add`` only appends to a local buffer (a request pays for a deque append, as with
the memory journal); a writer thread sends the buffer every ``FLUSH_EVERY`` seconds
(one pipeline, or one transaction). ``latest`` sends what is pending first, so a
process's own requests are always in its answer, then reads the newest entries of
all processes. Each entry carries the name of the replica (or worker) that served it.
While the store is unreachable entries wait in the buffer (the newest ``size`` of
them) and reading the journal is a 503 naming the store.
"""

from __future__ import annotations

import json
import logging
import operator
import threading
from collections import deque
from dataclasses import fields

import redis

from ..errors import StoreError
from ..journal import DEFAULT_SIZE, JournalEntry
from ..store.redis.reasons import reason

logger = logging.getLogger("imnot_proxy")

FLUSH_EVERY = 0.05  # seconds
NAMES = tuple(f.name for f in fields(JournalEntry))
REPLICA = NAMES.index("replica")
_values = operator.attrgetter(*NAMES)
_dumps = json.JSONEncoder(separators=(",", ":")).encode


class BufferedJournal:
    """The buffer and the writer thread; a backend sends a batch and reads the newest."""

    failures: tuple[type[BaseException], ...] = (OSError,)

    def __init__(self, replica: str, *, store_name: str, size: int = DEFAULT_SIZE):
        self.replica = replica
        self.store_name = store_name
        self._size = size
        self._pending: deque[JournalEntry] = deque(maxlen=size)
        self._send_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._failing = False
        self._thread: threading.Thread | None = None

    # --- what a backend provides ---------------------------------------------------

    def _send(self, encoded: list[str]) -> None:
        raise NotImplementedError

    def _read(self, limit: int) -> list[bytes | str]:
        raise NotImplementedError

    @staticmethod
    def _reason(exc: BaseException) -> str:
        """A failure in one line, for errors and the log (never the entries being sent)."""
        return reason(exc)

    # --- the journal --------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._size

    def resize(self, size: int) -> None:
        self._size = size
        self._pending = deque(self._pending, maxlen=size)

    def add(self, entry: JournalEntry) -> None:
        self._pending.append(entry)
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._run, name="imnot journal",
                                            daemon=True)
            self._thread.start()

    def latest(self, limit: int) -> list[JournalEntry]:
        """Newest first, from every process."""
        try:
            self.flush()
            rows = self._read(max(0, limit))
        except self.failures as exc:
            raise StoreError(f"store {self.store_name} is unreachable: {self._reason(exc)}",
                             store=self.store_name) from None
        return [entry for entry in map(decode, rows) if entry is not None]

    def flush(self) -> None:
        """Send what is pending; raises the backend's errors (the entries stay pending)."""
        with self._send_lock:
            batch = list(self._pending)
            if not batch:
                return
            self._send([encode(entry, self.replica) for entry in batch])
            for _ in batch:
                self._pending.popleft()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(FLUSH_EVERY)
            try:
                self.flush()
                if self._failing:
                    logger.warning("imnot_proxy: journal entries reach the store again")
                self._failing = False
            except (*self.failures, IndexError) as exc:
                if not self._failing:
                    logger.warning("imnot_proxy: journal entries wait for the store: %s",
                                   self._reason(exc))
                self._failing = True

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        try:
            self.flush()
        except self.failures:
            pass


class RedisJournal(BufferedJournal):
    """Every replica's entries in one stream, trimmed to about ``size`` entries."""

    failures = (redis.RedisError, OSError)

    def __init__(self, client: redis.Redis, key: str, replica: str, *, store_name: str,
                 size: int = DEFAULT_SIZE):
        super().__init__(replica, store_name=store_name, size=size)
        self._r = client
        self.key = key

    def _send(self, encoded: list[str]) -> None:
        """One stream entry per batch (field ``b``, a JSON list of entries): one command
        for redis-py to pack instead of one per request, in a thread that holds the
        interpreter lock the event loop needs. Trimmed to about ``size`` entries."""
        batches = max(1, self._size // len(encoded))
        self._r.xadd(self.key, {"b": "[" + ",".join(encoded) + "]"}, maxlen=batches,
                     approximate=True)

    def _read(self, limit: int) -> list[bytes | str | list]:
        """Newest first: the entries of the newest batches (and of single-entry rows,
        field ``e``, as earlier versions wrote them), at most ``limit``."""
        out: list[bytes | str | list] = []
        for _, row in self._r.xrevrange(self.key, count=limit):
            if b"b" in row:
                try:
                    batch = json.loads(row[b"b"])
                except ValueError:
                    continue
                out.extend(reversed(batch) if isinstance(batch, list) else ())
            elif b"e" in row:
                out.append(row[b"e"])
            if len(out) >= limit:
                break
        return out[:limit]

    def __len__(self) -> int:
        """Entries in the stream (reads it: for tests and status, not the hot path)."""
        return len(self._read(self._size * 64 + 64))


def encode(entry: JournalEntry, replica: str) -> str:
    """The entry's field values in order (new fields are added at the end), as JSON."""
    values = list(_values(entry))
    values[REPLICA] = entry.replica or replica
    return _dumps(values)


def decode(text: bytes | str | list) -> JournalEntry | None:
    try:
        values = text if isinstance(text, list) else json.loads(text)
        data = dict(zip(NAMES, values, strict=False))
        if data.get("closest") is not None:
            data["closest"] = tuple(data["closest"])
        return JournalEntry(**data)
    except (KeyError, TypeError, ValueError):
        return None
