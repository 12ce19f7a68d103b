"""Submit → status → result chains on a generated id become ``polling`` datapoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .answers import Answer, answer, echoing
from .draft import Draft, Route
from .echo import Echo, result_template
from .flows import Flow
from .ids import id_candidates, param_why, path
from .results import NO_PAYLOAD, InferredDatapoint, Row, TextPayload, from_flows
from .roles import Roles, Step, decide
from .stamps import constant_places, fresh, xml_places

SUBMIT_METHODS = ("POST", "PUT", "PATCH")
# An XML payload answered with the job's id where the recorded one was ({id}); the id is
# one the mock gave out, escaped as XML all the same.
XML_PAYLOAD_WITH_ID = "{{ payload_text | safe | replace('{id}', id) }}"


@dataclass
class _Polling:
    submit: Flow
    source: tuple[str, str]  # ("header", name) or ("body", field)
    submits: list[tuple[Flow, str]] = field(default_factory=list)
    routes: list[Step] = field(default_factory=list)

    def follow(self, flow: Flow, pos: int, value: str) -> None:
        shape = list(flow.shape)
        shape[pos] = None
        key = (flow.method, tuple(shape), pos)
        for route in self.routes:
            if (route.method, route.shape, route.id_pos) == key:
                break
        else:
            route = Step(flow.method, tuple(shape), pos, flow)
            self.routes.append(route)
        route.by_id.setdefault(value, []).append(flow)


def infer_polling(draft: Draft) -> None:
    """Claim every submit whose answer gave out an id that later requests carried, with
    those requests, and add one polling datapoint per submit route."""
    groups: dict[Route, _Polling] = {}
    literals: set[str] = set()
    for flow in draft.usable:
        before = set(literals)
        literals.update(s for i, s in enumerate(flow.segments) if i not in flow.params)
        if flow.n in draft.claimed or flow.method not in SUBMIT_METHODS \
                or flow.status not in (201, 202):
            continue
        for value, source in id_candidates(flow.ex, set(flow.segments) | before):
            followers = [f for f in draft.by_segment.get(value, ())
                         if f.n > flow.n and f.n not in draft.claimed
                         and f.host == flow.host and f.segments != flow.segments]
            if not followers:
                continue
            key = (flow.method, flow.shape)
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Polling(flow, source)
            elif group.source[0] != source[0]:
                continue
            group.submits.append((flow, value))
            draft.claimed.add(flow.n)
            for follower in followers:
                pos = follower.segments.index(value)
                follower.params[pos] = f"the id given out by flow {flow.n}"
                group.follow(follower, pos, value)
                draft.claimed.add(follower.n)
            break
    for group in groups.values():
        _absorb_strays(draft, group)
        _polling_datapoint(draft, group)


def _absorb_strays(draft: Draft, group: _Polling) -> None:
    """Requests on a step's route for an id no submit gave out: the step answers them. A
    segment that does not look like an id counts too when the partner answered an error
    (``/jobs/not-a-job`` → 404 is how it treats unknown ids)."""
    for route in group.routes:
        for flow in draft.usable:
            if flow.n in draft.claimed or flow.method != route.method \
                    or len(flow.segments) != len(route.shape):
                continue
            pos = route.id_pos
            if pos not in flow.params and not 400 <= flow.status < 500:
                continue
            shape = list(flow.shape)
            shape[pos] = None
            if tuple(shape) == route.shape:
                flow.params[pos] = "an id on a polling step's route"
                route.strays.append(flow)
                draft.claimed.add(flow.n)


def _polling_datapoint(draft: Draft, group: _Polling) -> None:
    submit = group.submit
    submit_path = path(submit, {}, last_is_id=False)
    name = draft.name(submit.segments, submit.shape, submit.method)
    roles = decide(group.routes)
    routes = roles.statuses + ([roles.result] if roles.result is not None else [])
    last_submit = group.submits[-1][0]
    lead, delivery, step_notes = _submit_response(group)
    gaps = list(step_notes)
    endpoints: list[dict[str, Any]] = [
        {"step": 1, "method": submit.method, "path": submit_path, "response": lead}]
    draft.route(submit.method, submit.shape, name)
    draft.inferred.append(Row.of(
        [f.n for f, _ in group.submits], f"{submit.method} {submit_path}",
        f"polling {name} step 1",
        f"answered {last_submit.status} with the id in {delivery}; later requests used it"
        + param_why(submit) + "".join(f"; {n}" for n in step_notes)))
    described: list[str] = []
    payload: Any = NO_PAYLOAD
    for number, route in enumerate(routes, start=2):
        template = path(route.first, {route.id_pos: "id"})
        draft.route(route.method, route.shape, name)
        flows = route.all_flows()
        strays = f"; {len(route.strays)} requests on ids not given out here" \
            if route.strays else ""
        if route is roles.result:
            response, payload, why, echo = _result_response(route, roles, group)
            described.append(f"result {route.method}")
            gaps += echo.notes
            if echo.capture:
                endpoints[0] = {**endpoints[0], "capture": echo.capture}
                endpoints[0]["response"] = endpoints[0].pop("response")
        else:
            response, why = _status_response(route, roles.strict)
            described.append(f"{len(flows)} {route.method} status polls")
            if "binary body not kept" in why:
                gaps.append(f"{route.method} {template}: binary body not kept")
        endpoints.append({"step": number, "method": route.method, "path": template,
                          "response": response})
        draft.inferred.append(Row.of([f.n for f in flows], f"{route.method} {template}",
                                     f"polling {name} step {number}",
                                     why + param_why(route.first, skip=route.id_pos) + strays))
    gaps += roles.notes
    all_flows = [f.n for f, _ in group.submits] + [f.n for r in routes for f in r.all_flows()]
    comment = (f"polling: {submit.method} {submit_path} → {last_submit.status} {delivery}, "
               f"{', '.join(described)}; {from_flows(all_flows)}")
    data: dict[str, Any] = {"name": name,
                            "description": f"Recorded async flow on {submit_path}",
                            "pattern": "polling"}
    if roles.strict:
        strict: dict[str, Any] = {}
        if roles.unknown_id is not None:
            strict["unknown_id"] = roles.unknown_id.mapping()
        if roles.not_ready is not None:
            strict["not_ready"] = roles.not_ready.mapping()
        data["strict_order"] = strict
        comment += "; strict order: " + " and ".join(
            k.replace("_", " ") + " answers as recorded" for k in strict)
    data["endpoints"] = endpoints
    draft.add(InferredDatapoint(name, "polling", data, comment, all_flows, payload, gaps))


def _submit_response(group: _Polling) -> tuple[dict[str, Any], str, list[str]]:
    """The submit step's response (its recorded body and headers, the id templated in, the
    time stamps of the moment it answered as ``now()``), where the id goes, and notes."""
    last_submit, value = group.submits[-1]
    constant = constant_places((f.value, f.ex.started) for f, _ in group.submits)
    submitted = echoing(last_submit.ex, answer(last_submit.ex, json_type_header=False,
                                               id_value=value),
                        path(group.submit, {}, last_is_id=False),
                        constant)
    lead: dict[str, Any] = {"status": last_submit.status, "generates_id": True}
    notes: list[str] = []
    kind, where = group.source
    body = submitted.body
    if kind == "header":
        recorded = last_submit.ex.response_header(where) or ""
        lead["id_header"] = where
        lead["id_header_value"] = recorded.replace(value, "{id}")
        extra = {k: v for k, v in submitted.headers.items() if k.lower() != where.lower()}
        delivery = where
    elif kind == "xpath":
        lead["id_xpath"] = where
        extra = submitted.headers
        delivery = f"the XML at {where}"
    else:
        lead["id_body_field"] = where
        extra = submitted.headers
        body = {k: v for k, v in body.items() if k != where} if isinstance(body, dict) \
            else None
        if not isinstance(last_submit.json.get(where), str):
            notes.append(f"'{where}' was recorded as a number; the mock gives out UUID "
                         "strings")
        delivery = f"body field '{where}'"
    if submitted.template and body:
        lead["template"] = True  # echoes of the request, the time of the answer: now()
    if extra:
        lead["headers"] = extra
    if body not in (None, "", {}):
        lead["body"] = body
    return lead, delivery, notes


def _result_response(route: Step, roles: Roles, group: _Polling
                     ) -> tuple[dict[str, Any], Any, str, Echo]:
    done = {value: [f for f in flows if 200 <= f.status < 300 and f.value is not None]
            for value, flows in route.by_id.items()}
    results = sorted(((fs[-1], value) for value, fs in done.items() if fs),
                     key=lambda fv: fv[0].n)
    last, value = results[-1]
    answered = answer(last.ex, json_type_header=False, id_value=value)
    response: dict[str, Any] = {"status": last.status, "returns_payload": True}
    if answered.headers:
        response["headers"] = answered.headers
    kind = "JSON" if last.json is not None else "XML"
    why = f"the last request on the id that returned {kind} data; payload from flow {last.n}"
    why += roles.why_result
    if roles.not_ready is not None:
        why += f"; asked too early it answered {roles.not_ready.status}: strict_order not_ready"
    if last.json is None:
        return _xml_result(response, last, value, why)
    echo = result_template(results, {value: flow for flow, value in group.submits})
    if echo.body is not None:
        response["template"] = True
        response["body"] = echo.body
        carried = ["the id"] if "{{ id }}" in str(echo.body) or echo.payload is not NO_PAYLOAD \
            else []
        carried += [f"{name} (captured at submit)" for name in echo.capture]
        carried += ["the time of the answer"] if "now(" in str(echo.body) else []
        why += f"; the payload answered with {' and '.join(carried)} put in"
    if "template" not in response and any("{id}" in v for v in answered.headers.values()):
        response["template"] = True  # a header names the id: the template fills it in
        response["body"] = "{{ payload_json('$') }}"
    payload = last.json if echo.payload is NO_PAYLOAD else echo.payload
    return response, payload, why, echo


def _xml_result(response: dict[str, Any], last: Flow, value: str, why: str
                ) -> tuple[dict[str, Any], Any, str, Echo]:
    """An XML result: the recorded document is the payload, with ``{id}`` where the id was,
    filled in by a template that answers the payload."""
    text = last.value
    echo = Echo()
    headers = response.get("headers", {})
    if len(value) >= 4 and value in text or any("{id}" in v for v in headers.values()):
        text = text.replace(value, "{id}") if len(value) >= 4 else text
        response["template"] = True
        response["body"] = XML_PAYLOAD_WITH_ID
        why += "; the payload answered with the id put in"
    if any(fresh(v, last.ex.started) for _, v, _ in xml_places(text)):
        echo.notes.append("the XML result's time stamps are answered as recorded (the payload)")
    return response, TextPayload(text, ".xml"), why, echo


def _status_response(route: Step, strict: bool) -> tuple[dict[str, Any], str]:
    series = route.series(shortest=strict)
    answers = [route.answer(f, v) for f, v in series]
    runs = _runs(answers)
    response = runs[-1][0].mapping()
    if len(runs) > 1:
        response["pending"] = [{"polls": count, **a.mapping()} for a, count in runs[:-1]]
    ids = len(route.by_id)
    kept = "shortest complete kept" if strict else "longest kept"
    why = (f"status of the id: {' then '.join(f'{_label(a)}×{c}' for a, c in runs)}"
           f" (series of {ids} id{'s' if ids > 1 else ''}, {kept})")
    if any(a.binary for a in answers):
        why += "; binary body not kept"
    return response, why


def _runs(answers: list[Answer]) -> list[tuple[Answer, int]]:
    runs: list[tuple[Answer, int]] = []
    for one in answers:
        if runs and runs[-1][0].key() == one.key():
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((one, 1))
    return runs


def _label(answered: Answer) -> str:
    """A short name for an answer: its status-like field or header, else the HTTP status."""
    body = answered.body
    if isinstance(body, dict):
        for key in ("status", "state", "Status", "State", "jobStatus", "job_status"):
            if isinstance(body.get(key), str):
                return body[key]
    for key, value in answered.headers.items():
        if key.lower() == "status":
            return value
    return str(answered.status)
