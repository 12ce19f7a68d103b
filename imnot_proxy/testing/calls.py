"""What a test sees of the requests its session made: the journal entries as ``Call`` values,
the matching behind ``assert_called``, and the request log shown when a test fails."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# What ``body=`` may be: a substring, a regular expression, a JSON subset, or a predicate.
BodyMatcher = str | re.Pattern[str] | dict | list | Callable[[str | None], Any]
NOT_KEPT = ("request bodies are not in this proxy's journal: start it with "
            "--set imnot_journal_bodies=4096 (the plugin's own proxy does)")


@dataclass(frozen=True)
class Call:
    """One partner request of the session, as the journal recorded it."""

    kind: str  # mock | miss | passthrough | record | error
    method: str
    url: str
    status: int | None
    partner: str | None = None
    datapoint: str | None = None
    route: str | None = None  # "METHOD /path/{param}" of the matched endpoint
    step: str | None = None
    body: str | None = None  # the request body, redacted, when the journal keeps bodies
    body_kept: bool = False
    request_id: str | None = None
    at: str = ""
    note: str | None = None

    @classmethod
    def of(cls, entry: dict) -> Call:
        return cls(kind=entry["kind"], method=entry["method"], url=entry["url"],
                   status=entry.get("status"), partner=entry.get("partner"),
                   datapoint=entry.get("datapoint"), route=entry.get("route"),
                   step=entry.get("step"), body=entry.get("body"),
                   body_kept="body" in entry, request_id=entry.get("request_id"),
                   at=entry.get("at") or "", note=entry.get("note"))

    @property
    def path(self) -> str:
        """The path, without the query string."""
        return urlsplit(self.url).path

    def json(self) -> Any:
        """The body parsed as JSON (None when there is none or it is not JSON)."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def matches(self, endpoint: str) -> bool:
        """``"POST /jobs"`` or ``"GET /jobs/{id}"`` (the route) or ``"GET /jobs/42"`` (the path);
        ``"partner/datapoint"`` names every endpoint of a datapoint."""
        method, _, path = endpoint.strip().partition(" ")
        if not path:
            return self.datapoint is not None and \
                f"{self.partner}/{self.datapoint}" == endpoint.strip()
        if method.upper() != self.method:
            return False
        path = path.strip()
        return path in (self.path, self.url) or self.route == f"{self.method} {path}"


def body_matches(call: Call, expected: BodyMatcher) -> bool:
    if isinstance(expected, str):
        return call.body is not None and expected in call.body
    if isinstance(expected, re.Pattern):
        return call.body is not None and expected.search(call.body) is not None
    if isinstance(expected, dict | list):
        return contains(call.json(), expected)
    return bool(expected(call.body))


def contains(actual: Any, expected: Any) -> bool:
    """``expected`` is a part of ``actual``: every key of a mapping (recursively), lists and
    other values equal."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and contains(actual[key], value) for key, value in expected.items())
    return actual == expected


def describe(expected: BodyMatcher) -> str:
    if isinstance(expected, re.Pattern):
        return f"matching /{expected.pattern}/"
    if callable(expected) and not isinstance(expected, str | dict | list):
        return f"accepted by {getattr(expected, '__name__', repr(expected))}"
    return f"containing {json.dumps(expected) if not isinstance(expected, str) else expected!r}"


def format_calls(calls: Sequence[Call], session: str) -> str:
    """The request log of a session, one line per request (the failure report section)."""
    if not calls:
        return f"no partner requests in session {session}"
    lines = [f"{len(calls)} partner request(s) in session {session}, oldest first:"]
    for call in calls:
        owner = (f"{call.partner}/{call.datapoint}" if call.partner and call.datapoint
                 else call.partner or "-")
        step = f" {call.step}" if call.step else ""
        time = call.at[11:23] if len(call.at) >= 23 else call.at
        line = (f"  {time}  {call.kind:<11} {call.method} {call.url} -> "
                f"{call.status if call.status is not None else 'no answer'}  [{owner}{step}]")
        if call.kind == "miss" and call.note and "closest:" in call.note:
            line += f"  closest: {call.note.split('closest:', 1)[1].split(' · ')[0].strip()}"
        if call.body:
            body = call.body if len(call.body) <= 300 else call.body[:300] + "…"
            line += f"\n      body: {body}"
        lines.append(line)
    return "\n".join(lines)


def select(calls: Iterable[Call], endpoint: str | None = None, *, partner: str | None = None,
           datapoint: str | None = None, kind: str | None = None) -> list[Call]:
    return [c for c in calls
            if (endpoint is None or c.matches(endpoint))
            and (partner is None or c.partner == partner)
            and (datapoint is None or c.datapoint == datapoint)
            and (kind is None or c.kind == kind)]
