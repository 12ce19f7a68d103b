"""mitmproxy flows in, engine outcomes out: the translation the addon's hooks use.

``view_of`` turns a flow into the ``RequestView`` the engine decides on;
``answer``, ``forward`` and ``describe`` turn an outcome back into what mitmproxy
and mitmweb show: the response, the metadata, the comment and the journal entry;
``fail_closed`` answers a flow whose handling failed.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
import uuid
from http import HTTPStatus
from typing import Any

from mitmproxy import http
from mitmproxy.net.http import status_codes
from mitmproxy.proxy import mode_specs

from .engine import Mocked, Unmatched
from .journal import JournalEntry
from .messages import MockResponse, RequestView, clean_text, error_response
from .sessions import ConnectSessions, strip_ours

logger = logging.getLogger("imnot_proxy")

MAX_REQUEST_ID = 200  # characters of a client's X-Request-ID we echo
MAX_FIELD = 2048  # characters of a method, host or path kept in a journal entry
# mitmproxy's table, and the standard library's for the codes it lacks (429, 451, ...)
REASONS = {**{int(s): s.phrase.encode() for s in HTTPStatus},
           **{code: text.encode() for code, text in status_codes.RESPONSES.items()}}
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "::",
                         socket.gethostname().lower(), socket.getfqdn().lower()})


def view_of(flow: http.HTTPFlow, sessions: ConnectSessions) -> RequestView:
    req = flow.request
    host = req.pretty_host.lower()
    path, _, query = clean_text(req.path).partition("?")
    headers = req.headers
    ours = header_values(headers.fields, _READ)
    return RequestView(
        method=req.method, path=path, query_string=query, headers=headers,
        body=(req.raw_content if not ours.get(b"content-encoding")
              else req.get_content(strict=False)) or b"",
        scheme=req.scheme, host=host, port=req.port,
        session=sessions.session_from(ours.get(b"x-imnot-session"),
                                      ours.get(b"proxy-authorization"), flow.client_conn.id),
        direct=is_direct(flow, host),
    )


_READ = frozenset({b"content-encoding", b"x-imnot-session", b"proxy-authorization"})


def header_values(fields: tuple[tuple[bytes, bytes], ...],
                  names: frozenset[bytes]) -> dict[bytes, str]:
    """The values of the named header fields (lower-case names), as ``Headers.get`` gives
    them (repeated fields joined with ", "), in one pass over the fields: each
    ``Headers.get`` walks them all and lower-cases every name again."""
    found: dict[bytes, str] = {}
    for name, value in fields:
        key = name.lower()
        if key in names:
            text = value.decode("utf-8", "surrogateescape")
            found[key] = f"{found[key]}, {text}" if key in found else text
    return found


def is_direct(flow: http.HTTPFlow, host: str) -> bool:
    """An origin-form request sent straight to the proxy port, as to the original server."""
    client = flow.client_conn
    if client.tls or client.sockname is None:
        return False
    if flow.request.port != client.sockname[1]:
        return False
    if host in LOCAL_NAMES or host == str(client.sockname[0]):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or str(client.sockname[0]) in ("0.0.0.0", "::")


def answer(flow: http.HTTPFlow, response: MockResponse, meta: dict) -> None:
    """Answer the flow ourselves; mitmweb shows it as a replayed response.

    Like the original, every answer carries ``X-Request-ID``: the request's own when it
    sent a usable one, else a new UUID4 (also kept in the metadata, for the journal).
    """
    now = time.time()
    fields = response.wire_headers
    if not any(k.lower() == b"x-request-id" for k, _ in fields):
        meta["request_id"] = request_id = request_id_of(flow)
        fields = fields + ((b"x-request-id", request_id.encode()),)
    flow.response = http.Response(b"HTTP/1.1", response.status, REASONS.get(response.status, b""),
                                  http.Headers(fields), response.body, None, now, now)
    flow.metadata["imnot"] = meta
    flow.is_replay = "response"


def fail_closed(flow: http.HTTPFlow, exc: Exception) -> None:
    """A partner or admin request whose handling raised: a 500, never the real partner."""
    logger.exception("imnot_proxy error on %s %s", flow.request.method,
                     flow.request.pretty_url, exc_info=exc)
    answer(flow, error_response(500, f"imnot_proxy error: {exc}"),
           {"kind": "error", "error": str(exc)})
    flow.comment = f"imnot error: {exc}"


def request_id_of(flow: http.HTTPFlow) -> str:
    given = header_values(flow.request.headers.fields, _REQUEST_ID).get(b"x-request-id")
    if given and len(given) <= MAX_REQUEST_ID and given.isascii() and given.isprintable():
        return given
    return str(uuid.uuid4())


_REQUEST_ID = frozenset({b"x-request-id"})


def forward(flow: http.HTTPFlow, upstream_login: str | None) -> None:
    """Ready a request to go upstream: our headers out, the upstream proxy's login in
    (plain HTTP in upstream mode goes to that proxy as an absolute-form request)."""
    strip_ours(flow.request.headers)
    if (upstream_login and flow.request.scheme == "http"
            and isinstance(flow.client_conn.proxy_mode, mode_specs.UpstreamMode)):
        flow.request.headers["proxy-authorization"] = upstream_login


def describe(outcome: Mocked | Unmatched, view: RequestView) -> tuple[dict, str]:
    """The flow metadata and the mitmweb comment of an answered partner request."""
    session = view.session
    if isinstance(outcome, Mocked):
        route = outcome.route
        meta = {"kind": "mock", "partner": route.partner, "datapoint": route.datapoint,
                "pattern": route.pattern, "step": outcome.response.step, "session": session,
                "route": route.label}
        comment = f"imnot mock {route.owner}"
        if outcome.response.step:
            comment += f" {outcome.response.step}"
        if outcome.response.choice:
            meta["choice"] = outcome.response.choice
            comment += f" {outcome.response.choice}"
    elif outcome.reason is not None:
        meta = {"kind": "miss", "closest": [], "session": session, "why": outcome.reason}
        comment = f"imnot miss {view.method} {flow_path(view)} · no when: matched: {outcome.reason}"
    else:
        closest = [r.label for r in outcome.miss.closest]
        meta = {"kind": "miss", "closest": closest, "session": session}
        comment = (f"imnot miss {view.method} {flow_path(view)} · closest: "
                   f"{', '.join(closest) or 'none'}")
    if isinstance(outcome, Unmatched):
        owners = ({outcome.partner} if outcome.partner
                  else {route.partner for route in outcome.miss.closest})
        if len(owners) == 1:  # the host's partner, so a journal filtered by partner shows it
            meta["partner"] = owners.pop()
    if session:
        comment += f" · session {session}"
    return meta, comment


def flow_path(view: RequestView) -> str:
    return f"{view.path}?{view.query_string}" if view.query_string else view.path


def journal_entry(flow: http.HTTPFlow, kind: str, note: str | None,
                  started: float, session: str | None = None) -> JournalEntry:
    req = flow.request
    meta: dict[str, Any] = flow.metadata.get("imnot") or {}
    closest = meta.get("closest")
    return JournalEntry(
        at=time.time(), kind=kind, method=req.method[:MAX_FIELD], scheme=req.scheme,
        host=req.host[:MAX_FIELD], port=req.port, path=req.path[:MAX_FIELD],
        status=flow.response.status_code if flow.response else None,
        seconds=time.perf_counter() - started, partner=meta.get("partner"),
        datapoint=meta.get("datapoint"), route=meta.get("route"), step=meta.get("step"),
        session=meta.get("session", session),
        closest=tuple(closest) if closest is not None else None,
        note=note, request_id=meta.get("request_id"), choice=meta.get("choice"),
    )
