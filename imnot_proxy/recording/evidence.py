"""What the drift check keeps for its patch proposal: the real answer behind each
difference, with the request that got it, per endpoint and per answer (a status field's
value: ``PENDING`` and ``DONE`` are two answers of one status step), redacted as
recordings are, in memory only, a few per endpoint. ``propose`` makes the patch of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .compare import Difference, Observed
from .drift import label
from .exchange import Exchange
from .redact import Redactor, copies

MAX_ANSWERS = 8  # answers kept per endpoint


@dataclass(frozen=True)
class Evidence:
    exchange: Exchange  # redacted: the request as sent, the real answer
    real_id: str | None  # the real partner's id of the flow the step is about
    mock_status: int | None
    seq: int


class Proposals:
    """The real answers behind the differences of a drift check."""

    def __init__(self, redactor: Redactor | None = None):
        self.redactor = redactor or Redactor.default()
        self.evidence: dict[str, dict[str, Evidence]] = {}
        self.secrets: set[str] = set()
        self._seq = 0

    def add(self, endpoint: str, exchange: Exchange, differences: Sequence[Difference], *,
            real_id: str | None = None, mock_status: int | None = None) -> None:
        if not differences:
            return
        found: list[str] = []
        ex = self.redactor.collect(exchange, found)
        self.secrets.update(copies(found))
        answers = self.evidence.setdefault(endpoint, {})
        key = f"{ex.status} {label(Observed(ex.status, ex.response_headers, ex.response_body))}"
        if key in answers or len(answers) < MAX_ANSWERS:
            self._seq += 1
            answers[key] = Evidence(ex, real_id, mock_status, self._seq)
