"""Faults of callback deliveries: later, never, twice, or after the next one.

``run`` delivers one callback request the way its ``Injection`` says. A delivery held back
(``callback_out_of_order``) waits in ``HOLDBACK`` until another delivery of the same partner,
datapoint and session was made, or its ``hold_seconds`` passed; every delivery, faulted or
not, releases the ones held for its key when it is done (``delivered``). On a shared store
the fault is decided where the callback was accepted and travels with it in the replicas'
queue (``to_wire``/``from_wire``), so any replica delivers it as decided.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..schema.faults import FAULT, MAX_DELAY_MS, MAX_HOLD_SECONDS
from ..store import CallbackRequest, Store
from .faults import Injection

logger = logging.getLogger(__name__)

Deliver = Callable[[Store, CallbackRequest, int, Any], Awaitable[bool]]
Key = tuple[str, str, str | None]


class Holdback:
    """Deliveries held back until the next delivery for the same key."""

    def __init__(self) -> None:
        self._held: dict[Key, list[asyncio.Future]] = {}

    async def hold(self, key: Key, seconds: float) -> bool:
        """Wait for ``release(key)``; False when ``seconds`` passed first."""
        waiter = asyncio.get_running_loop().create_future()
        self._held.setdefault(key, []).append(waiter)
        try:
            await asyncio.wait_for(waiter, seconds)
            return True
        except TimeoutError:
            return False
        finally:
            waiting = self._held.get(key, [])
            if waiter in waiting:
                waiting.remove(waiter)
            if not waiting:
                self._held.pop(key, None)

    def release(self, key: Key) -> None:
        for waiter in self._held.pop(key, ()):
            if not waiter.done():
                waiter.set_result(None)

    def __len__(self) -> int:
        return sum(len(w) for w in self._held.values())


HOLDBACK = Holdback()


def key_of(request: CallbackRequest) -> Key:
    return (request.partner, request.datapoint, request.session_id)


def delivered(request: CallbackRequest) -> None:
    HOLDBACK.release(key_of(request))


async def run(job: Any, fault: Injection, deliver: Deliver) -> None:
    """Deliver ``job`` (a ``callback.DeliveryJob``) as ``fault`` says."""
    request: CallbackRequest = job.request
    logger.info("imnot fault %s: callback %s for %s/%s to %s (%s)", fault.label, request.id,
                request.partner, request.datapoint, request.url, ", ".join(fault.notes))
    spec = fault.spec
    if fault.kind == "callback_drop":
        job.store.log_delivery(request.id, 0, None, f"dropped (imnot fault {fault.label})")
        return
    if fault.kind == "callback_out_of_order":
        released = await HOLDBACK.hold(key_of(request), min(spec.hold_seconds, MAX_HOLD_SECONDS))
        logger.info("imnot fault: callback %s %s", request.id,
                    "delivered after the next one" if released else "held back until its limit")
    delay = job.delay + fault.delay
    if delay > 0:
        await asyncio.sleep(delay)
    times = spec.times if fault.kind == "callback_duplicate" else 1
    for attempt in range(times):
        if attempt and spec.gap_ms:
            await asyncio.sleep(min(spec.gap_ms, MAX_DELAY_MS) / 1000)
        await deliver(job.store, request, job.retries, job.shape)
    delivered(request)


def to_wire(fault: Injection) -> dict[str, Any]:
    """A decided callback fault as JSON, for the replicas' callback queue."""
    spec = fault.spec.model_dump(mode="json") if fault.spec is not None else None
    return {"kind": fault.kind, "delay": fault.delay, "label": fault.label,
            "notes": list(fault.notes), "spec": spec}


def from_wire(data: dict[str, Any]) -> Injection:
    spec = FAULT.validate_python(data["spec"]) if data.get("spec") is not None else None
    return Injection(data["kind"], float(data["delay"]), label=data["label"],
                     notes=tuple(data["notes"]), spec=spec)


def deliveries(fault: Injection) -> int:
    """How many deliveries the fault makes of one callback request."""
    return fault.spec.times if fault.kind == "callback_duplicate" else 1


def added_seconds(fault: Injection) -> float:
    """The most time the fault adds to a delivery besides the deliveries themselves."""
    spec = fault.spec
    held = min(spec.hold_seconds, MAX_HOLD_SECONDS) if fault.kind == "callback_out_of_order" \
        else 0.0
    gaps = (deliveries(fault) - 1) * min(spec.gap_ms, MAX_DELAY_MS) / 1000 \
        if fault.kind == "callback_duplicate" else 0.0
    return fault.delay + held + gaps
