"""Faults set at run time, and the request counters of every fault, in Redis.

Every fault of a prefix is one field of one hash (``ft:all``), so that the listener's key
tracking invalidates the in-process list of faults in force the moment any replica adds,
deletes or clears one, as it does for payloads: the hot path (``active_faults``) reads no
Redis while nothing changed and no fault expired. A field's value is a JSON head
``[n, partner, session, created, expires]`` (``n`` orders faults set within one clock
tick), a newline, then the spec as the admin API stored it.

The counters of a fault (``count_fault("<fault key>|<scope>")``) are fields of one hash per
fault key (``fc:<fault key>``), so that deleting a fault drops its counters with one
``DEL``; they are not tracked (a counted request changes them), and each count is one
script: the number and the time of the first request, atomically on every replica.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from ..base import FaultRecord
from .keys import NOW

# KEYS: faults, sequence. ARGV: now, id, the value after its "[n," (head rest + spec),
# counter key prefix. Drops expired faults (and their counters) first.
ADD_FAULT = NOW + """
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local head = cjson.decode(string.match(all[i + 1], '^[^\\n]*'))
  if head[5] ~= cjson.null and head[5] <= now then
    redis.call('HDEL', KEYS[1], all[i])
    redis.call('DEL', ARGV[4] .. all[i])
  end
end
local n = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[2], '[' .. n .. ',' .. ARGV[3])
return n
"""

# KEYS: faults. ARGV: session ("" for all of them), counter key prefix. Returns how many.
CLEAR_FAULTS = """
local all = redis.call('HGETALL', KEYS[1])
local count = 0
for i = 1, #all, 2 do
  local head = cjson.decode(string.match(all[i + 1], '^[^\\n]*'))
  if ARGV[1] == '' or head[3] == ARGV[1] then
    redis.call('HDEL', KEYS[1], all[i])
    redis.call('DEL', ARGV[2] .. all[i])
    count = count + 1
  end
end
return count
"""

# KEYS: the counter hash. ARGV: now, the scope. Returns {n, time of the first as text}.
COUNT_FAULT = NOW + """
local n = redis.call('HINCRBY', KEYS[1], ARGV[2] .. '#n', 1)
if n == 1 then
  redis.call('HSET', KEYS[1], ARGV[2] .. '#t', string.format('%.17g', now))
end
return {n, redis.call('HGET', KEYS[1], ARGV[2] .. '#t')}
"""

_MISS = object()


class FaultHashes:
    """Mixed into ``RedisStore``: uses its client, keys, clock, cache and guard."""

    _r: Any
    keys: Any
    cache: Any
    _last_faults: tuple[FaultRecord, ...] = ()

    if TYPE_CHECKING:  # provided by RedisStore
        script: Callable[[str], Any]
        now: Callable[[], float]
        script_now: Callable[[], str]
        guard: Callable[[], AbstractContextManager[None]]

    def _scripts_for_faults(self) -> None:
        self._add_fault = self.script(ADD_FAULT)
        self._clear_faults = self.script(CLEAR_FAULTS)
        self._count_fault = self.script(COUNT_FAULT)

    def add_fault(self, partner: str, session_id: str | None, spec: bytes,
                  expires_at: float | None) -> FaultRecord:
        record = FaultRecord(uuid.uuid4().hex[:12], partner, session_id, spec,
                             self.now(), expires_at)
        head = json.dumps([partner, session_id, record.created_at, expires_at])[1:]
        with self.guard():
            self._add_fault(keys=[self.keys.faults, self.keys.fault_sequence],
                            args=[repr(record.created_at), record.id,
                                  head.encode() + b"\n" + spec, self.keys.fault_counters])
        self.cache.invalidate([self.keys.faults])
        return record

    def list_faults(self, session_id: str | None = None) -> list[FaultRecord]:
        faults = self._read_faults()[0]
        return [f for f in faults if session_id is None or f.session_id == session_id]

    def active_faults(self) -> tuple[FaultRecord, ...]:
        found = self.cache.data.get(self.keys.faults, _MISS)
        if found is not _MISS and (found[1] == math.inf
                                   or self.now() < found[1]):
            return found[0]  # the hot path: no Redis while nothing changed
        generation = self.cache.generation
        faults, until = self._read_faults()
        if faults == self._last_faults:
            faults = self._last_faults  # the same object: users index it once
        self._last_faults = faults
        self.cache.store(self.keys.faults, (faults, until), generation)
        return faults

    def delete_fault(self, fault_id: str) -> bool:
        with self.guard():
            pipe = self._r.pipeline(transaction=True)
            pipe.hdel(self.keys.faults, fault_id)
            pipe.delete(self.keys.fault_counters + fault_id)
            deleted, _ = pipe.execute()
        self.cache.invalidate([self.keys.faults])
        return bool(deleted)

    def clear_faults(self, session_id: str | None = None) -> int:
        with self.guard():
            count = self._clear_faults(keys=[self.keys.faults],
                                       args=[session_id or "", self.keys.fault_counters])
        self.cache.invalidate([self.keys.faults])
        return int(count)

    def count_fault(self, key: str) -> tuple[int, float]:
        head, _, scope = key.partition("|")
        with self.guard():
            n, first = self._count_fault(keys=[self.keys.fault_counters + head],
                                         args=[self.script_now(), scope])
        return int(n), float(first)

    def _read_faults(self) -> tuple[tuple[FaultRecord, ...], float]:
        """The faults in force, oldest first, and when the first of them expires."""
        with self.guard():
            rows = self._r.hgetall(self.keys.faults)
        now = self.now()
        found = []
        for fault_id, value in rows.items():
            text, _, spec = value.partition(b"\n")
            n, partner, session, created, expires = json.loads(text)
            if expires is None or expires > now:
                found.append((created, n, FaultRecord(fault_id.decode(), partner, session,
                                                      spec, created, expires)))
        found.sort(key=lambda row: row[:2])
        faults = tuple(row[2] for row in found)
        until = min((f.expires_at for f in faults if f.expires_at is not None),
                    default=math.inf)
        return faults, until
