"""mitmproxy options that follow ours: which TLS connections are decrypted, how long an
idle client connection lives, and warnings: connections dialled eagerly, or a proxy open
beyond this host without an admin key."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from mitmproxy.proxy import server as proxy_server

from .interception import allow_patterns
from .settings import is_loopback

logger = logging.getLogger("imnot_proxy")

MITMPROXY_IDLE_DEFAULT = 600  # seconds; mitmproxy's own


def sync_allow_hosts(options: Any, hosts: Iterable[str]) -> None:
    """Decrypt exactly these hosts (partner, admin and recorded hosts; interception.py)."""
    patterns = allow_patterns(hosts)
    if list(options.allow_hosts) != patterns:
        options.update(allow_hosts=patterns)


def apply_idle_timeout(options: Any, seconds: int, applied_before: int | None) -> int:
    """Close client connections idle ``seconds``. mitmproxy 12 has the ``tcp_timeout``
    option (left alone once someone else set it); 11 reads a module constant as each
    connection starts. Returns what was applied."""
    if "tcp_timeout" in options:
        if options.tcp_timeout in (MITMPROXY_IDLE_DEFAULT, applied_before) \
                and options.tcp_timeout != seconds:
            options.update(tcp_timeout=seconds)
    elif hasattr(proxy_server, "TCP_TIMEOUT"):
        proxy_server.TCP_TIMEOUT = seconds
    return seconds


def warn_if_eager(options: Any) -> None:
    if options.connection_strategy != "lazy":
        logger.warning(
            "imnot_proxy: connection_strategy is %r; use 'lazy' so that mocking never "
            "contacts (or needs) the real partner host", options.connection_strategy)


def warn_if_open(options: Any, admin_key: str | None) -> None:
    if not is_loopback(options.listen_host) and not admin_key:
        logger.warning(
            "imnot_proxy: WARNING: listening on %s without an admin key: anyone who can "
            "reach the port can change the mocks. Set imnot_admin_key or IMNOT_ADMIN_KEY.",
            options.listen_host or "all interfaces")
