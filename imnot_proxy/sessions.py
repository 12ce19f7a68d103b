"""Which test session a request belongs to, and keeping that ours.

A session is named by the ``X-Imnot-Session`` header (as in the original) or by
the user name of the proxy credentials (``HTTPS_PROXY=http://SESSION@host:8080``),
because a staging system can rarely add headers to its outbound calls. For HTTPS
the credentials travel on the CONNECT request only, so they are remembered per
client connection. Neither the header nor the credentials ever reach an upstream.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

SESSION_HEADER = "X-Imnot-Session"


def proxy_user(value: str | None) -> str | None:
    """The user name of ``Proxy-Authorization: Basic ...``."""
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        # bytes that are not UTF-8 stay visible (as surrogates), so the session is refused
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8", "surrogateescape")
    except (binascii.Error, ValueError):
        return None
    user = decoded.partition(":")[0].strip()
    return user or None


class ConnectSessions:
    """Session names taken from CONNECT credentials, per client connection."""

    def __init__(self) -> None:
        self._by_client: dict[str, str] = {}

    def remember(self, client_id: str, proxy_authorization: str | None) -> None:
        user = proxy_user(proxy_authorization)
        if user:
            self._by_client[client_id] = user

    def forget(self, client_id: str) -> None:
        self._by_client.pop(client_id, None)

    def session_of(self, headers: Any, client_id: str) -> str | None:
        """The header wins, then the request's own proxy credentials, then the CONNECT's."""
        return self.session_from(headers.get(SESSION_HEADER),
                                 headers.get("proxy-authorization"), client_id)

    def session_from(self, header: str | None, proxy_authorization: str | None,
                     client_id: str) -> str | None:
        """``session_of`` from the two header values, already read."""
        if header:
            return header.strip() or None
        user = proxy_user(proxy_authorization)
        return user or self._by_client.get(client_id)

    def __len__(self) -> int:
        return len(self._by_client)


def strip_ours(headers: Any) -> None:
    """Remove the session header and the client's proxy credentials before going upstream."""
    if SESSION_HEADER in headers:
        del headers[SESSION_HEADER]
    if "proxy-authorization" in headers:
        del headers["proxy-authorization"]
