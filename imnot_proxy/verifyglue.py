"""Verify mode's flows: sent to the real partner beside what the mock would answer
(``recording/verify.py``), compared when the real answer is in, and the drift report."""

from __future__ import annotations

import logging
from pathlib import Path

from mitmproxy import http

from . import flows
from .engine import Engine
from .flowlog import FlowJournal
from .messages import RequestView
from .recording.capture import capture
from .recording.drift import format_drift_line
from .recording.verify import VerifySide

logger = logging.getLogger("imnot_proxy")


class VerifyGlue:
    def __init__(self, side: VerifySide, journal: FlowJournal):
        self.side = side
        self._journal = journal

    def begin(self, flow: http.HTTPFlow, engine: Engine, partner: str, view: RequestView,
              started: float, upstream_login: str | None) -> None:
        self.side.begin(flow.id, engine, partner, view)
        flows.forward(flow, upstream_login)
        flow.metadata["imnot"] = {"kind": "verify", "partner": partner, "started": started}
        flow.comment = f"imnot verify {partner} {view.method} {view.path}"

    def finish(self, flow: http.HTTPFlow) -> None:
        """A flow's answer or error: compared with the mock's when it was verified."""
        found = self.side.finish(flow.id, capture(flow))
        if found is not None:
            meta = flow.metadata["imnot"]
            meta["drift"] = [str(d) for d in found]
            flow.comment += f" · drift: {found[0]}" if found else " · as the mock"
            self._journal(flow, "verify", flow.comment, meta["started"])

    def save(self, recordings: Path) -> str | None:
        """Write the drift report as JSON into ``recordings``; its path, if one was written."""
        try:
            path = self.side.save(recordings)
        except OSError as exc:
            logger.warning("imnot_proxy: cannot write the drift report: %s", exc)
            return None
        return str(path) if path is not None else None

    def report(self, recordings: Path | None) -> list[str]:
        """The drift report, one line per endpoint, where it was written, and the patch
        proposal written beside it (if any)."""
        saved = self.save(recordings) if recordings is not None else None
        lines = [format_drift_line(e) for e in self.side.report.view()["endpoints"]]
        if saved and self.side.patch is not None:
            lines.append(f"patch proposal written to {self.side.patch} (review, then git apply)")
        return [*lines, f"written to {saved}" if saved else "nothing verified yet"]
