"""Rules that span several fields or files, checked at load time.

The original documents these but finds them late or never (``imnot-behaviour``
§2.10, §2.11): polling steps numbered and unique, id delivery complete and
``{id}`` where it is needed, callback URL source, where ``rate_limit`` may
appear, and route conflicts between partners. Each finding is a location
(tuple of keys) plus a message, so the loader can point at the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pydantic

from . import schema
from .fault_rules import check_faults
from .lang.condition_sources import HeaderSource
from .lang.conditions import All, Leaf, Not, SoapAction, compile_condition
from .routing import ANY_HOST, Route, Router, is_param, path_shape, split_path

Finding = tuple[tuple, str, str]  # (location, message, severity)


def check_partner(partner: schema.Partner) -> list[Finding]:
    findings: list[Finding] = []
    if _has_control(partner.partner):
        findings.append((("partner",), "control characters are not allowed in a name", "error"))
    elif not schema.PARTNER_NAME_RE.fullmatch(partner.partner):
        findings.append(
            (("partner",), "name should match ^[a-zA-Z0-9_-]{1,64}$ to be usable in admin URLs",
             "warning")
        )
    seen_names: dict[str, int] = {}
    routes: dict[tuple[str, str], list[tuple[str, tuple, object]]] = {}
    for i, dp in enumerate(partner.datapoints):
        where = ("datapoints", i)
        if _has_control(dp.name):
            findings.append((where + ("name",), "control characters are not allowed in a name",
                             "error"))
        elif not schema.PARTNER_NAME_RE.fullmatch(dp.name):
            findings.append((where + ("name",), "name should match ^[a-zA-Z0-9_-]{1,64}$ to be "
                             "usable in admin URLs (payload uploads)", "warning"))
        if dp.name in seen_names:
            findings.append((where + ("name",),
                             f"datapoint name '{dp.name}' is also used by datapoints."
                             f"{seen_names[dp.name]}; both share one payload", "warning"))
        seen_names.setdefault(dp.name, i)
        findings.extend(_check_datapoint(dp, where))
        for j, ep in enumerate(dp.endpoints):
            key = (ep.method, path_shape(ep.path))
            for other_dp, other_loc, other_when in routes.get(key, []):
                if not same_condition(ep.when, other_when):
                    continue
                if other_dp != dp.name:
                    findings.append((where + ("endpoints", j, "path"),
                                     f"route {ep.method} {ep.path} is already defined by "
                                     f"datapoint '{other_dp}' ({_dotted(other_loc)})"
                                     + _when_hint(ep.when), "error"))
                else:  # the original accepts it (the first declaration answers): a warning
                    findings.append((where + ("endpoints", j, "path"),
                                     f"this endpoint never answers: {ep.method} {ep.path} is "
                                     f"declared before it by {_dotted(other_loc)}"
                                     + _when_hint(ep.when), "warning"))
                break
            routes.setdefault(key, []).append((dp.name, where + ("endpoints", j), ep.when))
    findings.extend(check_faults(partner))
    return findings


def check_valid_datapoints(data: dict, broken: set[int]) -> list[Finding]:
    """``check_partner`` over the datapoints that validate while the ``broken`` ones do not,
    so that one run reports both kinds of problem; locations and messages keep the file's
    own datapoint numbers. Nothing when the rest does not validate either."""
    datapoints = data.get("datapoints")
    if not isinstance(datapoints, list):
        return []
    kept = [i for i in range(len(datapoints)) if i not in broken]
    try:
        partner = schema.Partner.model_validate({**data, "datapoints": [datapoints[i]
                                                                        for i in kept]})
    except pydantic.ValidationError:
        return []

    def number(match: re.Match[str]) -> str:
        return f"datapoints.{kept[int(match.group(1))]}"

    findings = []
    for loc, message, severity in check_partner(partner):
        if loc[:1] == ("datapoints",) and len(loc) > 1 and isinstance(loc[1], int):
            loc = ("datapoints", kept[loc[1]], *loc[2:])
        findings.append((loc, re.sub(r"datapoints\.(\d+)", number, message), severity))
    return findings


def _check_datapoint(dp: schema.DatapointBase, where: tuple) -> Iterator[Finding]:
    for j, ep in enumerate(dp.endpoints):  # type: ignore[attr-defined]
        at = where + ("endpoints", j)
        if dp.pattern not in schema.PAYLOAD_PATTERNS:
            if ep.payload is not None:
                yield (at + ("payload",), f"a '{dp.pattern}' endpoint answers no payload",
                       "error")
            for k, alt in enumerate(ep.alternatives or ()):
                if alt.payload is not None:
                    yield (at + ("alternatives", k, "payload"),
                           f"a '{dp.pattern}' endpoint answers no payload", "error")
        capture = getattr(ep, "capture", None)
        if capture and dp.pattern == "polling" and not ep.response.generates_id:
            yield (at + ("capture",), "values are captured by the step that generates the id",
                   "error")
        if ep.alternatives and ep.alternatives[-1].when is not None \
                and any(a.when is None for a in ep.alternatives[:-1]):
            first = next(k for k, a in enumerate(ep.alternatives) if a.when is None)
            yield (at + ("alternatives", first),
                   "the alternative without 'when' answers every request: the ones after it "
                   "are never used (put it last)", "warning")
        if ep.rate_limit is not None and not _rate_limit_allowed(dp):
            yield (where + ("endpoints", j, "rate_limit"),
                   "'rate_limit' is only supported on 'fetch' endpoints and on 'paginated' "
                   "endpoints with style 'page_number_url'", "error")
    if isinstance(dp, schema.PollingDatapoint):
        yield from _check_polling(dp, where)
    elif isinstance(dp, schema.CallbackDatapoint):
        for j, ep in enumerate(dp.endpoints):
            r = ep.response
            if bool(r.callback_url_field) == bool(r.callback_url_header):
                yield (where + ("endpoints", j, "response"),
                       "give exactly one of 'callback_url_field' or 'callback_url_header'", "error")


def _rate_limit_allowed(dp: schema.DatapointBase) -> bool:
    if isinstance(dp, schema.FetchDatapoint):
        return True
    return isinstance(dp, schema.PaginatedDatapoint) and dp.pagination.style == "page_number_url"


def _check_polling(dp: schema.PollingDatapoint, where: tuple) -> Iterator[Finding]:
    steps: dict[int, int] = {}
    several = len(dp.endpoints) > 1
    has_submit = any(ep.response.generates_id for ep in dp.endpoints)
    for j, ep in enumerate(dp.endpoints):
        at = where + ("endpoints", j)
        r = ep.response
        if ep.step is None:
            if several:
                yield (at, "polling endpoints need a 'step' number", "error")
        elif ep.step in steps:
            yield (at + ("step",), f"step {ep.step} is also used by endpoints.{steps[ep.step]}",
                   "error")
        else:
            steps[ep.step] = j
        if r.generates_id:
            if r.returns_payload:
                yield (at + ("response", "returns_payload"),
                       "not used: a step that generates the id is the submit step (as in the "
                       "original); it does not also return the payload", "warning")
            if r.id_header and not r.id_header_value:
                yield (at + ("response",), "'id_header' needs 'id_header_value'", "error")
            elif r.id_header_value and not r.id_header:
                yield (at + ("response",), "'id_header_value' needs 'id_header'", "error")
            elif not (r.id_header or r.id_body_field or r.id_xpath or _places_id(r.body)):
                yield (at + ("response",),
                       "a step with 'generates_id' needs 'id_header' + 'id_header_value', "
                       "'id_body_field', 'id_xpath' (XML), or a body that names {id}, to "
                       "deliver the id", "error")
            if r.id_header_value and "{id}" not in r.id_header_value:
                yield (at + ("response", "id_header_value"),
                       "has no '{id}': the header is sent as written (as the original does) "
                       "and the client never learns the id", "warning")
            if r.id_xpath and not isinstance(r.body, str):
                yield (at + ("response", "id_xpath"),
                       "needs an XML 'body' (text) to place the id in", "error")
            if r.pending:
                yield (at + ("response", "pending"), "'pending' belongs on a status step",
                       "error")
            if r.failed:
                yield (at + ("response", "failed"),
                       "'failed' is not used on the step that generates the id", "warning")
            if r.id_header and r.id_header_value and r.id_body_field:
                yield (at + ("response", "id_body_field"),
                       "not used: the id is delivered in the header", "warning")
        else:
            needs_id = r.returns_payload or r.pending or dp.strict_order
            if needs_id and "id" not in _params(ep.path):
                yield (at + ("path",),
                       "this step reads the generated id: its path needs an '{id}' segment",
                       "error")
            if r.returns_payload and not has_submit:
                yield (at + ("response", "returns_payload"),
                       "no step of this datapoint has 'generates_id', so no id can be fetched",
                       "error")
            if r.returns_payload and (r.body is not None or r.headers) and not r.template:
                yield (at + ("response",),
                       "'body' and 'headers' are not used on a step that returns the payload",
                       "warning")
            if r.returns_payload and r.pending:
                yield (at + ("response", "pending"),
                       "'pending' belongs on a status step, not on the result step", "error")
    if dp.strict_order and not has_submit:
        yield (where + ("strict_order",), "needs a step with 'generates_id'", "error")


def _places_id(body: object) -> bool:
    return isinstance(body, str) and ("{id}" in body or "{{" in body)


def same_condition(a: object, b: object) -> bool:
    """Two endpoints on one path conflict unless their ``when:`` tell them apart: both
    without one, or both with the same one (however it is written: shorthand or not,
    header names in any case, ``all`` members in any order), is a conflict."""
    return _canonical(a) == _canonical(b)


def _canonical(when: object) -> object:
    if when is None:
        return None
    condition, problems = compile_condition(when)
    if condition is None or problems:  # reported where the condition is compiled
        return ("as written", repr(when))
    return _key(condition)


def _key(node: object) -> object:
    if isinstance(node, Leaf):
        source = node.source
        name = source.arg.lower() if isinstance(source, HeaderSource) else source.arg
        return ("leaf", source.key, name, node.operator.label)
    if isinstance(node, SoapAction):
        return ("soap_action", node.operation)
    if isinstance(node, Not):
        return ("not", _key(node.child))
    if isinstance(node, All):  # AnyOf too
        return (type(node).__name__, frozenset(_key(c) for c in node.children))
    return ("other", getattr(node, "label", repr(node)))


def _when_hint(when: object) -> str:
    return ("; give each a different 'when:' to tell them apart" if when is None else
            " with the same 'when:'")


def _has_control(name: str) -> bool:
    return not name.isprintable()


def _params(path: str) -> set[str]:
    return {s[1:-1] for s in split_path(path) if is_param(s)}


def _dotted(loc: tuple) -> str:
    return ".".join(str(p) for p in loc)


@dataclass(frozen=True)
class DeclaredRoute:
    """A route a partner file declares, and which datapoint and endpoint declare it."""

    route: Route
    datapoint: int  # index in ``datapoints``
    endpoint: int  # index in that datapoint's ``endpoints``

    @property
    def loc(self) -> tuple:
        return ("datapoints", self.datapoint, "endpoints", self.endpoint)


def route_entries(partner: schema.Partner) -> Iterator[DeclaredRoute]:
    """Every route a partner declares, one per host key."""
    hosts = partner.hosts or [ANY_HOST]
    for i, dp in enumerate(partner.datapoints):
        for j, ep in enumerate(dp.endpoints):
            for host in hosts:
                route = Route(host=host, method=ep.method, path=ep.path, partner=partner.partner,
                              datapoint=dp.name, pattern=dp.pattern, step=ep.step, endpoint=ep)
                yield DeclaredRoute(route, i, j)


def _when(route: Route) -> object:
    return getattr(route.endpoint, "when", None) if route.condition is None else route.condition


SourceFinding = tuple[object, tuple, str]  # (partner source, location, message): an error


def check_across(sources: list) -> tuple[list, list[SourceFinding]]:
    """Reject partners whose name or routes collide with a partner accepted before them.

    ``sources`` are loaded partner sources (``.name``, ``.file``, ``.model``); returns the
    accepted ones and, for the others, what collided and where.
    """
    accepted: list = []
    findings: list[SourceFinding] = []
    names: dict[str, object] = {}
    router = Router()
    for source in sources:
        found: list[SourceFinding] = []
        first = names.get(source.name)
        if first is not None:
            found.append((source, ("partner",),
                          f"partner '{source.name}' is already defined in {first}"))
        entries = list(route_entries(source.model))
        for entry in entries:
            route = entry.route
            existing = router.find(route)
            members = (existing.candidates or (existing,)) if existing is not None else ()
            other = next((m for m in members if m.partner != route.partner
                          and same_condition(_when(m), _when(route))), None)
            if other is not None:
                where = "any host" if route.host == ANY_HOST else route.host
                found.append((source, entry.loc + ("path",),
                              f"route conflict: {route.method} {route.path} on {where} "
                              f"is already served by {other.owner}" + _when_hint(_when(route))))
        if found:
            findings.extend(found)
            continue
        for entry in entries:
            when = _when(entry.route)
            router.add(replace(entry.route, condition=when) if when is not None else entry.route)
        names[source.name] = source.file
        accepted.append(source)
    return accepted, findings
