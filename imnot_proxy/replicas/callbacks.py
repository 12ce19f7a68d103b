"""Delayed callbacks that every replica can deliver, and exactly one does.

A callback accepted by any replica becomes a member of a due set in Redis (scored
by the time it is due). Every replica polls the set; a claim (one Lua script) moves
due members to a lease set, scored by when the lease ends, so no other replica
takes them. Delivery ends with an acknowledgement that removes the lease. A lease
that runs out (its replica died or hung mid-delivery) goes back to the due set
and another replica takes it over; the lease is longer than the slowest delivery
(every attempt's timeout plus the backoffs), so a live replica is never overtaken.
The replica that accepted a callback also wakes its poller at the due time, so the
delay is exact there and at most ``POLL_EVERY`` late elsewhere. A callback fault (delay,
drop, duplicate, out of order) is decided by the accepting replica, with the counters every
replica shares, and travels in the member for whichever replica delivers it; its lease
covers the time the fault adds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ..engine import callback_faults
from ..engine.callback import BACKOFF_SECONDS, TIMEOUT_SECONDS, DeliveryJob, deliver
from ..errors import StoreError
from ..store.redis import RedisStore
from ..store.redis.keys import NOW

logger = logging.getLogger("imnot_proxy")

POLL_EVERY = 0.25  # seconds between two looks at the due set
CLAIM_AT_ONCE = 16

# KEYS: due, leases. ARGV: now, how many. Expired leases go back to due first.
CLAIM = NOW + """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, m in ipairs(expired) do
  redis.call('ZREM', KEYS[2], m)
  redis.call('ZADD', KEYS[1], now, m)
end
local jobs = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(jobs) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZADD', KEYS[2], now + cjson.decode(m).lease, m)
end
return jobs
"""


def lease_seconds(retries: int) -> float:
    """Longer than the slowest delivery: every attempt times out, every backoff is waited."""
    backoffs = sum(BACKOFF_SECONDS * 2 ** i for i in range(retries))
    return TIMEOUT_SECONDS * (retries + 1) + backoffs + 5.0


class CallbackQueue:
    def __init__(self, store: RedisStore, *,
                 deliver_fn: Callable[..., Awaitable[bool]] = deliver):
        self.store = store
        self.due = store.keys.named("cb:due")
        self.leases = store.keys.named("cb:lease")
        self._claim = store.script(CLAIM)
        self._deliver = deliver_fn
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failing = False

    def dispatch(self, job: DeliveryJob) -> None:
        """Queue a delivery (any thread); raises StoreError when Redis cannot take it."""
        request = job.request
        fields: dict[str, Any] = {"p": request.partner, "dp": request.datapoint,
                                  "id": request.id, "retries": job.retries,
                                  "lease": lease_seconds(job.retries), "n": uuid.uuid4().hex[:8]}
        fault = job.fault(request.partner, request.datapoint, request.session_id) \
            if job.fault is not None else None
        if fault is not None:
            fields["f"] = callback_faults.to_wire(fault)
            fields["lease"] = (lease_seconds(job.retries) * callback_faults.deliveries(fault)
                               + callback_faults.added_seconds(fault))
        member = json.dumps(fields, separators=(",", ":"))
        with self.store.guard():
            self.store.client.zadd(self.due, {member: self.store.now() + job.delay})
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.call_later, max(0.0, job.delay), self._poke)

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def claim(self) -> list[dict[str, Any]]:
        with self.store.guard():
            members = self._claim(keys=[self.due, self.leases],
                                  args=[self.store.script_now(), CLAIM_AT_ONCE])
        return [dict(json.loads(m), member=m) for m in members]

    def ack(self, member: bytes) -> None:
        with self.store.guard():
            self.store.client.zrem(self.leases, member)

    async def run(self, spawn: Callable[[Any, str], Any]) -> None:
        """Poll forever (until cancelled); each claimed job is delivered in its own task."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while True:
            try:
                jobs = await asyncio.to_thread(self.claim)
                if self._failing:
                    logger.warning("imnot_proxy: callback queue reachable again")
                self._failing = False
            except StoreError as exc:
                if not self._failing:
                    logger.warning("imnot_proxy: callback queue unreachable: %s", exc)
                self._failing = True
                jobs = []
            for job in jobs:
                spawn(self._deliver_one(job), "imnot callback")
            if len(jobs) < CLAIM_AT_ONCE:
                try:
                    await asyncio.wait_for(self._wake.wait(), POLL_EVERY)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def _deliver_one(self, job: dict[str, Any]) -> None:
        try:
            request = await asyncio.to_thread(self.store.get_callback, job["p"], job["dp"],
                                              job["id"])
            if request is None:
                logger.warning("callback %s expired before its delivery", job["id"])
            elif job.get("f"):
                await callback_faults.run(DeliveryJob(self.store, request, int(job["retries"]),
                                                      0.0), callback_faults.from_wire(job["f"]),
                                          self._deliver)
            else:
                await self._deliver(self.store, request, int(job["retries"]))
                callback_faults.delivered(request)
            await asyncio.to_thread(self.ack, job["member"])
        except StoreError as exc:  # the lease runs out and another replica takes over
            logger.warning("callback %s: store unreachable, left for the next claim: %s",
                           job["id"], exc)
