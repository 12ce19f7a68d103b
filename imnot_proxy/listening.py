"""What the proxy says about its listeners: that it listens, once it really does, and
mitmproxy's per-connection lines only when asked for (``-v``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

# mitmproxy's per-connection lines ("client connect", "server disconnect", ...).
CONNECTION_LOGGER = "mitmproxy.proxy.server"


def quiet_connections(verbose: bool) -> None:
    """Per-connection lines only with ``-v``: by default a request logs its imnot line alone."""
    logging.getLogger(CONNECTION_LOGGER).setLevel(logging.DEBUG if verbose else logging.WARNING)


class Listening:
    """An addon that calls ``say`` once every listener is up.

    mitmproxy's master opens its servers, stops on a start-up error, and only then sends
    ``running``; an option or a store that is refused never gets this far. ``say`` runs once,
    also when the options change later.
    """

    def __init__(self, say: Callable[[], None]) -> None:
        self._say: Callable[[], None] | None = say

    def running(self) -> None:
        say, self._say = self._say, None
        if say is not None:
            say()
