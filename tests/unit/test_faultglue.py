"""The addon with faults under mitmproxy's test context: what ``request`` returns, what it
leaves on the flow, and the stream hook that appears only once a fault streams."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mitmproxy import http
from mitmproxy.test import tflow

from imnot_proxy.addon import ImnotProxy
from imnot_proxy.faultglue import FaultStreams, raw_body

PARTNER = """\
partner: chaos
hosts: [api.chaos.test]
datapoints:
  - name: plain
    pattern: static
    endpoints:
      - {method: GET, path: /now, faults: [{kind: status, status: 503, when: {first: 1}}],
         response: {body: {now: true}}}
      - {method: GET, path: /late, latency: 1, response: {body: {late: true}}}
      - {method: GET, path: /cut, faults: [{kind: truncated, bytes: 3}],
         response: {body: {cut: "0123456789"}}}
      - {method: GET, path: /gone, faults: [{kind: empty_reply}]}
      - {method: GET, path: /wait, faults: [{kind: hang, max_seconds: 30}]}
"""


@pytest.fixture
async def proxy(tmp_path: Path, addon_context):
    (tmp_path / "partners").mkdir()
    (tmp_path / "partners" / "chaos.yaml").write_text(PARTNER)
    addon = ImnotProxy()
    with addon_context(addon) as tctx:
        tctx.configure(addon, imnot_partners=[str(tmp_path / "partners")],
                       imnot_db=str(tmp_path / "imnot.db"))
        yield addon, tctx
        addon.done()


def flow_for(path: str, session: str | None = None) -> http.HTTPFlow:
    request = http.Request.make("GET", f"http://api.chaos.test{path}")
    if session:
        request.headers["X-Imnot-Session"] = session
    return tflow.tflow(req=request, client_conn=tflow.tclient_conn())


async def test_a_fault_without_waiting_is_answered_in_the_hook(proxy):
    addon, _ = proxy
    flow = flow_for("/now", "s1")
    assert addon.request(flow) is None
    assert flow.response.status_code == 503
    assert flow.comment == "imnot fault 503 chaos/plain (session s1, 1st of 1)"
    meta = flow.metadata["imnot"]
    assert (meta["kind"], meta["fault"]["kind"], meta["fault"]["label"]) == (
        "fault", "status", "503")
    assert addon.journal.latest(1)[0].kind == "fault"
    again = flow_for("/now", "s1")
    addon.request(again)
    assert again.response.status_code == 200 and not again.metadata["imnot"].get("fault")


async def test_a_delay_is_a_coroutine_for_this_flow_alone(proxy):
    addon, _ = proxy
    flow = flow_for("/late")
    waiting = addon.request(flow)
    assert waiting is not None and flow.response is None
    await waiting
    assert flow.response.status_code == 200
    assert json.loads(flow.response.content) == {"late": True}
    assert flow.comment == "imnot mock chaos/plain · latency 1 ms"


async def test_empty_reply_kills_the_flow(proxy):
    addon, _ = proxy
    flow = flow_for("/gone")
    assert addon.request(flow) is None
    assert flow.response is None and flow.error.msg == "Connection killed."
    assert flow.comment == "imnot fault empty reply chaos/plain"


async def test_a_hang_ends_when_the_client_has_gone(proxy):
    addon, _ = proxy
    flow = flow_for("/wait")
    flow.client_conn.state = flow.client_conn.state.CLOSED  # the client gave up
    await addon.request(flow)
    assert flow.error.msg == "Connection killed."


async def test_stream_hook_appears_with_the_first_streamed_fault(proxy):
    addon, tctx = proxy
    assert tctx.master.addons.get("faultstreams") is None
    await addon.request(flow_for("/late"))  # a delay alone needs no stream
    assert tctx.master.addons.get("faultstreams") is None
    flow = flow_for("/cut")
    await addon.request(flow)
    hook = tctx.master.addons.get("faultstreams")
    assert isinstance(hook, FaultStreams) and hook.glue is addon.faults
    host, port = addon.faults.server.address
    assert (flow.request.host, flow.request.port, flow.server_conn.address) == (
        host, port, (host, port))
    assert flow.response is None and flow.comment == "imnot fault truncated chaos/plain"
    flow.response = http.Response.make(200, b"")
    hook.responseheaders(flow)  # what mitmproxy calls when the fault server answers
    assert flow.request.url == "http://api.chaos.test/cut"
    assert flow.response.stream is True
    assert addon.journal.latest(1)[0].note == "imnot fault truncated chaos/plain"


def test_raw_body_turns_chunk_framing_off():
    response = http.Response.make(200, b"", {"transfer-encoding": "chunked"})
    stream = raw_body(response)
    assert stream(b"5\r\nhello") == b"5\r\nhello"
    assert "transfer-encoding" not in response.headers
