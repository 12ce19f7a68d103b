"""The end-to-end harness in one import: a real proxy process (``launcher``), stdlib
HTTP(S) clients (``clients``) and servers on 127.0.0.1 for it to talk to (``upstreams``).

Every wait is a condition polled against a deadline, and every process, socket, thread
and file the harness opens is closed again by ``stop()``/``close()`` or the context
manager exit.
"""

from __future__ import annotations

from .clients import Reply, TlsReply, direct_request, proxied_request, tls_get
from .launcher import (
    IMNOT_CLI,
    LOCALHOST,
    Launcher,
    ProxyStartError,
    environment,
    find_program,
    free_port,
    port_accepts,
    run,
    wait_until,
)
from .upstreams import (
    CallbackReceiver,
    ForwardProxy,
    Handler,
    HandlerResult,
    RecordedRequest,
    Seen,
    TlsUpstreamServer,
    UpstreamServer,
)

__all__ = [
    "IMNOT_CLI",
    "LOCALHOST",
    "CallbackReceiver",
    "ForwardProxy",
    "Handler",
    "HandlerResult",
    "Launcher",
    "ProxyStartError",
    "RecordedRequest",
    "Reply",
    "Seen",
    "TlsReply",
    "TlsUpstreamServer",
    "UpstreamServer",
    "direct_request",
    "environment",
    "find_program",
    "free_port",
    "port_accepts",
    "proxied_request",
    "run",
    "tls_get",
    "wait_until",
]
