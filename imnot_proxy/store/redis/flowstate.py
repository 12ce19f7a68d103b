"""Flow state in Redis: polling ids, callbacks and their delivery log, cursors, rate-limit
buckets and sequences. Each read-modify-write is one Lua script or one ``MULTI``."""

from __future__ import annotations

import json
import uuid
from typing import Any

from ...clock import iso
from ..base import CallbackRequest, Delivery, IssuedId
from .keys import COUNT_POLL, PUT_HASH, TAKE_TOKEN

CURSOR_GRACE = 60  # seconds a cursor's key outlives its TTL (the TTL itself is checked on read)


class FlowState:
    """Mixed into ``RedisStore``: uses its client, keys, clock, TTLs and guard."""

    _r: Any
    keys: Any
    url: Any

    def _scripts_for_flows(self) -> None:
        self._count_poll = self.script(COUNT_POLL)
        self._take_token = self.script(TAKE_TOKEN)
        self._put_hash_script = self.script(PUT_HASH)

    def _put_hash(self, key: str, ttl: int, fields: dict[str, Any], *,
                  index: tuple[str, str] | None = None) -> None:
        """A new hash and its TTL in one script: one round trip, never a hash without TTL;
        ``index`` (list key, item) also appends it to a list with the same TTL."""
        args: list[Any] = [ttl, index[1] if index else ""]
        for name, value in fields.items():
            args += (name, value)
        with self.guard():
            self._put_hash_script(keys=[key, index[0]] if index else [key], args=args)

    # --- polling ids ------------------------------------------------------------

    def issue_id(self, partner: str, datapoint: str, session_id: str | None,
                 outcome: str | None = None,
                 captured: dict[str, Any] | None = None) -> IssuedId:
        issued = IssuedId(str(uuid.uuid4()), partner, datapoint, session_id, self.now(), 0,
                          outcome, dict(captured or {}))
        fields = {"created": repr(issued.created), "polls": 0}
        if session_id is not None:
            fields["sess"] = session_id
        if outcome is not None:
            fields["outcome"] = outcome
        if captured:
            fields["cap"] = json.dumps(captured, separators=(",", ":"))
        self._put_hash(self.keys.issued(partner, datapoint, issued.id), self.url.id_ttl, fields)
        return issued

    def get_id(self, partner: str, datapoint: str, id: str) -> IssuedId | None:
        with self.guard():
            row = self._r.hgetall(self.keys.issued(partner, datapoint, id))
        return _issued(partner, datapoint, id, row, 0) if row else None

    def count_poll(self, partner: str, datapoint: str, id: str) -> IssuedId | None:
        """Count one status poll; the record returned holds the polls made *before* it."""
        with self.guard():
            flat = self._count_poll(keys=[self.keys.issued(partner, datapoint, id)])
        if not flat:
            return None
        return _issued(partner, datapoint, id, _pairs(flat), 1)

    # --- callbacks --------------------------------------------------------------

    def add_callback(self, partner: str, datapoint: str, session_id: str | None,
                     url: str, method: str, captured: dict[str, Any] | None = None,
                     payload_name: str = "") -> CallbackRequest:
        request = CallbackRequest(str(uuid.uuid4()), partner, datapoint, session_id, url, method,
                                  iso(self.now()), dict(captured or {}), payload_name)
        fields = {"url": url, "method": method, "created_at": request.created_at,
                  "pn": payload_name}
        if session_id is not None:
            fields["sess"] = session_id
        if captured:
            fields["cap"] = json.dumps(captured, separators=(",", ":"))
        index = None
        if session_id is not None:
            index = (self.keys.session_callbacks(session_id),
                     json.dumps([partner, datapoint, request.id]))
        self._put_hash(self.keys.callback(partner, datapoint, request.id), self.url.callback_ttl,
                       fields, index=index)
        return request

    def get_callback(self, partner: str, datapoint: str, id: str) -> CallbackRequest | None:
        with self.guard():
            row = self._r.hgetall(self.keys.callback(partner, datapoint, id))
        return _callback(partner, datapoint, id, row) if row else None

    def list_callbacks(self, session_id: str) -> list[CallbackRequest]:
        """A session's callbacks, oldest first (those expired are left out)."""
        with self.guard():
            items = [json.loads(i) for i in
                     self._r.lrange(self.keys.session_callbacks(session_id), 0, -1)]
            pipe = self._r.pipeline(transaction=False)
            for partner, datapoint, id in items:
                pipe.hgetall(self.keys.callback(partner, datapoint, id))
            rows = pipe.execute() if items else []
        return [_callback(p, dp, id, row) for (p, dp, id), row in zip(items, rows, strict=True)
                if row]

    def log_delivery(self, request_id: str, attempt: int, status: int | None,
                     error: str | None) -> None:
        key = self.keys.deliveries(request_id)
        entry = json.dumps([attempt, iso(self.now()), status, error])
        with self.guard():
            pipe = self._r.pipeline(transaction=True)
            pipe.rpush(key, entry)
            if self.url.callback_ttl:
                pipe.expire(key, self.url.callback_ttl)
            pipe.execute()

    def deliveries(self, request_id: str) -> list[Delivery]:
        with self.guard():
            rows = self._r.lrange(self.keys.deliveries(request_id), 0, -1)
        return [Delivery(request_id, *json.loads(row)) for row in rows]

    # --- cursors ------------------------------------------------------------------

    def add_cursor(self, partner: str, datapoint: str, session_id: str | None,
                   offset: int, ttl_seconds: int) -> str:
        cursor = str(uuid.uuid4())
        fields = {"p": partner, "dp": datapoint, "off": offset}
        if session_id is not None:
            fields["sess"] = session_id
        if ttl_seconds > 0:
            fields["exp"] = repr(self.now() + ttl_seconds)
        self._put_hash(self.keys.cursor(cursor),
                       ttl_seconds + CURSOR_GRACE if ttl_seconds > 0 else 0, fields)
        return cursor

    def get_cursor(self, partner: str, datapoint: str, session_id: str | None,
                   cursor: str) -> int | None:
        with self.guard():
            row = self._r.hgetall(self.keys.cursor(cursor))
        if not row:
            return None
        text = _text(row)
        if (text["p"], text["dp"], text.get("sess")) != (partner, datapoint, session_id):
            return None
        if "exp" in text and float(text["exp"]) < self.now():
            return None
        return int(text["off"])

    # --- rate limits and counters ---------------------------------------------------

    def take_token(self, key: str, per_minute: int) -> float:
        """Take one token from the bucket; 0 when allowed, else seconds until one is free.
        Refill is timed by Redis's clock, so every replica spends the same bucket."""
        with self.guard():
            wait = self._take_token(keys=[self.keys.bucket(key)],
                                    args=[self.script_now(), per_minute])
        return float(wait)

    def next_sequence(self, key: str) -> int:
        with self.guard():
            return int(self._r.incr(self.keys.sequence(key)))


def _pairs(flat: list) -> dict:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _text(row: dict) -> dict[str, str]:
    return {k.decode(): v.decode("utf-8", "surrogateescape") for k, v in row.items()}


def _captured(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


def _callback(partner: str, datapoint: str, id: str, row: dict) -> CallbackRequest:
    text = _text(row)
    return CallbackRequest(id, partner, datapoint, text.get("sess"), text["url"],
                           text["method"], text["created_at"], _captured(text.get("cap")),
                           text.get("pn", ""))


def _issued(partner: str, datapoint: str, id: str, row: dict, counted: int) -> IssuedId:
    text = _text(row)
    return IssuedId(id, partner, datapoint, text.get("sess"), float(text["created"]),
                    int(text["polls"]) - counted, text.get("outcome"),
                    _captured(text.get("cap")))
