"""Faults of callback deliveries (``engine/callback_faults.py``): later, never, twice, and
after the next one, decided per delivery and counted like request faults."""

from __future__ import annotations

import asyncio
import json

import pytest

from imnot_proxy.engine import Engine, EngineSettings
from imnot_proxy.engine import callback as callback_module
from imnot_proxy.engine.callback_faults import HOLDBACK, Holdback
from imnot_proxy.messages import CIHeaders, RequestView

PARTNER = """
    partner: hooks
    datapoints:
      - name: export
        pattern: callback
        endpoints:
          - method: POST
            path: /export
            response: {callback_url_field: url, callback_retries: 0}
            faults: [{kind: callback_duplicate, times: 3, when: {first: 1}}]
      - name: quiet
        pattern: callback
        faults: [{kind: callback_drop, when: {every: 2}}]
        endpoints:
          - {method: POST, path: /quiet, response: {callback_url_field: url}}
      - name: late
        pattern: callback
        endpoints:
          - {method: POST, path: /late, response: {callback_url_field: url}}
    """


@pytest.fixture
def hooks(tmp_path, store, clock, load_text, monkeypatch):
    """An engine whose callback jobs are collected, and a fake delivery that records."""
    loaded = load_text(PARTNER, tmp_path)
    jobs: list = []
    delivered: list[str] = []

    async def deliver(store_, request, retries, shape=None):
        delivered.append(request.id)
        return True

    monkeypatch.setattr(callback_module, "deliver", deliver)
    engine = Engine(loaded.partners, store, EngineSettings(dispatch=jobs.append, clock=clock))
    for dp in ("export", "quiet", "late"):
        store.put_global("hooks", dp, b"{}")

    def submit(path: str, session: str | None = None):
        body = json.dumps({"url": "http://127.0.0.1:9/hook"}).encode()
        outcome = engine.handle(RequestView("POST", path, headers=CIHeaders(), body=body,
                                            session=session))
        assert outcome.response.status == 202
        return jobs.pop()

    return engine, submit, delivered


async def test_duplicate_the_first_delivery_only(hooks):
    _, submit, delivered = hooks
    first, second = submit("/export"), submit("/export")
    await first.run()
    await second.run()
    assert delivered == [first.request.id] * 3 + [second.request.id]


async def test_drop_every_second_delivery_and_log_it(hooks, store):
    _, submit, delivered = hooks
    jobs = [submit("/quiet") for _ in range(4)]
    for job in jobs:
        await job.run()
    assert delivered == [jobs[0].request.id, jobs[2].request.id]
    log = store.deliveries(jobs[1].request.id)
    assert [(d.attempt, d.status) for d in log] == [(0, None)]
    assert log[0].error.startswith("dropped (imnot fault callback drop")


async def test_out_of_order_is_delivered_after_the_next_one(hooks, store, clock):
    _, submit, delivered = hooks
    store.add_fault("hooks", "s1", json.dumps({
        "kind": "callback_out_of_order", "datapoint": "late", "hold_seconds": 5,
        "when": {"first": 1}}).encode(), None)
    held, later = submit("/late", "s1"), submit("/late", "s1")
    waiting = asyncio.ensure_future(held.run())
    await asyncio.sleep(0)
    assert len(HOLDBACK) == 1 and delivered == []
    await later.run()
    await asyncio.wait_for(waiting, 5)
    assert delivered == [later.request.id, held.request.id]
    assert len(HOLDBACK) == 0


async def test_runtime_callback_delay_for_one_session(hooks, store, monkeypatch):
    _, submit, delivered = hooks
    store.add_fault("hooks", "s1", json.dumps({"kind": "callback_delay", "ms": 1500,
                                               "datapoint": "late"}).encode(), None)
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    await submit("/late", "s1").run()
    await submit("/late", "s2").run()
    assert slept == [1.5]
    assert len(delivered) == 2


async def test_holdback_times_out_and_cleans_up():
    holdback = Holdback()
    assert await holdback.hold(("p", "d", None), 0.01) is False
    assert len(holdback) == 0
    holdback.release(("p", "d", None))  # nothing held: nothing happens
