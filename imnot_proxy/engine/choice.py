"""Choosing by the request: which endpoint of several on one path, and which alternative
of an endpoint, answers.

Conditions are tried in order, first match wins, a choice without ``when`` is the
default. When nothing matches the answer is a 404 that says, for each candidate, the
first condition that failed and why, so a test author sees at once what to change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import RequestError
from ..lang.requestdata import data_of
from ..messages import MockResponse, RequestView

Handler = Callable[[RequestView, dict[str, str]], MockResponse]


@dataclass(frozen=True)
class Choice:
    label: str  # "when#2 (header X-Tier=gold)", or "default"
    condition: Any  # a compiled condition, or None for the default
    handler: Handler


def label_of(index: int, condition: Any) -> str:
    return f"when#{index} ({condition.label})" if condition is not None else "default"


class NoChoice(RequestError):
    """Nothing matched: a 404 listing, per candidate, why not."""

    def __init__(self, what: str, reasons: list[dict[str, str]]):
        detail = f"no {what} matched this request"
        super().__init__(404, detail, extra={"tried": reasons})
        self.summary = f"no {what} matched: " + "; ".join(
            f"{r['alternative']}: {r['failed']}" for r in reasons)


def explain(choices: Sequence[tuple[str, Any]], request: RequestView,
            params: dict[str, str]) -> list[dict[str, str]]:
    data = data_of(request, params)
    return [{"alternative": label, "failed": condition.why_not(data) or "it held"}
            for label, condition in choices if condition is not None]


def chooser(choices: list[Choice]) -> Handler:
    """One endpoint's alternatives as one handler; the answer names the one that answered."""
    def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
        data = data_of(request, params)
        for choice in choices:
            if choice.condition is None or choice.condition.test(data):
                response = choice.handler(request, params)
                return replace(response, choice=choice.label)
        raise NoChoice("alternative", explain([(c.label, c.condition) for c in choices],
                                              request, params))

    return handle
