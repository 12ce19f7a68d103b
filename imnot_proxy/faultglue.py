"""The mitmproxy side of faults: waiting, hanging, resetting, closing, and answering through a
response stream.

``FaultGlue.inject`` takes over a flow whose outcome carries an ``Injection``; the addon's
``request`` hook returns what it returns. A fault that needs no waiting is done at once;
anything else is a coroutine that mitmproxy awaits for that flow alone, so a delay or a hang
never holds up another flow. On the wire:

- latency: nothing for the delay, then the answer; ``hang``: nothing, then a close (FIN)
  after ``max_seconds``, or sooner when the client closes first;
- ``status``: that answer; ``empty_reply``: a close (FIN) without a response;
- ``reset``: a TCP RST (``SO_LINGER`` 0 on the client socket, which is then aborted);
- ``truncated``, ``malformed_chunk`` and slow bodies: the request is sent to the local
  ``FaultServer``, which plays the bytes of ``faultwire.script``; mitmproxy streams them on
  (``FaultStreams`` turns streaming on and puts the request back as it was).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from mitmproxy import connection, ctx, http

from . import faultwire, flows
from .engine import Forward, Mocked, Record
from .faultserver import FaultServer
from .messages import MockResponse, RequestView

logger = logging.getLogger("imnot_proxy")

WATCH_EVERY = 0.5  # seconds between two looks at the client while a flow waits
Journal = Callable[[http.HTTPFlow, str, str | None, float], None]


@dataclass(frozen=True)
class Detour:
    """A request sent to the fault server, and what to put back when its answer starts."""

    ticket: str
    scheme: str
    host: str
    port: int
    path: str
    raw_chunks: bool
    comment: str
    started: float


class FaultGlue:
    def __init__(self, journal: Journal, upstream_login: Callable[[], str | None]):
        self.server = FaultServer()
        self._journal = journal
        self._upstream_login = upstream_login
        self._detours: dict[str, Detour] = {}
        self._warned_reset = False

    def inject(self, flow: http.HTTPFlow, view: RequestView, outcome: Mocked | Forward | Record,
               started: float) -> Coroutine[Any, Any, None] | None:
        fault = outcome.fault
        assert fault is not None
        if not fault.delay and not fault.streamed and fault.kind in (
                "status", "reset", "empty_reply"):
            self._finish(flow, view, outcome, started)
            return None
        return self._run(flow, view, outcome, started)

    def close(self) -> None:
        self.server.close()
        self._detours.clear()

    async def _run(self, flow: http.HTTPFlow, view: RequestView,
                   outcome: Mocked | Forward | Record, started: float) -> None:
        fault = outcome.fault
        assert fault is not None
        try:
            if fault.delay and not await _wait(flow, fault.delay):
                meta, comment = describe(outcome, view)  # the client gave up: nothing to send
                flow.metadata["imnot"] = meta
                flow.comment = f"{comment} · the client left during the delay"
                self._journal(flow, meta["kind"], flow.comment, started)
                return
            if fault.kind == "hang":
                await _wait(flow, fault.hang)
            if fault.streamed and isinstance(outcome, Mocked) and view.method != "HEAD":
                await self._detour(flow, view, outcome, started)
            else:
                self._finish(flow, view, outcome, started)
        except Exception as exc:  # noqa: BLE001 - fail closed, as the addon's request() does
            logger.exception("imnot_proxy error injecting %s", fault.label, exc_info=exc)
            flows.answer(flow, MockResponse(500, (), f"imnot_proxy error: {exc}".encode()),
                         {"kind": "error", "error": str(exc)})

    # --- answers of our own ---------------------------------------------------------------

    def _finish(self, flow: http.HTTPFlow, view: RequestView,
                outcome: Mocked | Forward | Record, started: float) -> None:
        fault = outcome.fault
        assert fault is not None
        meta, comment = describe(outcome, view)
        flow.comment = comment
        if fault.kind == "status":
            assert fault.response is not None
            flows.answer(flow, outcome.response if isinstance(outcome, Mocked)
                         else fault.response, meta)
        elif fault.replaces_answer:  # reset, empty_reply, hang
            flow.metadata["imnot"] = meta
            if fault.kind == "reset" and not reset_client(flow) and not self._warned_reset:
                self._warned_reset = True
                logger.warning("imnot_proxy: this client connection cannot be reset; "
                               "closing it instead")
            if flow.killable:
                flow.kill()
        elif isinstance(outcome, Mocked):  # latency, and what cannot stream (HEAD)
            flows.answer(flow, outcome.response, meta)
        else:
            flows.forward(flow, self._upstream_login())
            flow.metadata["imnot"] = meta
            if isinstance(outcome, Record):
                meta["started"] = started
                return  # journalled with the recording, when the response is in
        self._journal(flow, meta["kind"], comment, started)

    # --- answers through a response stream -----------------------------------------------

    async def _detour(self, flow: http.HTTPFlow, view: RequestView, outcome: Mocked,
                      started: float) -> None:
        fault = outcome.fault
        assert fault is not None
        meta, comment = describe(outcome, view)
        response = outcome.response
        if not any(k.lower() == "x-request-id" for k, _ in response.headers):
            meta["request_id"] = request_id = flows.request_id_of(flow)
            response = MockResponse(response.status, response.headers + (
                ("x-request-id", request_id),), response.body, response.step)
        plan = faultwire.script(response, flows.REASONS.get(response.status, b""), fault.kind,
                                cut=fault.cut, dribble=fault.dribble)
        address = await self.server.ensure()
        ticket = self.server.register(plan)
        req = flow.request
        self._detours[flow.id] = Detour(ticket, req.scheme, req.host, req.port, req.path,
                                        plan.raw_chunks, comment, started)
        req.scheme = "http"
        req.data.host, req.data.port = address
        req.path = FaultServer.path(ticket)
        flow.server_conn = connection.Server(address=address)  # direct, even in upstream mode
        flow.metadata["imnot"] = meta
        flow.comment = comment
        ensure_stream_hook(self)

    def response_started(self, flow: http.HTTPFlow) -> None:
        detour = self._detours.pop(flow.id, None)
        if detour is None or flow.response is None:
            return
        req = flow.request
        req.scheme = detour.scheme
        req.data.host, req.data.port = detour.host, detour.port
        req.path = detour.path
        flow.is_replay = "response"
        flow.response.stream = raw_body(flow.response) if detour.raw_chunks else True
        self._journal(flow, "fault", detour.comment, detour.started)

    def failed(self, flow: http.HTTPFlow) -> None:
        detour = self._detours.pop(flow.id, None)
        if detour is not None:
            self.server.forget(detour.ticket)
            self._journal(flow, "fault", detour.comment, detour.started)


class FaultStreams:
    """Streaming for answers sent through the fault server.

    Added to mitmproxy's addons the first time a fault streams, so that a proxy that never
    does pays nothing: mitmproxy calls ``responseheaders`` for every flow of every addon
    that has it.
    """

    def __init__(self, glue: FaultGlue):
        self.glue = glue

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        self.glue.response_started(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self.glue.failed(flow)


def ensure_stream_hook(glue: FaultGlue) -> None:
    addons = ctx.master.addons
    hook = addons.get("faultstreams")
    if hook is None:
        addons.add(FaultStreams(glue))
    else:
        hook.glue = glue  # the addon script was loaded again: follow the new glue


def raw_body(response: http.Response) -> Callable[[bytes], bytes]:
    """A stream function that stops mitmproxy from framing the body as chunks, so that the
    chunk framing the fault server put in the bytes reaches the client as it is."""

    def passthrough(data: bytes) -> bytes:
        if "transfer-encoding" in response.headers:
            del response.headers["transfer-encoding"]
        return data

    return passthrough


def reset_client(flow: http.HTTPFlow) -> bool:
    """Abort the client's TCP connection with a RST; False when mitmproxy holds no socket for
    it (its WireGuard or local modes), and only a close is possible."""
    server = ctx.master.addons.get("proxyserver")
    handler = getattr(server, "connections", {}).get(flow.client_conn.id)
    io = getattr(handler, "transports", {}).get(flow.client_conn)
    writer = getattr(io, "writer", None)
    sock = writer.get_extra_info("socket") if writer is not None else None
    if sock is None:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        return False
    writer.transport.abort()  # type: ignore[union-attr]
    return True


async def _wait(flow: http.HTTPFlow, seconds: float) -> bool:
    """Sleep ``seconds`` on the event loop; False as soon as the client has gone."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while flow.client_conn.connected:
        left = deadline - loop.time()
        if left <= 0:
            return True
        await asyncio.sleep(min(left, WATCH_EVERY))
    return False


def describe(outcome: Mocked | Forward | Record, view: RequestView) -> tuple[dict, str]:
    """Flow metadata and mitmweb comment: ``imnot fault 503 staylink/reservation (session s1,
    2nd of 3, fault 1a2b3c4d5e6f)``; a delay alone keeps the mock's comment and adds itself."""
    fault = outcome.fault
    assert fault is not None
    if isinstance(outcome, Mocked):
        meta, _ = flows.describe(outcome, view)
        route = outcome.route
        step = f" {outcome.response.step}" if outcome.response.step else ""
        where, base = f"{route.owner}{step}", f"imnot mock {route.owner}{step}"
    else:
        partner = outcome.partner or ""
        kind = "record" if isinstance(outcome, Record) else "passthrough"
        meta = {"kind": kind, "partner": partner, "session": view.session}
        where = f"{partner} {kind} {view.method} {flows.flow_path(view)}"
        base = f"imnot {kind} {partner} {view.method} {flows.flow_path(view)}"
    notes = f" ({', '.join(fault.notes)})" if fault.notes else ""
    meta["fault"] = fault.meta()
    if fault.kind in ("latency", "callback_delay"):
        return meta, f"{base} · {fault.label}{notes}"
    meta["kind"] = "fault"
    return meta, f"imnot fault {fault.label} {where}{notes}"
