"""The Redis backend of ``Store``: several proxies on several hosts share one state.

Payloads, sessions and the faults in force are cached in process and dropped the
moment Redis says another replica changed them (``listener.py``). Every read-modify-write is one
Lua script or one ``MULTI`` (``keys.py``, ``flowstate.py``), time comes from
Redis (scripts call ``TIME``; elsewhere this host's clock corrected by the
measured offset), and sessions, ids, callbacks and cursors expire natively.

A failure to reach Redis is a ``StoreError`` naming the store (the password
masked): the engine answers 503 and the proxy keeps running. After a connection
failure, calls fail at once for a short while instead of each waiting for a
timeout on the event loop; the listener's reconnection (or that while's end)
lets them through again.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ...clock import iso
from ...errors import StoreError
from ..base import JSON_TYPE, Payload, SessionRecord
from .faults import FaultHashes
from .flowstate import FlowState, _text
from .keys import (
    COUNT_SESSIONS,
    LIST_SESSIONS,
    OPEN_SESSION,
    PUT_PAYLOAD,
    PUT_SESSION_PAYLOAD,
    STAMP_SESSION,
    Keys,
    part,
    unpart,
)
from .listener import Listener, TrackedCache
from .reasons import reason
from .url import RedisUrl

STAMP_EVERY = 1.0  # seconds between two last_used writes of one session
FAIL_FAST = 1.0  # seconds calls fail at once after a connection failure
HEALTH_EVERY = 1.0  # seconds a health answer is kept (a load balancer probes every few)
CONNECT_TIMEOUT = 2.0
COMMAND_TIMEOUT = 5.0
_MISS = object()


class RedisStore(FlowState, FaultHashes):
    shared = True  # other hosts see what it holds (replicas share more through it)

    def __init__(self, url: RedisUrl, *, clock: Callable[[], float] | None = None,
                 listen: bool = True):
        self.url = url
        self.keys = Keys(url.prefix)
        self._clock = clock
        self._offset = 0.0
        self._down_until = 0.0
        self._health: StoreError | None = None
        self._health_until = 0.0
        self._stamped: dict[str, float] = {}
        self.cache = TrackedCache()
        try:
            self._r = redis.Redis.from_url(
                url.client_url(), protocol=2, socket_connect_timeout=CONNECT_TIMEOUT,
                socket_timeout=COMMAND_TIMEOUT, retry=Retry(NoBackoff(), 1),
                health_check_interval=30)
            self._r.ping()
            self._offset = self._measure_offset()
            self._flagged = _version(self._r.info("server")) >= (7, 0)
        except (redis.RedisError, OSError, ValueError) as exc:
            raise StoreError(f"cannot open store {url.masked}: {reason(exc)}",
                             store=url.masked) from None
        self._stamp = self.script(STAMP_SESSION)
        self._put_payload = self.script(PUT_PAYLOAD)
        self._open_session = self.script(OPEN_SESSION)
        self._put_session_payload = self.script(PUT_SESSION_PAYLOAD)
        self._list_sessions = self.script(LIST_SESSIONS)
        self._count_sessions = self.script(COUNT_SESSIONS)
        self._scripts_for_flows()
        self._scripts_for_faults()
        self.listener = Listener(self._r, [self.keys.payload_prefix, self.keys.session_prefix,
                                           self.keys.fault_prefix],
                                 self.keys.events, self.cache, on_state=self._listener_state,
                                 on_offset=self._set_offset)
        if listen:
            self.listener.start()
            self.listener.ready.wait(CONNECT_TIMEOUT)

    # --- plumbing -------------------------------------------------------------

    def script(self, source: str) -> Any:
        """A Lua script. On Redis 7 (and Valkey) it carries a ``#!lua`` line: such a script is
        refused whole when Redis is out of memory or a read-only replica, instead of being
        allowed to go on writing after a first command that frees memory."""
        return self._r.register_script(("#!lua\n" if self._flagged else "") + source)

    @property
    def client(self) -> redis.Redis:
        """The shared client, for the modules that keep replica state beside the store."""
        return self._r

    @property
    def name(self) -> str:
        return self.url.masked

    def now(self) -> float:
        """Redis's time, as this host's clock plus the measured offset (or the test clock)."""
        if self._clock is not None:
            return self._clock()
        return time.time() + self._offset

    def script_now(self) -> str:
        """The ``now`` argument of a script: "" (Redis's own ``TIME``), or the test clock."""
        return repr(self._clock()) if self._clock is not None else ""

    def _measure_offset(self) -> float:
        before = time.time()
        seconds, micros = self._r.time()
        return seconds + micros / 1e6 - (before + time.time()) / 2

    def _set_offset(self, offset: float) -> None:
        self._offset = offset

    def _listener_state(self, up: bool) -> None:
        if up:
            self._down_until = 0.0

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Around every Redis call (here and in ``replicas/``): redis-py's errors become a
        ``StoreError`` naming the store; after a connection failure, fail at once a while."""
        if self._down_until and time.monotonic() < self._down_until:
            raise StoreError(f"store {self.url.masked} is unreachable; retrying shortly",
                             store=self.url.masked)
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._down_until = time.monotonic() + FAIL_FAST
            raise StoreError(f"store {self.url.masked} is unreachable: {reason(exc)}",
                             store=self.url.masked) from None
        except redis.RedisError as exc:
            raise StoreError(f"store {self.url.masked} refused the operation: {reason(exc)}",
                             store=self.url.masked) from None

    def health(self) -> StoreError | None:
        """A PING at most once a second; none while calls fail fast after a failure."""
        now = time.monotonic()
        if now >= self._health_until:
            try:
                with self.guard():
                    self._r.ping()
                self._health = None
            except StoreError as exc:
                self._health = exc
            self._health_until = time.monotonic() + HEALTH_EVERY
        return self._health

    def publish(self, kind: str, data: str) -> None:
        """Tell every replica on this prefix (``Listener.on_event`` handlers)."""
        with self.guard():
            self._r.publish(self.keys.events, f"{kind}:{data}")

    def close(self) -> None:
        self.listener.stop()
        self._r.close()

    # --- payloads -------------------------------------------------------------

    def put_global(self, partner: str, datapoint: str, body: bytes,
                   outcome: str | None = None, *, name: str = "",
                   content_type: str = JSON_TYPE, if_absent: bool = False) -> str | None:
        at = iso(self.now())
        key = self.keys.payload(partner, datapoint, name)
        args: list = [name, "1" if if_absent else "0", "body", body, "updated_at", at,
                      "ct", content_type]
        if outcome is not None:
            args += ["outcome", outcome]
        with self.guard():
            written = self._put_payload(keys=[key, self.keys.payload_names(partner, datapoint)],
                                        args=args)
        self.cache.invalidate([key])
        return at if written else None

    def get_global(self, partner: str, datapoint: str, name: str = "") -> Payload | None:
        key = self.keys.payload(partner, datapoint, name)
        cache = self.cache
        found = cache.data.get(key, _MISS)
        if found is not _MISS:
            return found
        generation = cache.generation
        with self.guard():
            row = self._r.hgetall(key)
        payload = _payload(row, name) if row else None
        cache.store(key, payload, generation)
        return payload

    def payload_names(self, partner: str, datapoint: str) -> list[str]:
        with self.guard():
            names = self._r.smembers(self.keys.payload_names(partner, datapoint))
        return sorted(n.decode() for n in names)

    # --- sessions -------------------------------------------------------------

    def create_session(self, partner: str, datapoint: str, body: bytes,
                       outcome: str | None = None, *, name: str = "",
                       content_type: str = JSON_TYPE) -> str:
        session_id = str(uuid.uuid4())
        created = self.now()
        key = self.keys.session(session_id)
        fields = {"p": partner, "dp": datapoint, "body": body, "created": repr(created),
                  "ct": content_type, "name": name}
        if outcome is not None:
            fields["outcome"] = outcome
        with self.guard():
            pipe = self._r.pipeline(transaction=True)
            pipe.hset(key, mapping=fields)
            if self.url.session_ttl:
                pipe.expire(key, self.url.session_ttl)
            pipe.zadd(self.keys.session_index, {session_id: int(created * 1e6)})
            pipe.execute()
        return session_id

    def open_session(self, session_id: str | None = None) -> str | None:
        """A session with no payload yet (a new id when None); None when the id is taken."""
        session_id = session_id or str(uuid.uuid4())
        created = self.now()
        key = self.keys.session(session_id)
        with self.guard():
            made = self._open_session(keys=[key, self.keys.session_index],
                                      args=[session_id, repr(created), self.url.session_ttl,
                                            int(created * 1e6)])
        self.cache.invalidate([key])
        return session_id if made else None

    def put_session_payload(self, session_id: str, partner: str, datapoint: str, body: bytes,
                            outcome: str | None = None, *, name: str = "",
                            content_type: str = JSON_TYPE) -> bool:
        """Set the session's payload for partner/datapoint (and name), in one script; False
        when there is no such session."""
        key = self.keys.session(session_id)
        with self.guard():
            done = self._put_session_payload(
                keys=[key], args=[partner, datapoint, name, body, outcome or "", content_type,
                                  iso(self.now()), f"{part(partner)}:{part(datapoint)}:"
                                                   f"{part(name)}"])
        self.cache.invalidate([key])
        return bool(done)

    def session_payload(self, session_id: str, partner: str, datapoint: str,
                        name: str = "", *, touch: bool = True) -> Payload | None:
        """The session's payload for partner/datapoint (and name), if it has one; with
        ``touch``, stamps ``last_used`` and restarts the session's TTL, at most once a
        second."""
        key = self.keys.session(session_id)
        cache = self.cache
        payloads = cache.data.get(key, _MISS)
        if payloads is _MISS:
            generation = cache.generation
            with self.guard():
                row = self._r.hgetall(key)
            payloads = _session_payloads(row) if row else None
            cache.store(key, payloads, generation)
        if payloads is None:
            return None
        payload = payloads.get((partner, datapoint, name))
        if payload is None:
            return None
        now = time.monotonic()
        if touch and now - self._stamped.get(session_id, -STAMP_EVERY) >= STAMP_EVERY:
            if len(self._stamped) > cache.limit:
                self._stamped.clear()
            self._stamped[session_id] = now
            try:
                with self.guard():
                    self._stamp(keys=[key], args=[iso(self.now()), self.url.session_ttl])
            except StoreError:
                pass  # a cached payload still answers; the stamp is tried again next second
        return payload

    def get_session(self, session_id: str) -> SessionRecord | None:
        with self.guard():
            row = self._r.hgetall(self.keys.session(session_id))
        return _session(session_id, row) if row else None

    def list_sessions(self, limit: int | None = None,
                      after: str | None = None) -> list[SessionRecord]:
        """Newest first (ties by id), a page at a time, in one script."""
        with self.guard():
            pairs = self._list_sessions(keys=[self.keys.session_index],
                                        args=[self.keys.session_prefix, after or "",
                                              -1 if limit is None else limit])
        return [_session(sid.decode(), dict(zip(row[::2], row[1::2], strict=True)))
                for sid, row in pairs]

    def count_sessions(self) -> int:
        with self.guard():
            return int(self._count_sessions(keys=[self.keys.session_index],
                                            args=[self.keys.session_prefix, "count"]))

    def delete_session(self, session_id: str) -> bool:
        key = self.keys.session(session_id)
        with self.guard():
            pipe = self._r.pipeline(transaction=True)
            pipe.delete(key)
            pipe.zrem(self.keys.session_index, session_id)
            deleted, _ = pipe.execute()
        self.cache.invalidate([key])
        return bool(deleted)

    def clear_sessions(self) -> int:
        with self.guard():
            count = int(self._count_sessions(keys=[self.keys.session_index],
                                             args=[self.keys.session_prefix, "clear"]))
        self.cache.invalidate(None)
        return count


def _payload(row: dict, name: str) -> Payload:
    outcome = row.get(b"outcome")
    return Payload(row[b"body"], row[b"updated_at"].decode(),
                   outcome.decode() if outcome is not None else None, row[b"ct"].decode(), name)


def _session_payloads(row: dict) -> dict[tuple[str, str, str], Payload]:
    """Every payload of a session by (partner, datapoint, name): the one it was made with
    (none for a session opened empty) and those put in for other datapoints."""
    text = _text({k: v for k, v in row.items() if k.startswith((b"p", b"dp", b"name", b"c",
                                                                 b"outcome"))})
    found: dict[tuple[str, str, str], Payload] = {}
    if text.get("p") or text.get("dp"):
        found[(text["p"], text["dp"], text.get("name", ""))] = Payload(
            row[b"body"], iso(float(text["created"])), text.get("outcome"), text["ct"],
            text.get("name", ""))
    for field, value in row.items():
        if field.startswith(b"xm:"):
            suffix = field[3:]
            at, outcome, content_type = json.loads(value)
            partner, datapoint, name = (unpart(p) for p in suffix.decode().split(":"))
            found[(partner, datapoint, name)] = Payload(row[b"xb:" + suffix], at,
                                                        outcome or None, content_type, name)
    return found


def _session(session_id: str, row: dict) -> SessionRecord:
    text = _text({k: v for k, v in row.items() if not k.startswith((b"body", b"x"))})
    return SessionRecord(session_id, text["p"], text["dp"], row[b"body"],
                         iso(float(text["created"])), text.get("last_used"), text.get("outcome"),
                         text["ct"], text.get("name", ""))


def _version(info: dict) -> tuple[int, ...]:
    text = str(info.get("redis_version", "0"))
    return tuple(int(p) for p in text.split(".")[:2] if p.isdigit())
