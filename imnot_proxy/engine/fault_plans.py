"""Which fault rules apply where: the partner files' ``faults:``/``latency:`` compiled once
per load, and the faults set at run time, compiled again only when the store's list of
faults in force changes.

``FaultPlans.for_request`` is on every matched request's path: a route that no rule names,
with no fault in force for its partner, costs two lookups and the store's cached list.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..clock import Clock
from ..errors import StoreError
from ..fault_conditions import compile_when
from ..loader import PartnerSource
from ..messages import RequestView
from ..routing import Route
from ..schema.faults import CALLBACK_KINDS, FAULT, LatencySpec
from ..store import FaultRecord, Store
from .faults import STREAMED, Injection, Rule, decide, make_rule

logger = logging.getLogger(__name__)

YAML_SOURCE = "partner file"
UNREACHABLE_LOG_EVERY = 10.0  # seconds between two warnings that faults are not injected


class StoreFacts:
    """``faults.Facts`` over a store."""

    def __init__(self, store: Store):
        self.store = store

    def count(self, key: str) -> tuple[int, float]:
        return self.store.count_fault(key)

    def id_created(self, partner: str, datapoint: str, id: str) -> float | None:
        issued = self.store.get_id(partner, datapoint, id)
        return issued.created if issued is not None else None

    def session_created(self, session: str) -> float | None:
        record = self.store.get_session(session)
        if record is None:
            return None
        return datetime.fromisoformat(record.created_at.replace("Z", "+00:00")).timestamp()


def endpoint_key(text: str) -> tuple[str, str]:
    """``"get /a/{id}/"`` -> ``("GET", "/a/{id}")``, as the partner file models write them."""
    method, _, path = text.strip().partition(" ")
    path = path.strip()
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return method.upper(), path


def runtime_rule(record: FaultRecord, namespaces: dict[str, str] | None = None) -> Rule:
    """A fault set at run time; raises ValueError when its stored spec no longer loads."""
    spec = json.loads(record.spec)
    datapoint = spec.pop("datapoint", None)
    endpoint = spec.pop("endpoint", None)
    fault = FAULT.validate_python(spec)
    condition, problems = compile_when(fault.when, namespaces)
    if problems:
        raise ValueError("; ".join(f"when.{'.'.join(map(str, loc))}: {message}"
                                   for loc, message in problems))
    return make_rule(fault, source=record.id, key=record.id, session=record.session_id,
                     datapoint=datapoint, endpoint=endpoint_key(endpoint) if endpoint else None,
                     set_at=record.created_at, condition=condition)


class FaultPlans:
    """The rules of one engine: static ones per endpoint and per callback datapoint, and an
    index of the faults set at run time, by partner."""

    def __init__(self, partners: Sequence[PartnerSource], store: Store, clock: Clock):
        self.store = store
        self.clock = clock
        self.facts = StoreFacts(store)
        self._endpoints: dict[int, tuple[Rule, ...]] = {}  # id(endpoint model) -> rules
        self._callbacks: dict[tuple[str, str], tuple[Rule, ...]] = {}
        self._records: tuple[FaultRecord, ...] = ()
        self._runtime: dict[str, tuple[Rule, ...]] = {}
        self._broken: set[str] = set()
        self._namespaces: dict[tuple[str, str | None], dict[str, str]] = {}
        self._quiet_until = -math.inf  # no "store unreachable" warning again until then
        loaded = clock()
        for source in partners:
            self._compile(source.model, source.compiled, loaded)

    def _compile(self, partner: Any, compiled: Any, loaded: float) -> None:
        self._namespaces[(partner.partner, None)] = partner.namespaces
        for dp in partner.datapoints:
            self._namespaces[(partner.partner, dp.name)] = {**partner.namespaces,
                                                            **dp.namespaces}

        def rules(owner: Any, where: str) -> list[Rule]:
            found = [make_rule(f, source=YAML_SOURCE, key=_yaml_key(partner.partner, where, i, f),
                               set_at=loaded, condition=_condition(compiled, f))
                     for i, f in enumerate(owner.faults or ())]
            if owner.latency is not None:
                found.append(make_rule(owner.latency, source=YAML_SOURCE, set_at=loaded,
                                       key=_yaml_key(partner.partner, where, "latency",
                                                     owner.latency)))
            return found

        top = rules(partner, "")
        for i, dp in enumerate(partner.datapoints):
            level = rules(dp, f"datapoints.{i}")
            callback_rules: list[Rule] = []
            for j, ep in enumerate(dp.endpoints):
                chain = rules(ep, f"datapoints.{i}.endpoints.{j}") + level + top
                on_request = tuple(r for r in chain if r.kind not in CALLBACK_KINDS)
                if on_request:
                    self._endpoints[id(ep)] = on_request
                callback_rules += [r for r in chain if r.kind in CALLBACK_KINDS
                                   and r not in callback_rules]
            if callback_rules:
                self._callbacks[(partner.partner, dp.name)] = tuple(callback_rules)

    # --- decisions ----------------------------------------------------------------------

    def for_request(self, route: Route, request: RequestView,
                    params: dict[str, str]) -> Injection | None:
        static = self._endpoints.get(id(route.endpoint))
        runtime = self._runtime_for(route.partner)
        if static is None and runtime is None:
            return None
        session = request.session
        if session is not None and not session.isprintable():
            return None  # answered 400 by the engine
        rules = [r for r in runtime or () if r.kind not in CALLBACK_KINDS
                 and r.applies(route.datapoint, route.method, route.path, session)]
        rules += static or ()
        if not rules:
            return None
        return self._decide(rules, request, route.partner, route.datapoint, params)

    def for_passthrough(self, partner: str, request: RequestView) -> Injection | None:
        """Run-time faults for a whole partner also reach its requests that go upstream
        (record mode, unmatched passthrough); a body sent badly is for mocks only."""
        runtime = self._runtime_for(partner)
        if runtime is None:
            return None
        session = request.session
        rules = [r for r in runtime if r.datapoint is None and r.endpoint is None
                 and r.kind not in CALLBACK_KINDS and r.kind not in STREAMED
                 and not (isinstance(r.fault, LatencySpec) and r.fault.body is not None)
                 and (r.session is None or r.session == session)]
        if not rules:
            return None
        return self._decide(rules, request, partner, "", {})

    def for_callback(self, partner: str, datapoint: str, session: str | None) -> Injection | None:
        """The fault of one callback delivery (delay, drop, duplicate, out of order)."""
        runtime = self._runtime_for(partner) or ()
        rules = [r for r in runtime if r.kind in CALLBACK_KINDS
                 and (r.datapoint is None or r.datapoint == datapoint)
                 and (r.session is None or r.session == session)]
        rules += self._callbacks.get((partner, datapoint), ())
        if not rules:
            return None
        return self._decide(rules, RequestView("POST", "", session=session), partner,
                            datapoint, {})

    def _decide(self, rules: list[Rule], request: RequestView, partner: str, datapoint: str,
                params: dict[str, str]) -> Injection | None:
        try:
            return decide(rules, request, partner, datapoint, params, self.facts, self.clock)
        except StoreError as exc:  # no counters: no fault, and the request goes on as usual
            self._unreachable(exc)
            return None

    # --- faults set at run time -----------------------------------------------------------

    def _runtime_for(self, partner: str) -> tuple[Rule, ...] | None:
        try:
            records = self.store.active_faults()
        except StoreError as exc:  # a shared store gone: serve without the faults set in it
            self._unreachable(exc)
            return None
        if not records:
            return None
        if records is not self._records:
            self._index(records)
        return self._runtime.get(partner)

    def _unreachable(self, exc: StoreError) -> None:
        now = time.monotonic()
        if now >= self._quiet_until:
            self._quiet_until = now + UNREACHABLE_LOG_EVERY
            logger.warning("imnot_proxy: faults are not injected while the store is "
                           "unreachable: %s", exc)

    def _index(self, records: tuple[FaultRecord, ...]) -> None:
        by_partner: dict[str, list[Rule]] = {}
        # newest first, and a session's own before those for everyone
        for record in sorted(records, key=lambda r: (r.session_id is None, -r.created_at)):
            try:
                datapoint = json.loads(record.spec).get("datapoint")
                rule = runtime_rule(record, self._namespaces.get((record.partner, datapoint)))
            except (ValueError, TypeError, AttributeError) as exc:
                if record.id not in self._broken:
                    self._broken.add(record.id)
                    logger.warning("imnot_proxy: fault %s cannot be used: %s", record.id, exc)
                continue
            by_partner.setdefault(record.partner, []).append(rule)
        self._runtime = {p: tuple(rules) for p, rules in by_partner.items()}
        self._records = records


def _condition(compiled: Any, fault: Any) -> Any:
    """The request condition the loader compiled for a fault's ``when:``, if any."""
    if compiled is None or fault.when is None or fault.when.request is None:
        return None
    return compiled.get(fault.when)


def _yaml_key(partner: str, where: str, index: int | str, spec: Any) -> str:
    """Counter key of a partner file's fault: where it is and what it says, so that an edited
    fault starts counting again."""
    text = spec.model_dump_json(exclude_none=True)
    digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]
    return f"yaml:{partner}:{where}:{index}:{digest}"


class NoFaults:
    """``FaultPlans`` for an engine that never injects one (verify mode's mock side, whose
    answers are compared with the real partner's)."""

    def for_request(self, route: Route, request: RequestView,
                    params: dict[str, str]) -> Injection | None:
        return None

    def for_passthrough(self, partner: str, request: RequestView) -> Injection | None:
        return None

    def for_callback(self, partner: str, datapoint: str, session: str | None) -> Injection | None:
        return None
