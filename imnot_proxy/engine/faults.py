"""The fault decision: given the rules that apply to a request, the request itself, counters
from the store and a clock, what to inject, if anything.

A ``Rule`` is one fault (or a ``latency:`` key) ready to decide: where it was declared, the
session it is limited to, and the key its requests are counted under. ``decide`` looks at
every rule that applies, in order (run-time faults for the session, run-time faults for
everyone, then the endpoint's, the datapoint's and the partner's own), and takes the first
latency and the first fault that fire. A rule's request condition (``when: {header: ...}``)
is tested first: a request it does not hold for is not counted. Every rule counts every
other request it applies to, so its schedule does not depend on the others. Nothing here touches mitmproxy: the
``Injection`` says what to do and the proxy's glue (``faultglue.py``) does it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Protocol

from ..clock import Clock
from ..lang.requestdata import data_of
from ..messages import MockResponse, RequestView
from ..schema.faults import (
    MAX_DELAY_MS,
    MAX_HANG_SECONDS,
    LatencySpec,
    StatusFault,
    When,
)
from .answers import fixed_response

# What each kind does to the answer: replace it, or send the mock's answer badly.
REPLACING = frozenset({"status", "hang", "reset", "empty_reply"})
STREAMED = frozenset({"truncated", "malformed_chunk"})
DELAYS = frozenset({"latency", "callback_delay"})  # combine with the first fault that fires
ORDINALS = {1: "st", 2: "nd", 3: "rd"}


class Facts(Protocol):
    """What deciding may need from the store."""

    def count(self, key: str) -> tuple[int, float]: ...
    def id_created(self, partner: str, datapoint: str, id: str) -> float | None: ...
    def session_created(self, session: str) -> float | None: ...


@dataclass(frozen=True, eq=False)
class Rule:
    """One fault (or ``latency:`` key) where it applies.

    ``source``: ``"partner file"`` or the id of a fault set at run time; ``key``: what its
    requests are counted under (a run-time fault's id, so that deleting it drops them);
    ``session``: the only session it applies to (None: everyone); ``datapoint`` and
    ``endpoint`` (``(METHOD, path)``) narrow a run-time fault; ``set_at``: when it was set
    or loaded. ``response``: a status fault's answer, encoded once; ``condition``: the
    compiled request condition of its ``when:``.
    """

    fault: Any  # a schema fault model, or LatencySpec for a latency: key
    kind: str
    source: str
    key: str
    session: str | None = None
    datapoint: str | None = None
    endpoint: tuple[str, str] | None = None
    set_at: float = 0.0
    response: MockResponse | None = field(default=None, repr=False)
    condition: Any = field(default=None, repr=False)

    def applies(self, datapoint: str, method: str, path: str, session: str | None) -> bool:
        return ((self.session is None or self.session == session)
                and (self.datapoint is None or self.datapoint == datapoint)
                and (self.endpoint is None or self.endpoint == (method, path)))


def make_rule(fault: Any, *, source: str, key: str, session: str | None = None,
              datapoint: str | None = None, endpoint: tuple[str, str] | None = None,
              set_at: float = 0.0, condition: Any = None) -> Rule:
    kind = getattr(fault, "kind", "latency")
    response = status_response(fault) if isinstance(fault, StatusFault) else None
    return Rule(fault, kind, source, key, session, datapoint, endpoint, set_at, response,
                condition)


def status_response(fault: StatusFault) -> MockResponse:
    headers = dict(fault.headers)
    if fault.retry_after is not None and not any(k.lower() == "retry-after" for k in headers):
        headers["Retry-After"] = str(fault.retry_after)
    body = fault.body if fault.body is not None else {"detail": reason(fault.status)}
    return fixed_response(fault.status, headers, body, absent_body=None)


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@dataclass(frozen=True)
class Injection:
    """What to do to one request: wait ``delay`` seconds, then do ``kind``.

    ``kind`` is ``latency`` (answer normally, late; with ``dribble`` its body slowly),
    one of ``REPLACING`` (``response`` is a status fault's answer; ``hang`` is the most a
    hang waits) or one of ``STREAMED`` (``cut``: bytes of the body that get through).
    ``label`` and ``notes`` are for people: the flow comment, the journal and the log.
    """

    kind: str
    delay: float = 0.0
    dribble: tuple[int, float] | None = None
    response: MockResponse | None = None
    hang: float = 0.0
    cut: int | None = None
    label: str = ""
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    spec: Any = field(default=None, compare=False, repr=False)  # the fault model that fired

    @property
    def replaces_answer(self) -> bool:
        return self.kind in REPLACING

    @property
    def streamed(self) -> bool:
        """Sent through a response stream: a body sent badly, or slowly (a mock's answer
        or a status fault's; a reset or a hang has no body to send)."""
        return self.kind in STREAMED or (self.dribble is not None
                                         and self.kind in ("latency", "status"))

    def meta(self) -> dict:
        """The flow metadata and journal form."""
        view: dict[str, Any] = {"kind": self.kind, "label": self.label,
                                "sources": list(self.sources), "notes": list(self.notes)}
        if self.delay:
            view["delay_ms"] = round(self.delay * 1000, 1)
        if self.dribble:
            view["dribble"] = {"bytes": self.dribble[0], "every_ms": self.dribble[1] * 1000}
        return view


@dataclass
class _Fired:
    rule: Rule
    notes: list[str]
    n: int | None


def decide(rules: Sequence[Rule], request: RequestView, partner: str, datapoint: str,
           params: dict[str, str], facts: Facts, clock: Clock) -> Injection | None:
    """The latency and the fault to inject into this request, or None."""
    session = request.session
    latency: _Fired | None = None
    fault: _Fired | None = None
    for rule in rules:
        fired = _fires(rule, request, partner, datapoint, params, facts, clock)
        if fired is None:
            continue
        if rule.kind in DELAYS:
            latency = latency or fired
        elif fault is None:
            fault = fired
    if latency is None and fault is None:
        return None
    return _injection(latency, fault, session)


def _fires(rule: Rule, request: RequestView, partner: str, datapoint: str,
           params: dict[str, str], facts: Facts, clock: Clock) -> _Fired | None:
    notes: list[str] = []
    if rule.condition is not None:  # before counting: requests it does not hold for are not
        if not rule.condition.test(data_of(request, params or None)):
            return None
        notes.append(rule.condition.label)
    session = request.session
    when: When | None = getattr(rule.fault, "when", None)
    seeded = getattr(rule.fault, "seed", None) is not None
    n = first_at = None
    if (when is not None and when.counted) or seeded:
        scope = "*" if when is not None and when.per == "all" else (session or "")
        n, first_at = facts.count(f"{rule.key}|{scope}")
    if when is None:
        return _Fired(rule, notes, n)
    if when.first is not None:
        if n > when.first:  # type: ignore[operator]
            return None
        notes.append(f"{ordinal(n)} of {when.first}")  # type: ignore[arg-type]
    if when.every is not None:
        if n % when.every:  # type: ignore[operator]
            return None
        notes.append(f"{ordinal(n)} request, every {ordinal(when.every)}")  # type: ignore[arg-type]
    if when.seconds is not None:
        start = _window_start(when.since, rule, session, partner, datapoint, params, facts,
                              first_at)
        if start is None:
            return None
        elapsed = clock() - start
        if not 0 <= elapsed < when.seconds:
            return None
        notes.append(f"{elapsed:.1f} s into {when.seconds:g} s after {when.since}")
    if when.probability is not None:
        draw = (random.Random(f"{when.seed}|{rule.key}|{n}").random() if when.seed is not None
                else random.random())
        if draw >= when.probability:
            return None
        notes.append(f"p={when.probability:g}")
    return _Fired(rule, notes, n)


def _window_start(since: str, rule: Rule, session: str | None, partner: str, datapoint: str,
                  params: dict[str, str], facts: Facts, first_at: float | None) -> float | None:
    if since == "set":
        return rule.set_at
    if since == "id":
        id = params.get("id")
        return facts.id_created(partner, datapoint, id) if id else None
    if since == "session" and session:
        created = facts.session_created(session)
        if created is not None:
            return created
    return first_at


def _injection(latency: _Fired | None, fault: _Fired | None,
               session: str | None) -> Injection:
    delay, dribble, notes, sources = 0.0, None, [], []
    labels: list[str] = []
    if latency is not None:
        spec: LatencySpec = latency.rule.fault
        delay = sample_delay(spec, latency.rule.key, latency.n)
        if spec.body is not None:
            dribble = (spec.body.bytes, min(spec.body.every_ms, MAX_DELAY_MS) / 1000)
        labels.append(latency_label(delay, dribble))
        notes += latency.notes
        sources.append(latency.rule.source)
    kind, response, hang, cut, spec = "latency", None, 0.0, None, None
    if latency is not None:
        kind = latency.rule.kind
    if fault is not None:
        rule = fault.rule
        kind, response, spec = rule.kind, rule.response, rule.fault
        if kind == "hang":
            hang = min(rule.fault.max_seconds, MAX_HANG_SECONDS)
        if kind in STREAMED:
            cut = rule.fault.bytes
        labels.insert(0, fault_label(rule, hang))
        notes += fault.notes
        sources.append(rule.source)
    if session:
        notes.insert(0, f"session {session}")
    notes += [f"fault {s}" for s in sources if s != "partner file"]
    return Injection(kind, delay, dribble, response, hang, cut, ", ".join(labels),
                     tuple(notes), tuple(sources), spec)


def sample_delay(spec: LatencySpec, key: str, n: int | None) -> float:
    """Seconds to wait, drawn from the spec's distribution and capped."""
    rng: Any = random.Random(f"{spec.seed}|{key}|{n}") if spec.seed is not None else random
    if spec.ms is not None:
        ms = spec.ms
    elif spec.uniform_ms is not None:
        ms = rng.uniform(*spec.uniform_ms)
    elif spec.median_ms is not None:
        ms = rng.lognormvariate(math.log(spec.median_ms), spec.sigma) if spec.median_ms else 0.0
    else:
        ms = 0.0
    cap = min(spec.max_ms if spec.max_ms is not None else MAX_DELAY_MS, MAX_DELAY_MS)
    return min(ms, cap) / 1000


def latency_label(delay: float, dribble: tuple[int, float] | None) -> str:
    parts = [f"latency {delay * 1000:.0f} ms"] if delay or not dribble else []
    if dribble:
        parts.append(f"slow body {dribble[0]} B every {dribble[1] * 1000:g} ms")
    return ", ".join(parts)


def fault_label(rule: Rule, hang: float) -> str:
    if rule.kind == "status":
        return str(rule.fault.status)
    if rule.kind == "hang":
        return f"hang {hang:g} s"
    return rule.kind.replace("_", " ")


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else ORDINALS.get(n % 10, "th")
    return f"{n}{suffix}"
