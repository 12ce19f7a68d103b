"""One connection per process that hears what other replicas change.

Redis's server-assisted client-side caching (``CLIENT TRACKING ... BCAST PREFIX``)
sends an invalidation message whenever a payload or session key is written,
deleted or expires, by anyone. redis-py's own cache (``cache_config=``) needs
Redis 7.4 or later, and Debian 12 ships 7.0; so this listener turns tracking on
for itself in RESP2 with ``REDIRECT`` to its own client id and subscribes to
``__redis__:invalidate`` (works from Redis 6.0, and on Valkey). The same
connection subscribes to the prefix's event channel, which carries partner
reloads and callback wake-ups.

While it is not connected the cache is off and every read goes to Redis, so a
replica never serves a value whose invalidation it may have missed. It also
measures the offset between this host's clock and Redis's, so that every
replica times polling flows with one clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

logger = logging.getLogger("imnot_proxy")

INVALIDATE = "__redis__:invalidate"
RETRY_MAX = 1.0  # seconds between two connection attempts, at most
CLOCK_EVERY = 30.0  # seconds between two measurements of Redis's clock


class TrackedCache:
    """Values by Redis key; a read stores its value only if no invalidation came in between.

    ``generation`` grows with every invalidation: a reader notes it before going to
    Redis and stores what it got only if it is unchanged, so a value read just before
    another replica's write cannot outlive that write's invalidation.
    """

    def __init__(self, limit: int = 10_000):
        self.data: dict[str, Any] = {}
        self.generation = 0
        self.enabled = False
        self.limit = limit

    def store(self, key: str, value: Any, generation: int) -> None:
        if self.enabled and generation == self.generation:
            if len(self.data) >= self.limit:
                self.data.clear()
            self.data[key] = value

    def invalidate(self, keys: list[str] | None) -> None:
        self.generation += 1
        if keys is None:
            self.data.clear()
        else:
            for key in keys:
                self.data.pop(key, None)

    def set_enabled(self, enabled: bool) -> None:
        self.generation += 1
        self.enabled = enabled
        self.data.clear()


class Listener(threading.Thread):
    def __init__(self, client: redis.Redis, prefixes: list[str], channel: str,
                 cache: TrackedCache, *, on_state: Callable[[bool], None],
                 on_offset: Callable[[float], None]):
        super().__init__(name="imnot redis listener", daemon=True)
        self.client = client
        self.prefixes = prefixes
        self.channel = channel
        self.cache = cache
        self.on_state = on_state
        self.on_offset = on_offset
        self.handlers: dict[str, list[Callable[[str], None]]] = {}
        self.ready = threading.Event()
        self._halt = threading.Event()
        self._conn: Any = None

    def on_event(self, kind: str, handler: Callable[[str], None]) -> None:
        """Call ``handler(data)`` for every ``kind:data`` message on the event channel, and
        ``handler("")`` after every reconnection (messages may have been missed)."""
        self.handlers.setdefault(kind, []).append(handler)

    def stop(self) -> None:
        self._halt.set()
        conn = self._conn
        if conn is not None:
            try:
                conn.disconnect()
            except Exception:  # noqa: BLE001 - closing anyway
                pass

    def run(self) -> None:
        delay = 0.05
        while not self._halt.is_set():
            try:
                self._serve()
                delay = 0.05
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect, caches off
                # (hiredis raises TypeError for a socket closed under it)
                if self._halt.is_set():
                    break
                if self.cache.enabled or not self.ready.is_set():
                    logger.warning("imnot_proxy: store events lost (%s); caches off until "
                                   "Redis is back", exc)
                self.cache.set_enabled(False)
                self.on_state(False)
                self.ready.set()  # a first failure must not hold the start-up back
                self._halt.wait(delay)
                delay = min(RETRY_MAX, delay * 2)
            finally:
                conn, self._conn = self._conn, None
                if conn is not None:
                    conn.disconnect()

    def _serve(self) -> None:
        conn = self.client.connection_pool.make_connection()
        self._conn = conn
        conn.connect()
        conn.send_command("CLIENT", "ID")
        own_id = conn.read_response()
        prefixes = [a for p in self.prefixes for a in ("PREFIX", p)]
        conn.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", own_id, "BCAST", *prefixes)
        conn.read_response()
        conn.send_command("SUBSCRIBE", INVALIDATE, self.channel)
        conn.read_response()
        conn.read_response()
        self._measure_clock()
        self.cache.set_enabled(True)
        self.on_state(True)
        self.ready.set()
        for handlers in self.handlers.values():
            for handler in handlers:
                self._call(handler, "")
        measured = time.monotonic()
        while not self._halt.is_set():
            if conn.can_read(timeout=0.5):
                self._dispatch(conn.read_response())
            elif time.monotonic() - measured > CLOCK_EVERY:
                self._measure_clock()
                measured = time.monotonic()

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, list) or len(message) != 3 or message[0] != b"message":
            return
        channel, data = message[1], message[2]
        if channel == INVALIDATE.encode():
            keys = None if data is None else [k.decode("utf-8", "replace") for k in data]
            self.cache.invalidate(keys)
            return
        kind, _, payload = data.decode("utf-8", "replace").partition(":")
        for handler in self.handlers.get(kind, ()):
            self._call(handler, payload)

    @staticmethod
    def _call(handler: Callable[[str], None], data: str) -> None:
        try:
            handler(data)
        except Exception:  # noqa: BLE001 - one bad handler must not stop the listener
            logger.exception("imnot_proxy: store event handler failed")

    def _measure_clock(self) -> None:
        before = time.time()
        seconds, micros = self.client.time()
        after = time.time()
        self.on_offset(seconds + micros / 1e6 - (before + after) / 2)
