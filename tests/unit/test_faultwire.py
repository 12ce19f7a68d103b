"""The bytes the fault server sends for an answer sent badly, and the server that sends them."""

from __future__ import annotations

import asyncio

import h11

from imnot_proxy.faultserver import FaultServer
from imnot_proxy.faultwire import BAD_CHUNK, script
from imnot_proxy.messages import MockResponse

BODY = b'{"data":"0123456789abcdefghij"}'  # 31 bytes
MOCK = MockResponse(200, (("content-type", "application/json"), ("x-a", "1")), BODY)


def joined(steps) -> bytes:
    return b"".join(data for _, data in steps)


def test_truncated_promises_the_whole_body_and_sends_part():
    plan = script(MOCK, b"OK", "truncated", cut=10)
    head, _, body = joined(plan.steps).partition(b"\r\n\r\n")
    assert head.split(b"\r\n") == [b"HTTP/1.1 200 OK", b"content-type: application/json",
                                   b"x-a: 1", b"content-length: 31"]
    assert body == BODY[:10]
    assert not plan.raw_chunks


def test_truncated_default_is_half_and_always_short():
    assert joined(script(MOCK, b"OK", "truncated").steps).endswith(b"\r\n\r\n" + BODY[:15])
    empty = script(MockResponse(200, (), b""), b"OK", "truncated")
    assert b"content-length: 1\r\n" in joined(empty.steps)
    whole = script(MOCK, b"OK", "truncated", cut=100)
    assert b"content-length: 32\r\n" in joined(whole.steps)  # one more than sent


def test_malformed_chunk_carries_its_own_broken_framing():
    plan = script(MOCK, b"OK", "malformed_chunk", cut=5)
    assert plan.raw_chunks
    head, _, wrapped = joined(plan.steps).partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head and b"content-length" not in head
    # to mitmproxy: one valid chunk holding what the client gets as it is
    raw = b"5\r\n" + BODY[:5] + b"\r\n" + BAD_CHUNK
    assert wrapped == b"%x\r\n%s\r\n0\r\n\r\n" % (len(raw), raw)


def test_slow_body_in_pieces():
    plan = script(MOCK, b"OK", "latency", dribble=(8, 0.25))
    assert [wait for wait, _ in plan.steps] == [0.0, 0.0, 0.25, 0.25, 0.25]
    assert [len(data) for _, data in plan.steps[1:]] == [8, 8, 8, 7]
    assert joined(plan.steps).endswith(b"content-length: 31\r\n\r\n" + BODY)


def test_existing_framing_headers_are_replaced():
    mock = MockResponse(200, (("Content-Length", "999"), ("Transfer-Encoding", "gzip")), BODY)
    head = joined(script(mock, b"OK", "truncated").steps).partition(b"\r\n\r\n")[0]
    assert head.lower().count(b"content-length") == 1
    assert b"gzip" not in head


async def test_fault_server_plays_a_script_once_then_404():
    server = FaultServer()
    try:
        host, port = await server.ensure()
        assert host == "127.0.0.1"
        ticket = server.register(script(MOCK, b"OK", "truncated", cut=4))
        got = await _get(port, FaultServer.path(ticket), body=b"x" * 100_000)
        assert got == joined(script(MOCK, b"OK", "truncated", cut=4).steps)
        assert len(server) == 0
        again = await _get(port, FaultServer.path(ticket))
        assert again.startswith(b"HTTP/1.1 404")
    finally:
        server.close()


async def test_fault_server_takes_absolute_form_targets():
    server = FaultServer()
    try:
        _, port = await server.ensure()
        ticket = server.register(script(MOCK, b"OK", "latency"))
        got = await _get(port, f"http://api.partner.test{FaultServer.path(ticket)}")
        assert got.endswith(BODY)
    finally:
        server.close()


async def _get(port: int, target: str, body: bytes = b"") -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = h11.Connection(h11.CLIENT)
    method = "POST" if body else "GET"
    data = conn.send(h11.Request(method=method, target=target, headers=[
        ("host", "x"), ("content-length", str(len(body)))]))
    writer.write(data + body)
    await writer.drain()
    received = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return received
