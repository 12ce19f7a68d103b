"""The engine: compiled routes plus one handler per endpoint, built once per load,
and the one decision every request goes through.

``Engine.handle`` takes a ``RequestView`` (what the proxy knows about a request)
and returns one outcome (``outcomes.py``): the admin API, a mocked answer, a
miss, forward untouched, forward and record, or forward and verify. Everything per request is a
lookup; YAML, pydantic and JSON encoding of fixed bodies happen at build time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..clock import Clock
from ..errors import RequestError, StoreError
from ..lang.requestdata import data_of
from ..loader import PartnerSource
from ..messages import MockResponse, RequestView, clean_text, error_response, json_response
from ..routing import Match, Miss, Router
from ..schema import PAYLOAD_PATTERNS
from ..store import Store
from .build import partner_routes
from .choice import NoChoice
from .fault_plans import FaultPlans, NoFaults
from .faults import Injection, reason
from .outcomes import (
    ADMIN,
    FORWARD,
    FORWARD_PARTNER,
    Admin,
    Forward,
    Mocked,
    Outcome,
    Policy,
    Record,
    Unmatched,
    Verify,
    partner_name_for,
)
from .xmlerrors import error_reply

__all__ = ["Admin", "Engine", "EngineSettings", "Forward", "Mocked", "Outcome", "Policy",
           "Record", "Unmatched", "Verify", "is_admin_path", "miss_response",
           "store_unavailable"]


@dataclass(frozen=True)
class EngineSettings:
    default_limit: int = 50
    dispatch: Callable[[Any], None] = lambda job: None  # runs a callback delivery job
    callback_allowed: Callable[[str], str | None] = lambda url: None
    clock: Clock = time.time
    policy: Policy = Policy()
    faults: bool = True  # False: never inject one (verify mode's mock side)


NO_ANSWER = MockResponse(0)  # what a fault that sends no answer leaves in ``Mocked.response``


def is_admin_path(path: str) -> bool:
    return path.startswith("/imnot/") or path == "/healthz"


class Engine:
    """Routes and handlers for one set of partners over one store."""

    def __init__(self, partners: list[PartnerSource], store: Store,
                 settings: EngineSettings | None = None):
        self.partners = partners
        self.store = store
        self.settings = settings or EngineSettings()
        self.policy = self.settings.policy
        self.router = Router()
        self.datapoints: dict[tuple[str, str], Any] = {}
        self.modes: dict[str, str | None] = {s.name: s.model.mode for s in partners}
        self.callback_shapes: dict[tuple[str, str], Any] = {}  # templated callback requests
        self.faults: FaultPlans | NoFaults = (FaultPlans(partners, store, self.settings.clock)
                                              if self.settings.faults else NoFaults())
        self._exact_hosts: dict[str, str] = {}
        self._wild_hosts: list[tuple[str, str]] = []
        for source in partners:
            self._add_partner(source)
            for host in source.model.hosts:
                if host.startswith("*."):
                    self._wild_hosts.append((host[1:], source.name))
                else:
                    self._exact_hosts.setdefault(host, source.name)

    def _add_partner(self, source: PartnerSource) -> None:
        model = source.model
        for dp in model.datapoints:
            known = self.datapoints.get((model.partner, dp.name))
            if known is None or (known.pattern not in PAYLOAD_PATTERNS
                                 and dp.pattern in PAYLOAD_PATTERNS):
                self.datapoints[(model.partner, dp.name)] = dp
        for route in partner_routes(source, self.store, self.settings, self.callback_shapes,
                                    self.faults.for_callback):
            self.router.add(route)

    # --- the decision -------------------------------------------------------------

    def handle(self, request: RequestView) -> Outcome:
        """Decide what a request is, and answer it when it is ours to answer."""
        policy = self.policy
        host = request.host
        if host == policy.admin_host or (request.direct and is_admin_path(request.path)):
            return ADMIN
        found = self.router.resolve(host, request.method, request.path, direct=request.direct)
        if not request.direct:
            recorded = self._record_decision(host, found)
            if recorded is not None:
                if isinstance(recorded, Verify):  # no faults: the drift check compares
                    return recorded  # the partner's own answers (docs/architecture.md)
                return self._passthrough_fault(recorded, recorded.partner, request)
        if isinstance(found, Miss):
            if not request.direct and (not found.host_known or policy.unmatched == "passthrough"):
                if not found.host_known:
                    return FORWARD
                return self._passthrough_fault(FORWARD_PARTNER, self.host_owner(host), request)
            return Unmatched(found, miss_response(found, request))
        if found.route.candidates:
            chosen = self._candidate(found, request)
            if isinstance(chosen, Unmatched):
                return chosen
            found = chosen
        fault = self.faults.for_request(found.route, request, found.params)
        if fault is not None:
            return self._faulted(found, request, fault)
        return Mocked(found.route, self.call(found, request), found.params)

    def _candidate(self, found: Match, request: RequestView) -> Match | Unmatched:
        """The first endpoint on this path whose ``when:`` holds (the unconditional one
        last), or a 404 that says why each did not."""
        group = found.route
        data = data_of(request, found.params)
        for candidate in group.candidates:
            choice = found.choose(candidate)
            if candidate.condition is None:
                return choice
            data.params = choice.params
            if candidate.condition.test(data):
                return choice
        tried = [{"endpoint": c.owner, "when": c.condition.label,
                  "failed": c.condition.why_not(data) or "it held"}
                 for c in group.candidates if c.condition is not None]
        detail = f"no endpoint for {request.method} {clean_text(request.path)} matched"
        response = error_reply(group.errors, request, 404, detail, extra={"tried": tried})
        reason = "; ".join(f"{t['endpoint']}: {t['failed']}" for t in tried)
        return Unmatched(Miss(host_known=True), response, reason=reason, partner=group.partner)

    def _faulted(self, match: Match, request: RequestView, fault: Injection) -> Mocked:
        """A fault that replaces the answer keeps the pattern from running (no id issued,
        no callback sent, no alternative chosen); the others spoil or delay the answer of
        the alternative the pattern chose."""
        if not fault.replaces_answer:
            return Mocked(match.route, self.call(match, request), match.params, fault)
        response = fault.response or NO_ANSWER
        spec = fault.spec
        if fault.kind == "status" and getattr(spec, "body", 0) is None and \
                match.route.errors != "json":  # the default body, in the route's language
            given = {k: v for k, v in response.headers if k.lower() != "content-type"}
            spoken = error_reply(match.route.errors, request, response.status,
                                 reason(response.status), given or None)
            response = replace(spoken, status=response.status)  # the status it was set to
        if request.method == "HEAD" and response.body:
            response = replace(response, headers=response.headers + (
                ("content-length", str(len(response.body))),), body=b"")
        return Mocked(match.route, response, match.params, fault)

    def _passthrough_fault(self, outcome: Forward | Record, partner: str | None,
                           request: RequestView) -> Forward | Record:
        fault = self.faults.for_passthrough(partner, request) if partner else None
        if fault is None:
            return outcome
        if isinstance(outcome, Forward):
            return replace(outcome, fault=fault, partner=partner)
        return replace(outcome, fault=fault)

    def _record_decision(self, host: str, found: Match | Miss) -> Record | Verify | None:
        """Record (or verify) when the host, the partner or the global mode says so, record in spy
        mode for misses, or for a record host that no partner names; None to mock."""
        owner = self.host_owner(host)
        if owner is None and isinstance(found, Match):
            owner = found.route.partner
        if owner is not None:
            mode = ("verify" if self.policy.verify_hosts and self.policy.verifies_host(host)
                    else self.modes.get(owner) or self.policy.mode)
            if mode == "record":
                return Record(owner, host)
            if mode == "verify":
                return Verify(owner, host)
            if isinstance(found, Miss) and self.policy.unmatched == "record":
                return Record(owner, host)
            return None
        if self.policy.records_host(host):
            return Record(partner_name_for(host), host)
        return None

    def call(self, match: Match, request: RequestView) -> MockResponse:
        if request.session is not None and not request.session.isprintable():
            return error_response(400, "the session (X-Imnot-Session or the proxy user name) "
                                       "must be printable UTF-8 text")
        try:
            response = match.route.target(request, match.params)
        except RequestError as exc:
            response = error_reply(match.route.errors, request, exc.status, exc.detail,
                                   exc.headers or None, exc.extra or None)
            if isinstance(exc, NoChoice):  # why, for the flow comment, the journal and the log
                response = replace(response, choice=exc.summary)
        except StoreError as exc:  # state unreachable: say so, and keep serving the rest
            response = store_unavailable(exc)
        if request.method == "HEAD" and response.body:
            headers = response.headers + (("content-length", str(len(response.body))),)
            response = replace(response, headers=headers, body=b"")
        return response

    # --- lookups ------------------------------------------------------------------

    def host_owner(self, host: str) -> str | None:
        """The partner that names this host in its ``hosts:`` list."""
        owner = self._exact_hosts.get(host)
        if owner is None:
            owner = next((name for suffix, name in self._wild_hosts if host.endswith(suffix)),
                         None)
        return owner

    def hosts(self) -> list[str]:
        """Every host pattern the partners name (for TLS interception)."""
        return sorted({*self._exact_hosts, *("*" + s for s, _ in self._wild_hosts)})

    def payload_datapoint(self, partner: str, datapoint: str) -> Any | None:
        dp = self.datapoints.get((partner, datapoint))
        return dp if dp is not None and dp.pattern in PAYLOAD_PATTERNS else None

    def route_labels(self) -> set[str]:
        return {f"{r.host} {r.method} {r.path} ({r.owner})" for r in self.router.routes}


def store_unavailable(exc: StoreError) -> MockResponse:
    """503 naming the store, for a request that needs state the store cannot give now."""
    return error_response(503, str(exc), {"Retry-After": "1"},
                          {"store": exc.store} if exc.store else None)


def miss_response(miss: Miss, request: RequestView) -> MockResponse:
    if miss.allowed:
        return error_response(405, "Method Not Allowed", {"Allow": ", ".join(miss.allowed)})
    detail = clean_text(f"No imnot route for {request.method} {request.path}")
    closest = [f"{r.label} ({r.owner})" for r in miss.closest]
    if closest:
        return json_response(404, {"detail": detail, "closest": closest})
    return error_response(404, detail)
