"""What the drift check keeps for its patch proposal: the real answer behind each
difference, with the request that got it, per endpoint and per answer (a status field's
value: ``PENDING`` and ``DONE`` are two answers of one status step), redacted as
recordings are, in memory only, a few per endpoint. ``propose`` makes the patch of it.

A live proxy adds evidence for every differing flow and proposes rarely, so ``add`` only
keeps what made the exchange (a captured flow: references to its parts); the exchange is
made and redacted when ``evidence`` or ``secrets`` is first read after it changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


@dataclass(frozen=True)
class _Kept:
    make: Callable[[], Exchange]  # the exchange, not yet redacted
    real_id: str | None
    mock_status: int | None
    seq: int


class Proposals:
    """The real answers behind the differences of a drift check."""

    def __init__(self, redactor: Redactor | None = None):
        self.redactor = redactor or Redactor.default()
        self._kept: dict[str, dict[str, _Kept]] = {}
        self._redacted: dict[str, dict[str, Evidence]] = {}
        self._secrets: set[str] = set()
        self._stale = False
        self._seq = 0

    def add(self, endpoint: str, exchange: Exchange | Callable[[], Exchange],
            differences: Sequence[Difference], *, real_id: str | None = None,
            mock_status: int | None = None, answer: Observed | None = None) -> None:
        """Keep the exchange behind ``differences`` (or what makes it, with its real
        ``answer``), one per endpoint and answer, the latest of each."""
        if not differences:
            return
        make = exchange if callable(exchange) else (lambda: exchange)
        if answer is None:
            ex = make()
            answer = Observed(ex.status, ex.response_headers, ex.response_body)
        answers = self._kept.setdefault(endpoint, {})
        key = f"{answer.status} {label(answer)}"
        if key in answers or len(answers) < MAX_ANSWERS:
            self._seq += 1
            answers[key] = _Kept(make, real_id, mock_status, self._seq)
            self._stale = True

    @property
    def evidence(self) -> dict[str, dict[str, Evidence]]:
        """Per endpoint and answer, the redacted exchange and what the patch needs of it."""
        if self._stale:
            self._stale = False
            for endpoint, answers in self._kept.items():
                done = self._redacted.setdefault(endpoint, {})
                for key, kept in answers.items():
                    if key not in done or done[key].seq != kept.seq:
                        found: list[str] = []
                        ex = self.redactor.collect(kept.make(), found)
                        self._secrets.update(copies(found))
                        done[key] = Evidence(ex, kept.real_id, kept.mock_status, kept.seq)
        return self._redacted

    @property
    def secrets(self) -> set[str]:
        """Every secret value the redaction of the evidence replaced."""
        self.evidence  # noqa: B018 - redacts what is not yet
        return self._secrets
