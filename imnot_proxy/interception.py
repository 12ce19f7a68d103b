"""Which TLS connections mitmproxy decrypts: partner hosts, the admin host and recorded hosts.

Every other CONNECT tunnel passes through as opaque TLS (mitmproxy's
``allow_hosts``), so clients that trust only public CAs keep reaching
non-partner HTTPS hosts, and nothing we do not answer is decrypted.
mitmproxy matches these patterns against ``host:port``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def host_pattern(host: str) -> str:
    """Regex (without anchors) for an exact name or a ``*.suffix`` wildcard."""
    host = host.lower()
    if host.startswith("*."):
        return r"(?:[^.:]+\.)+" + re.escape(host[2:])
    return re.escape(host)


def allow_patterns(hosts: Iterable[str]) -> list[str]:
    """One combined pattern: mitmproxy tries each pattern in turn on every connection, and
    with thousands of hosts separate patterns would thrash Python's regex cache."""
    names = sorted({host_pattern(h) for h in hosts if h})
    if not names:
        return []
    return ["^(?:" + "|".join(names) + r"):\d+$"]
