"""The journal of every replica in one capped Redis stream.

``add`` only appends to a local buffer (a request pays for a deque append, as with
the memory journal); a writer thread sends the buffer with one pipelined
``XADD … MAXLEN ~ size`` per entry every ``FLUSH_EVERY`` seconds. ``latest`` sends
what is pending first, so a replica's own requests are always in its answer, then
reads the newest entries of all replicas. Each entry carries the replica's name.
While Redis is unreachable entries wait in the buffer (the newest ``size`` of them)
and reading the journal is a 503 naming the store.
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

logger = logging.getLogger("imnot_proxy")

FLUSH_EVERY = 0.05  # seconds
NAMES = tuple(f.name for f in fields(JournalEntry))
REPLICA = NAMES.index("replica")
_values = operator.attrgetter(*NAMES)
_dumps = json.JSONEncoder(separators=(",", ":")).encode


class RedisJournal:
    def __init__(self, client: redis.Redis, key: str, replica: str, *, store_name: str,
                 size: int = DEFAULT_SIZE):
        self._r = client
        self.key = key
        self.replica = replica
        self.store_name = store_name
        self._size = size
        self._pending: deque[JournalEntry] = deque(maxlen=size)
        self._send = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._failing = False
        self._thread: threading.Thread | None = None

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
        """Newest first, from every replica."""
        try:
            self.flush()
            rows = self._r.xrevrange(self.key, count=max(0, limit))
        except redis.RedisError as exc:
            raise StoreError(f"store {self.store_name} is unreachable: {exc}",
                             store=self.store_name) from None
        return [entry for entry in (_entry(fields_) for _, fields_ in rows) if entry]

    def flush(self) -> None:
        """Send what is pending; raises redis errors (the entries stay pending)."""
        with self._send:
            batch = list(self._pending)
            if not batch:
                return
            pipe = self._r.pipeline(transaction=False)
            for entry in batch:
                pipe.xadd(self.key, {"e": _encode(entry, self.replica)}, maxlen=self._size,
                          approximate=True)
            pipe.execute()
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
            except (redis.RedisError, OSError, IndexError) as exc:
                if not self._failing:
                    logger.warning("imnot_proxy: journal entries wait for the store: %s", exc)
                self._failing = True

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        try:
            self.flush()
        except (redis.RedisError, OSError):
            pass

    def __len__(self) -> int:
        return int(self._r.xlen(self.key))


def _encode(entry: JournalEntry, replica: str) -> str:
    """The entry's field values in order (new fields are added at the end), as JSON."""
    values = list(_values(entry))
    values[REPLICA] = entry.replica or replica
    return _dumps(values)


def _entry(row: dict) -> JournalEntry | None:
    try:
        data = dict(zip(NAMES, json.loads(row[b"e"]), strict=False))
        if data.get("closest") is not None:
            data["closest"] = tuple(data["closest"])
        return JournalEntry(**data)
    except (KeyError, TypeError, ValueError):
        return None
