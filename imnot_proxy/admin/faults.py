"""Faults set at run time: add, list, delete and clear them (``/imnot/admin/faults``, the
``imnot-proxy fault`` commands).

A fault is checked in full before anything is stored (its kind and parameters against the
same models as the partner files, the request condition of its ``when:`` compiled as a
partner file's is, its partner, datapoint and endpoint against the partners being served),
so a bad one is a 4xx and nothing is half-applied. Values over the caps are
capped and the answer says so under ``warnings``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pydantic

from ..clock import Clock, iso
from ..definitions import Definitions
from ..engine.fault_plans import endpoint_key
from ..errors import RequestError
from ..fault_conditions import CALLBACK_CONDITION, compile_when
from ..messages import loads_json
from ..routing import is_param, split_path
from ..schema.faults import (
    CALLBACK_KINDS,
    FAULT,
    FAULT_KINDS,
    SCOPE_KEYS,
    FaultScope,
    fault_warnings,
)
from ..store import FaultRecord, Store

MAX_FAULT_BYTES = 64 * 1024


class FaultAdmin:
    def __init__(self, definitions: Definitions, store: Store, clock: Clock = time.time):
        self.definitions = definitions
        self.store = store
        self.clock = clock

    def add(self, body: bytes) -> dict:
        """Check and store one fault; its view, with ``id`` and any ``warnings``."""
        data = _json_object(body)
        scoped = {k: v for k, v in data.items() if k in SCOPE_KEYS}
        rest = {k: v for k, v in data.items() if k not in SCOPE_KEYS}
        try:
            scope = FaultScope.model_validate(scoped)
        except pydantic.ValidationError as exc:
            raise RequestError(422, _messages(exc)) from None
        try:
            fault = FAULT.validate_python(rest)
        except pydantic.ValidationError as exc:
            raise RequestError(422, _messages(exc)) from None
        datapoint, endpoint = self._target(scope, fault)
        self._check_condition(scope.partner, datapoint, fault)
        spec: dict[str, Any] = {"datapoint": datapoint, "endpoint": endpoint,
                                **fault.model_dump(mode="json", exclude_defaults=True),
                                "kind": fault.kind}
        spec = {k: v for k, v in spec.items() if v is not None}
        expires_at = self.clock() + scope.expires_in if scope.expires_in else None
        record = self.store.add_fault(scope.partner, scope.session,
                                      json.dumps(spec, separators=(",", ":")).encode(),
                                      expires_at)
        view = fault_view(record)
        warnings = [f"{'.'.join(str(p) for p in loc)}: {message}"
                    for loc, message in fault_warnings(fault)]
        if warnings:
            view["warnings"] = warnings
        return view

    def list(self, session: str | None = None) -> list[dict]:
        return [fault_view(r) for r in self.store.list_faults(session)]

    def delete(self, fault_id: str) -> dict:
        if not self.store.delete_fault(fault_id):
            raise RequestError(404, f"No fault '{fault_id}'")
        return {"status": "ok", "id": fault_id}

    def clear(self, session: str | None = None) -> dict:
        return {"status": "ok", "deleted": self.store.clear_faults(session)}

    def _target(self, scope: FaultScope, fault: Any) -> tuple[str | None, str | None]:
        """The datapoint and ``"METHOD /path"`` the fault is for, checked against the partners
        being served (an endpoint alone names its datapoint)."""
        engine = self.definitions.current()
        model = next((s.model for s in engine.partners if s.name == scope.partner), None)
        if model is None:
            known = ", ".join(s.name for s in engine.partners) or "none"
            raise RequestError(404, f"No partner '{scope.partner}' (partners: {known})")
        datapoints = [dp for dp in model.datapoints
                      if scope.datapoint is None or dp.name == scope.datapoint]
        if not datapoints:
            known = ", ".join(dp.name for dp in model.datapoints)
            raise RequestError(404, f"No datapoint '{scope.datapoint}' in partner "
                                    f"'{scope.partner}' (datapoints: {known})")
        datapoint, endpoint, path = scope.datapoint, None, None
        if scope.endpoint is not None:
            wanted = endpoint_key(scope.endpoint)
            owner = next((dp for dp in datapoints for ep in dp.endpoints
                          if (ep.method, ep.path) == wanted), None)
            if owner is None:
                known = ", ".join(f"{ep.method} {ep.path}" for dp in datapoints
                                  for ep in dp.endpoints)
                raise RequestError(404, f"No endpoint '{scope.endpoint}' in "
                                        f"{scope.partner}{'/' + datapoint if datapoint else ''}"
                                        f" (endpoints: {known})")
            datapoint, endpoint, path = owner.name, f"{wanted[0]} {wanted[1]}", wanted[1]
            datapoints = [owner]
        if fault.kind in CALLBACK_KINDS and not any(dp.pattern == "callback"
                                                    for dp in datapoints):
            raise RequestError(422, f"'{fault.kind}' applies to callback deliveries: name a "
                                    "datapoint with pattern 'callback'")
        when = fault.when
        if when is not None and when.seconds is not None and when.since == "id" \
                and path is not None and "id" not in _params(path):
            raise RequestError(422, "'since: id' reads the generated id from the path, and "
                                    f"'{endpoint}' has no '{{id}}' segment")
        return datapoint, endpoint


    def _check_condition(self, partner: str, datapoint: str | None, fault: Any) -> None:
        """The request condition of ``when:`` compiles, as a partner file's would (with the
        partner's and the datapoint's XPath prefixes)."""
        when = fault.when
        if when is None or when.request is None:
            return
        if fault.kind in CALLBACK_KINDS:
            raise RequestError(422, f"when: {CALLBACK_CONDITION}")
        model = next(s.model for s in self.definitions.current().partners if s.name == partner)
        namespaces = dict(model.namespaces)
        namespaces.update(next((dp.namespaces for dp in model.datapoints
                                if dp.name == datapoint), {}))
        _, problems = compile_when(when, namespaces)
        if problems:
            raise RequestError(422, [f"when.{'.'.join(map(str, loc))}: {message}"
                                     for loc, message in problems])


def fault_view(record: FaultRecord) -> dict:
    spec = json.loads(record.spec)
    return {"id": record.id, "partner": record.partner, "session": record.session_id,
            **spec, "created_at": iso(record.created_at),
            "expires_at": iso(record.expires_at) if record.expires_at is not None else None}


def _json_object(body: bytes) -> dict:
    if len(body) > MAX_FAULT_BYTES:
        raise RequestError(413, f"a fault is at most {MAX_FAULT_BYTES:,} bytes of JSON")
    try:
        data = loads_json(body) if body.strip() else None
    except ValueError:
        raise RequestError(400, "Invalid JSON body") from None
    if not isinstance(data, dict):
        raise RequestError(422, "a fault is a JSON object with 'kind' and 'partner'")
    return data


def _messages(exc: pydantic.ValidationError) -> list[str]:
    """``field.path: message`` for each problem; a fault's kind tag is not part of the path."""
    kinds = ", ".join(FAULT_KINDS)
    out = []
    for err in exc.errors(include_url=False):
        if err["type"] == "union_tag_invalid":
            out.append(f"kind: unknown fault kind '{err['ctx']['tag']}'; supported: {kinds}")
            continue
        if err["type"] == "union_tag_not_found":
            out.append(f"kind: is required (one of: {kinds})")
            continue
        loc = [str(p) for p in err["loc"]]
        if loc and loc[0] in FAULT_KINDS:
            loc = loc[1:]
        message = err["msg"].removeprefix("Value error, ")
        out.append(f"{'.'.join(loc)}: {message}" if loc else message)
    return out


def _params(path: str) -> set[str]:
    return {s[1:-1] for s in split_path(path) if is_param(s)}

