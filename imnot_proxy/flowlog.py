"""The journal entry and the log line of each flow the proxy answered, recorded, verified or
let through for a partner host.

``FlowLog.write`` is what the addon, ``recordglue``, ``verifyglue`` and ``faultglue`` call
once a flow is done; ``passthrough`` is the same for a flow sent upstream untouched. The
journal itself comes from the store's replication (``replicas.for_store``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from mitmproxy import http

from . import flows
from .journal import Journal, MemoryJournal
from .journalbody import BodyCapture
from .jsonlog import FLOW_FIELD
from .settings import Settings

logger = logging.getLogger("imnot_proxy")

FlowJournal = Callable[[http.HTTPFlow, str, str | None, float], None]


class FlowLog:
    def __init__(self) -> None:
        self.journal: Journal = MemoryJournal()
        self.bodies: BodyCapture | None = None
        self.lines = True  # a log line for each flow
        self.passthrough_lines = False  # ... and for each flow let through

    def configure(self, settings: Settings, verbosity: str) -> None:
        if settings.journal_size != self.journal.size:
            self.journal.resize(settings.journal_size)
        self.bodies = BodyCapture.of(settings.journal_bodies, settings.redact_headers,
                                     settings.redact_fields)
        # A flow line nobody prints still costs a trip through every addon: skip it then.
        self.lines = settings.json_logs or verbosity in ("info", "debug")
        self.passthrough_lines = settings.log_passthrough

    def write(self, flow: http.HTTPFlow, kind: str, note: str | None, started: float) -> None:
        entry = flows.journal_entry(flow, kind, note, started)
        if self.bodies is not None:
            entry = self.bodies.add(entry, flow.request.get_content(strict=False) or b"",
                                    flow.request.headers.get("content-type"))
        self.journal.add(entry)
        if self.lines:
            view = entry.view()
            status = entry.status or ("no response" if kind == "fault" else "error")
            if entry.request_id:
                logger.info("%s -> %s (%.1f ms) · request %s", note, status,
                            view["ms"], entry.request_id, extra={FLOW_FIELD: view})
            else:
                logger.info("%s -> %s (%.1f ms)", note, status, view["ms"],
                            extra={FLOW_FIELD: view})

    def passthrough(self, flow: http.HTTPFlow, partner_host: bool, started: float,
                    session: str | None) -> None:
        """A flow sent upstream untouched: journaled when it was for a partner host."""
        if partner_host:
            entry = flows.journal_entry(flow, "passthrough", None, started, session)
            self.journal.add(entry)
            if self.passthrough_lines:
                logger.info("imnot passthrough %s %s", flow.request.method,
                            flow.request.pretty_url, extra={FLOW_FIELD: entry.view()})
        elif self.passthrough_lines:
            logger.info("passthrough %s %s", flow.request.method, flow.request.pretty_url)
