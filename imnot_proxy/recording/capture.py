"""A live flow captured in about a microsecond, made into an ``Exchange`` later, elsewhere.

``capture`` runs on the event loop and only takes references to immutable parts
of the flow (method, URL parts, header field tuples, raw bodies, timestamps).
``exchange`` does the decoding (text, URL, content-encoding) in the writer
child and gives what ``har.from_flow`` gives for the same flow.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from mitmproxy.net import encoding
from mitmproxy.net.http import url as urls

from .exchange import Exchange

HTTP2 = (b"HTTP/2.0", b"HTTP/3")


class Captured(NamedTuple):
    method: bytes
    scheme: bytes
    host: str
    port: int
    path: bytes
    authority: bytes
    http_version: bytes
    request_fields: tuple[tuple[bytes, bytes], ...]
    request_body: bytes | None
    started: float | None
    status: int | None
    response_fields: tuple[tuple[bytes, bytes], ...]
    response_body: bytes | None
    ended: float | None
    error: str | None


def capture(flow: Any) -> Captured:
    """The parts of a flow an exchange is made of, without decoding anything."""
    req = flow.request.data
    resp = flow.response.data if flow.response is not None else None
    return Captured(
        req.method, req.scheme, req.host, req.port, req.path, req.authority, req.http_version,
        req.headers.fields, req.content, req.timestamp_start,
        resp.status_code if resp is not None else None,
        resp.headers.fields if resp is not None else (),
        resp.content if resp is not None else None,
        resp.timestamp_end if resp is not None else None,
        flow.error.msg if flow.error else None)


def _text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def _header(fields: tuple[tuple[bytes, bytes], ...], name: bytes) -> bytes | None:
    return next((v for k, v in fields if k.lower() == name), None)


def _content(raw: bytes | None, fields: tuple[tuple[bytes, bytes], ...]) -> bytes:
    if not raw:
        return b""
    coding = _header(fields, b"content-encoding")
    if not coding:
        return raw
    try:
        return encoding.decode(raw, _text(coding)) or b""
    except ValueError:
        return raw


def response(c: Captured) -> tuple[int | None, tuple[tuple[str, str], ...], bytes]:
    """Only the answer of a captured flow: status, headers, decoded body."""
    if c.status is None:
        return None, (), b""
    return (c.status, tuple((_text(k), _text(v)) for k, v in c.response_fields),
            _content(c.response_body, c.response_fields))


def exchange(c: Captured, partner: str | None = None) -> Exchange:
    """The ``Exchange`` of a captured flow (as ``har.from_flow`` would make it)."""
    path = _text(c.path)
    host_header = c.authority if c.http_version in HTTP2 and c.authority else None
    if host_header is None:
        host_header = _header(c.request_fields, b"host")
    url = _origin(c.scheme, host_header, c.host, c.port) + ("" if path == "*" else path)
    started = c.started or 0.0
    ended = (c.ended if c.status is not None and c.ended else None) or started
    return Exchange(
        started=started,
        method=_text(c.method).upper(),
        url=url,
        request_headers=tuple((_text(k), _text(v)) for k, v in c.request_fields),
        request_body=_content(c.request_body, c.request_fields),
        status=c.status,
        response_headers=tuple((_text(k), _text(v)) for k, v in c.response_fields),
        response_body=_content(c.response_body, c.response_fields) if c.status is not None
        else b"",
        error=c.error,
        partner=partner,
        duration_ms=max(0.0, (ended - started) * 1000),
    )


@lru_cache(maxsize=512)
def _origin(scheme_raw: bytes, host_header: bytes | None, host: str, port: int) -> str:
    """``scheme://host[:port]`` of a flow, from its Host header (or authority) when it has
    one; a recording sees few origins, so each is worked out once."""
    scheme = _text(scheme_raw)
    if host_header:
        name, given = urls.parse_authority(_text(host_header), check=False)
        return urls.unparse(scheme, name, given or urls.default_port(scheme) or 443, "")
    return urls.unparse(scheme, host, port, "")
