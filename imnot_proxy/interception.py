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
    """Regex for ``allow_hosts`` from an exact name or a ``*.suffix`` wildcard."""
    host = host.lower()
    if host.startswith("*."):
        return r"^(?:[^.:]+\.)+" + re.escape(host[2:]) + r":\d+$"
    return "^" + re.escape(host) + r":\d+$"


def allow_patterns(hosts: Iterable[str]) -> list[str]:
    return sorted({host_pattern(h) for h in hosts if h})
