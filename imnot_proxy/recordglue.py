"""Record mode's flows: sent upstream and tagged, refused once recording has failed, and
handed to the recording (``recording/live.py``) when their answer or error is in."""

from __future__ import annotations

import logging

from mitmproxy import http

from . import flows
from .flowlog import FlowJournal
from .messages import error_response
from .recording.capture import capture
from .recording.live import LiveRecording

logger = logging.getLogger("imnot_proxy")


class RecordGlue:
    def __init__(self, recording: LiveRecording, journal: FlowJournal):
        self.recording = recording
        self._journal = journal

    def begin(self, flow: http.HTTPFlow, partner: str, started: float,
              upstream_login: str | None) -> None:
        failure = self.recording.failure
        if failure is not None:
            refuse_unrecorded(flow, failure)
            return
        flows.forward(flow, upstream_login)
        flow.metadata["imnot"] = {"kind": "record", "partner": partner, "started": started}
        flow.comment = f"imnot record {partner} {flow.request.method} {flow.request.path}"

    def finish(self, flow: http.HTTPFlow) -> None:
        """Any flow's answer or error: a recorded flow is recorded once, then journaled."""
        meta = flow.metadata.get("imnot")
        if not meta or meta.get("kind") != "record" or meta.get("recorded"):
            return
        meta["recorded"] = True
        try:
            self.recording.record(meta["partner"], capture(flow))
        except OSError:
            # A recording that cannot be written must not pass for a recorded one.
            logger.exception("imnot_proxy: cannot write the recording for %s", flow.comment)
            raise
        self._journal(flow, "record", flow.comment, meta["started"])


def refuse_unrecorded(flow: http.HTTPFlow, failure: str) -> None:
    """Record-mode traffic is never let through unrecorded (as mitmproxy's save addon)."""
    flows.answer(flow, error_response(502, f"imnot_proxy error: recording failed: {failure}"),
                 {"kind": "error", "error": failure})
    flow.comment = "imnot error: recording failed"
