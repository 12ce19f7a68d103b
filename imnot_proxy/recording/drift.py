"""The drift report: per endpoint, where the real partner's answers and the mock's differ.

Each step adds one pair of answers to one request (the real one first) under
its endpoint (the mock route that answered, or the request's path when none
did): status, Content-Type, Location shape and body shape (``compare``), with
volatile fields left out; where a newly given id shows up in each answer
(``Location`` header, body field); and, for requests on one id, the series of
answers, from which "polls until done" is read. Nothing the report keeps is a
value from a body: key paths, types, statuses, media types, Location shapes
(redacted as recordings are).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .compare import Difference, Ignore, Observed, compare
from .redact import Redactor

MAX_EXAMPLES = 5
MAX_SERIES = 50  # ids followed per endpoint
# Last words of field names that change from answer to answer (``createdAt``, ``trace_id``).
VOLATILE_SUFFIXES = ("at", "time", "timestamp", "date", "token", "etag", "nonce", "signature",
                     "request id", "trace id", "correlation id", "span id", "expires",
                     "expires in", "ts")
STATUS_FIELDS = ("status", "state", "jobStatus", "job_status", "Status", "State")


def volatile(extra: tuple[str, ...] = (), *, defaults: bool = True) -> Ignore:
    """The fields a drift check leaves out: timestamps, tokens, trace ids (by name suffix)
    unless ``defaults`` is off, plus ``extra`` names or dotted paths."""
    base = Ignore.of(extra)
    return Ignore(base.names, base.paths, VOLATILE_SUFFIXES if defaults else ())


@dataclass
class EndpointDrift:
    endpoint: str
    seen: int = 0
    differing: int = 0
    aspects: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    series: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    id_places: tuple[set[str], set[str]] = field(default_factory=lambda: (set(), set()))

    def polls_until_done(self) -> tuple[list[int], list[int]]:
        """Per id followed, how many answers came before the final one (real, mock)."""
        real, mock = [], []
        for a, b in self.series.values():
            if len(a) > 1:
                real.append(_until_final(a))
                mock.append(_until_final(b))
        return real, mock

    @property
    def drifted(self) -> bool:
        real, mock = self.polls_until_done()
        return bool(self.differing) or real != mock

    def view(self) -> dict[str, Any]:
        real, mock = self.polls_until_done()
        aspects = dict(self.aspects)
        if real != mock:
            aspects["polling"] = 1
        out: dict[str, Any] = {"endpoint": self.endpoint, "seen": self.seen,
                               "differing": self.differing, "aspects": aspects,
                               "examples": list(self.examples)}
        if real:
            out["polls_until_done"] = {"real": real, "mock": mock}
        if self.id_places[0] or self.id_places[1]:
            out["id_places"] = {"real": sorted(self.id_places[0]),
                                "mock": sorted(self.id_places[1])}
        return out


class DriftReport:
    """Every compared step, summed up per endpoint."""

    def __init__(self, ignore: Ignore | None = None, redactor: Redactor | None = None):
        self.ignore = ignore if ignore is not None else volatile()
        self.redactor = redactor or Redactor.default()
        self.endpoints: dict[str, EndpointDrift] = {}

    @property
    def ok(self) -> bool:
        return bool(self.endpoints) and not any(e.drifted for e in self.endpoints.values())

    def add(self, endpoint: str, real: Observed, mock: Observed, *, series: str | None = None,
            new_ids: dict[str, str] | None = None, real_ids: tuple[str, ...] = (),
            mock_ids: tuple[str, ...] = ()) -> list[Difference]:
        """Compare one step; returns its differences (redacted)."""
        entry = self.endpoints.get(endpoint)
        if entry is None:
            entry = self.endpoints[endpoint] = EndpointDrift(self.redactor.url(endpoint))
        entry.seen += 1
        found = [self._redacted(d) for d in compare(real, mock, ignore=self.ignore,
                                                    expected_ids=real_ids,
                                                    got_ids=mock_ids).differences]
        if new_ids:
            places = (set(), set())
            for real_id, mock_id in new_ids.items():
                places[0].update(id_places(real, real_id))
                places[1].update(id_places(mock, mock_id))
            entry.id_places[0].update(places[0])
            entry.id_places[1].update(places[1])
            if places[0] != places[1]:
                found.append(Difference("id", f"given out in {_listing(places[0])} ≠ "
                                              f"{_listing(places[1])}"))
        if series is not None and (series in entry.series or len(entry.series) < MAX_SERIES):
            labels = entry.series.setdefault(series, ([], []))
            labels[0].append(label(real))
            labels[1].append(label(mock))
        if found:
            entry.differing += 1
            entry.aspects.update(d.aspect for d in found)
            for d in found:
                text = str(d)
                if text not in entry.examples and len(entry.examples) < MAX_EXAMPLES:
                    entry.examples.append(text)
        return found

    def _redacted(self, d: Difference) -> Difference:
        return Difference(d.aspect, self.redactor.url(d.detail)) if d.aspect == "location" \
            else d

    def view(self) -> dict[str, Any]:
        endpoints = [e.view() for e in sorted(
            self.endpoints.values(), key=lambda e: (not e.drifted, -e.differing, e.endpoint))]
        return {"ok": self.ok, "ignored": {"names": sorted(self.ignore.names),
                                           "paths": sorted(self.ignore.paths),
                                           "suffixes": list(self.ignore.suffixes)},
                "endpoints": endpoints}


def _until_final(labels: list[str]) -> int:
    return labels.index(labels[-1])


def _listing(places: set[str]) -> str:
    return ", ".join(sorted(places)) or "nowhere"


def label(answer: Observed) -> str:
    """An answer in one word: its status-like body field, else the HTTP status."""
    value = answer.json()
    if isinstance(value, dict):
        for key in STATUS_FIELDS:
            if isinstance(value.get(key), str):
                return value[key]
    return str(answer.status)


def id_places(answer: Observed, value: str) -> set[str]:
    """Where an id shows up in an answer: ``header <name>``, ``body $.path``."""
    out = {f"header {k.lower()}" for k, v in answer.headers if value in v}
    body = answer.json()

    def walk(item: Any, path: str) -> None:
        if isinstance(item, dict):
            for key, child in item.items():
                walk(child, f"{path}.{key}")
        elif isinstance(item, list):
            for child in item:
                walk(child, f"{path}[]")
        elif isinstance(item, str | int) and not isinstance(item, bool) \
                and value in str(item):
            out.add(f"body {path}")

    if body is not None:
        walk(body, "$")
    return out


def to_json(report: DriftReport) -> str:
    return json.dumps(report.view(), indent=2, ensure_ascii=False)


def format_drift_line(endpoint: dict[str, Any]) -> str:
    """One endpoint of ``DriftReport.view()`` as a line of text."""
    line = f"{endpoint['endpoint']}: {endpoint['differing']}/{endpoint['seen']} differ"
    if endpoint["examples"]:
        line += " · " + "; ".join(endpoint["examples"])
    polls = endpoint.get("polls_until_done")
    if polls and polls["real"] != polls["mock"]:
        line += f" · polls until done: real {polls['real']}, mock {polls['mock']}"
    return line
