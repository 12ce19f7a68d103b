"""``flows.header_values`` reads what ``Headers.get`` reads, in one pass."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from mitmproxy import http

from imnot_proxy.flows import header_values

NAMES = [b"X-Imnot-Session", b"x-imnot-session", b"Proxy-Authorization", b"Content-Encoding",
         b"X-Request-ID", b"Accept", b"x-other"]
FIELDS = st.lists(st.tuples(st.sampled_from(NAMES), st.binary(max_size=12)), max_size=8)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(FIELDS)
def test_the_same_values_as_headers_get(fields):
    headers = http.Headers(fields)
    wanted = frozenset({b"x-imnot-session", b"proxy-authorization", b"content-encoding",
                        b"x-request-id"})
    found = header_values(headers.fields, wanted)
    for name in wanted:
        assert found.get(name) == headers.get(name.decode()), (name, fields)
