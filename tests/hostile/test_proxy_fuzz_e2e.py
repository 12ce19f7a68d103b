"""Random hostile requests through a real proxy, byte for byte on a socket.

The engine-level fuzz (``test_request_fuzz.py``) proves the decision never raises; this one
proves the whole path does: mitmproxy's parsing, the addon's glue, the admin API and the
error pages. Every request gets a complete answer below 500 (or a closed connection when
mitmproxy refuses the bytes outright), and the proxy serves the next client.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.harness import LOCALHOST, Launcher, direct_request, proxied_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_regressions_e2e import raw

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
KEY = "fuzz-admin-key"

HOSTS = ["api.staylink.example", "api.guarded.example", "imnot.proxy"]
PATHS = ["/orders", "/jobs", "/jobs/{x}/status", "/jobs/{x}", "/imnot/admin/partners",
         "/imnot/admin/sessions", "/imnot/admin/journal", "/imnot/admin/staylink/{x}/payload",
         "/imnot/admin/partners/{x}", "/imnot/admin/faults", "/{x}"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
HEADER_NAMES = ["Content-Type", "Authorization", "X-Imnot-Session", "Accept", "X-Request-ID",
                "Cookie", "X-Callback-Url", "Accept-Encoding", "Content-Encoding", "X-Any"]
CONTENT_TYPES = [b"application/json", b"application/xml", b"text/xml; charset=utf-8",
                 b"application/x-www-form-urlencoded", b"multipart/form-data; boundary=x",
                 b"text/plain", b"application/soap+xml"]

# Bytes a header value may hold on the wire: anything but CR, LF and NUL.
header_bytes = st.binary(max_size=80).map(
    lambda b: b.replace(b"\r", b"").replace(b"\n", b"").replace(b"\0", b""))
segment = st.one_of(
    st.text(max_size=30).map(lambda s: "".join(f"%{b:02X}" for b in s.encode("utf-8",
                                                                             "surrogatepass"))),
    st.from_regex(r"[A-Za-z0-9._~-]{0,20}", fullmatch=True),
    st.sampled_from(["..", "%2e%2e", "%00", "%ff%fe", "{id}", "'", "\\u0000"]),
)
body = st.one_of(
    st.binary(max_size=2000),
    st.sampled_from([b'{"quantity": 1}', b'{"quantity": NaN}', b"[" * 5000 + b"]" * 5000,
                     b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                     b"<x>&e;</x>", b'{"a": "\\ud800"}', b"a=1&a=2&%zz", b"--x\r\n\r\n--x--"]),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda inner: st.lists(inner, max_size=4)
                 | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                 max_leaves=20).map(lambda v: repr(v).encode()),
)


@st.composite
def requests(draw) -> bytes:
    host = draw(st.sampled_from(HOSTS))
    path = draw(st.sampled_from(PATHS)).replace("{x}", draw(segment))
    query = draw(st.one_of(st.just(""), segment.map(lambda s: "?" + s + "=" + s),
                           st.just("?limit=-1&after=%ff"), st.just("?session=%0a")))
    method = draw(st.sampled_from(METHODS))
    headers = [(b"Host", host.encode())]
    for name in draw(st.lists(st.sampled_from(HEADER_NAMES), max_size=4, unique=True)):
        value = (draw(st.sampled_from(CONTENT_TYPES)) if name == "Content-Type"
                 else b"Bearer " + KEY.encode() if name == "Authorization" and draw(st.booleans())
                 else draw(header_bytes).strip())
        headers.append((name.encode(), value))
    payload = draw(body)
    headers.append((b"Content-Length", str(len(payload)).encode()))
    head = f"{method} http://{host}{path}{query} HTTP/1.1\r\n".encode()
    head += b"".join(k + b": " + v + b"\r\n" for k, v in headers)
    return head + b"Connection: close\r\n\r\n" + payload


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Iterator[Launcher]:
    work = tmp_path_factory.mktemp("fuzz")
    partners = work / "partners"
    shutil.copytree(REPO / "partners", partners)
    shutil.copy(HERE / "partners" / "guarded.yaml", partners / "guarded.yaml")
    launcher = Launcher.imnot_start(
        work, "--partners", partners, "--db", work / "imnot.db",
        mitmproxy_args=["--set", f"imnot_admin_key={KEY}",
                        "--set", "imnot_max_payload_bytes=100000"])
    with launcher:
        yield launcher
        assert "Traceback" not in launcher.log_text(), launcher.log_text()


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=requests())
def test_random_requests_get_an_answer_below_500_and_the_proxy_goes_on(proxy, data):
    answer = raw(proxy, data, timeout=10.0)
    if answer:  # mitmproxy may close on bytes it refuses to parse; that is fine
        status_line = answer.split(b"\r\n", 1)[0]
        assert status_line.startswith(b"HTTP/1.1 "), answer[:200]
        status = int(status_line.split(b" ")[1])
        assert status < 500, (data[:300], answer[:600])
    assert direct_request(proxy.url, "GET", "/healthz").status == 200


def test_the_partners_still_answer_after_the_fuzz(proxy):
    stored = proxied_request(proxy.url, "POST", "http://imnot.proxy/imnot/admin/guarded/order/payload",
                             b'{"order": "after-fuzz"}', {"Content-Type": "application/json",
                                                          "Authorization": f"Bearer {KEY}"})
    assert stored.status < 300, stored.body
    reply = proxied_request(proxy.url, "POST", "http://api.guarded.example/orders",
                            b'{"quantity": 2}', {"Content-Type": "application/json"})
    assert reply.status == 200 and b"after-fuzz" in reply.body, reply.body
    assert LOCALHOST in proxy.url
