"""mitmproxy's own 400 answer to a request it cannot parse, as JSON like every other error.

A request line with a raw 0xFF byte, an invalid header name or a method with a space
never reaches an addon: mitmproxy's HTTP/1 layer answers it with an HTML page before
any hook runs, so not even the host is known. ``install`` wraps the function that
builds that page so that its 400s carry ``{"detail": ...}`` with the same status and
headers; every other status it builds (a 502 for an unreachable upstream, say) is left
as mitmproxy makes it. Where the function is missing (another mitmproxy version),
nothing changes.
"""

from __future__ import annotations

import logging
from typing import Any

from .messages import encode_json

logger = logging.getLogger("imnot_proxy")


def install() -> bool:
    """Make mitmproxy's 400 page JSON; True when it is (or already was) installed."""
    try:
        from mitmproxy import http, version
        from mitmproxy.net.http import http1
        from mitmproxy.proxy.layers.http import _http1
    except ImportError:
        return False
    original: Any = getattr(_http1, "make_error_response", None)
    if original is None:
        return False
    if getattr(original, "imnot_json", False):
        return True

    def make_error_response(status_code: int, message: str = "") -> bytes:
        if status_code != 400:
            return original(status_code, message)
        response = http.Response.make(
            400, encode_json({"detail": f"Bad Request: {message}" if message else "Bad Request"}),
            http.Headers(Server=version.MITMPROXY, Connection="close",
                         Content_Type="application/json"))
        return http1.assemble_response(response)

    make_error_response.imnot_json = True  # type: ignore[attr-defined]
    _http1.make_error_response = make_error_response
    return True
