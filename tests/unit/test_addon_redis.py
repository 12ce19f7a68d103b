"""The addon on a Redis store, under mitmproxy's test context: the store, journal and
callback dispatch are the shared ones; a Redis that goes away makes stateful mocks answer
503 naming the store, leaves other traffic alone, and is followed by recovery."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from mitmproxy import exceptions, http
from mitmproxy.test import tflow
from redis_server import RedisServer

from imnot_proxy import replicas
from imnot_proxy.addon import ImnotProxy, StoreOptionsError

CHARGES = "http://api.bookingco.example/bookingco/v1/charges?propertyId=P1"
STATIC = "http://api.bookingco.example/bookingco/v1/oauth/token"


def make_flow(method: str, url: str, body: bytes = b"") -> http.HTTPFlow:
    return tflow.tflow(req=http.Request.make(method, url, body, {}))


@pytest.fixture
def own_redis(tmp_path: Path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.shutdown()


async def test_stateful_mocks_answer_503_naming_the_store_until_redis_is_back(
        partners_dir: Path, own_redis: RedisServer, addon_context):
    addon = ImnotProxy()
    url = f"{own_redis.url}?prefix=addon"
    with addon_context(addon) as tctx:
        tctx.configure(addon, imnot_partners=[str(partners_dir)], imnot_db=url,
                       imnot_replica="unit")
        assert isinstance(addon.replication, replicas.Shared)
        assert addon.journal is addon.replication.journal
        addon.admin.service.set_payload("bookingco", "charges", b'{"charges": []}')
        flow = make_flow("GET", CHARGES)
        await tctx.cycle(addon, flow)
        assert flow.response.status_code == 200

        own_redis.stop()
        deadline = time.monotonic() + 5  # the payload is cached until the listener notices
        while addon.store.cache.enabled and time.monotonic() < deadline:
            time.sleep(0.01)
        flow = make_flow("GET", CHARGES + "&again=1")
        await tctx.cycle(addon, flow)
        assert flow.response.status_code == 503
        body = json.loads(flow.response.content)
        assert body["store"] == url and "unreachable" in body["detail"]
        assert flow.response.headers["Retry-After"] == "1"
        other = make_flow("GET", "http://example.org/not-a-partner")
        await tctx.cycle(addon, other)
        assert other.response is None  # passes through untouched

        own_redis.start()
        deadline = time.monotonic() + 10
        while True:
            flow = make_flow("GET", CHARGES)
            await tctx.cycle(addon, flow)
            if flow.response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert flow.response.status_code == 200
        addon.done()


async def test_a_store_that_cannot_be_opened_is_an_options_error_without_the_password(
        partners_dir: Path, addon_context):
    addon = ImnotProxy()
    with addon_context(addon) as tctx:
        with pytest.raises(StoreOptionsError) as raised:
            tctx.configure(addon, imnot_partners=[str(partners_dir)],
                           imnot_db="redis://:topsecret@127.0.0.1:1/0")
        assert isinstance(raised.value, exceptions.OptionsError)
        assert "redis://:****@127.0.0.1:1/0" in str(raised.value)
        assert "topsecret" not in str(raised.value)
