"""A flow captured on the event loop becomes the same exchange that ``har.from_flow`` makes."""

from __future__ import annotations

import gzip

import pytest
from mitmproxy import http
from mitmproxy.flow import Error
from mitmproxy.test import tflow

from imnot_proxy.recording.capture import capture, exchange
from imnot_proxy.recording.har import from_flow


def flow(method: str = "GET", url: str = "http://api.partner.example/a/b?x=1", *,
         body: bytes = b"", headers: dict | None = None, response: http.Response | None = None,
         http2: bool = False, error: str | None = None) -> http.HTTPFlow:
    request = http.Request.make(method, url, body, headers or {})
    if http2:
        request.http_version = "HTTP/2.0"
        request.authority = "api.partner.example:8443"
    f = tflow.tflow(req=request)
    f.response = response
    if error:
        f.error = Error(error)
    return f


@pytest.mark.parametrize("case", [
    flow(),
    flow("POST", "https://api.partner.example/jobs", body=b'{"a": 1}',
         headers={"Content-Type": "application/json", "Host": "api.partner.example"},
         response=http.Response.make(202, b"", {"Location": "/jobs/1"})),
    flow(headers={"Host": "alias.example:8080"},
         response=http.Response.make(200, gzip.compress(b'{"z": 1}'),
                                     {"Content-Encoding": "gzip", "X-Uml": "ä"})),
    flow(response=http.Response.make(200, b"not gzip", {"Content-Encoding": "gzip"})),
    flow(http2=True, response=http.Response.make(204, b"")),
    flow(error="connection refused"),
    flow("PUT", "http://10.0.0.1:81/%C3%BC?q=%20", body=b"\xff\x00"),
], ids=["plain", "post", "gzip-and-host", "bad-encoding", "http2", "error", "odd-bytes"])
def test_a_captured_flow_is_the_exchange_from_flow_gives(case: http.HTTPFlow) -> None:
    assert exchange(capture(case)) == from_flow(case)
