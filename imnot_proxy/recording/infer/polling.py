"""Submit → status → result chains on a generated id become ``polling`` datapoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .answers import Answer, answer
from .draft import Draft, Route
from .flows import Flow
from .ids import id_candidates, param_why, path, with_id
from .results import NO_PAYLOAD, InferredDatapoint, Row, from_flows

SUBMIT_METHODS = ("POST", "PUT", "PATCH")


@dataclass
class _Step:
    method: str
    shape: tuple[str | None, ...]
    id_pos: int
    first: Flow
    by_id: dict[str, list[Flow]] = field(default_factory=dict)
    strays: list[Flow] = field(default_factory=list)

    def all_flows(self) -> list[Flow]:
        return sorted([f for fs in self.by_id.values() for f in fs] + self.strays,
                      key=lambda f: f.n)

    def last(self) -> Flow:
        return self.all_flows()[-1]

    def series(self) -> list[tuple[Flow, str]]:
        """The answers for one id: the longest series recorded (the first of equals)."""
        best: list[Flow] = []
        best_id = ""
        for value, flows in self.by_id.items():
            if len(flows) > len(best):
                best, best_id = flows, value
        return [(f, best_id) for f in best]


@dataclass
class _Polling:
    submit: Flow
    source: tuple[str, str]  # ("header", name) or ("body", field)
    submits: list[tuple[Flow, str]] = field(default_factory=list)
    routes: list[_Step] = field(default_factory=list)

    def follow(self, flow: Flow, pos: int, value: str) -> None:
        shape = list(flow.shape)
        shape[pos] = None
        key = (flow.method, tuple(shape), pos)
        for route in self.routes:
            if (route.method, route.shape, route.id_pos) == key:
                break
        else:
            route = _Step(flow.method, tuple(shape), pos, flow)
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
    """Requests on a step's route for an id no submit gave out: the step answers them."""
    for route in group.routes:
        for flow in draft.usable:
            if flow.n in draft.claimed or flow.method != route.method \
                    or len(flow.segments) != len(route.shape):
                continue
            pos = route.id_pos
            if pos not in flow.params:
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
    routes = group.routes
    result = _result_route(routes)
    last_submit = group.submits[-1][0]
    submitted = answer(last_submit.ex, json_type_header=False)
    value = group.submits[-1][1]
    lead: dict[str, Any] = {"status": last_submit.status, "generates_id": True}
    step_notes: list[str] = []
    if group.source[0] == "header":
        header = group.source[1]
        recorded = last_submit.ex.response_header(header) or ""
        lead["id_header"] = header
        lead["id_header_value"] = recorded.replace(value, "{id}")
        extra = {k: v for k, v in submitted.headers.items()
                 if k.lower() not in (header.lower(), "content-type")}
        if extra:
            lead["headers"] = extra
        delivery = header
        if submitted.body not in (None, ""):
            step_notes.append("the submit's recorded body is not replayed: with id_header "
                              "the polling pattern answers without a body")
    else:
        field_name = group.source[1]
        lead["id_body_field"] = field_name
        if submitted.headers:
            lead["headers"] = submitted.headers
        rest = last_submit.json
        if isinstance(rest, dict):
            rest = {k: with_id(v, value) for k, v in rest.items() if k != field_name}
            if rest:
                lead["body"] = rest
        delivery = f"body field '{field_name}'"
        if not isinstance(last_submit.json.get(field_name), str):
            step_notes.append(f"'{field_name}' was recorded as a number; the mock gives "
                              "out UUID strings")
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
        if route is result:
            last = route.last()
            payload = last.json
            answered = answer(last.ex, json_type_header=False)
            response: dict[str, Any] = {"status": last.status, "returns_payload": True}
            if answered.headers:
                response["headers"] = answered.headers
            described.append(f"result {route.method}")
            why = (f"the last request on the id that returned JSON data; payload from "
                   f"flow {last.n}")
        else:
            series = route.series()
            answers = [answer(f.ex, json_type_header=False, id_value=v) for f, v in series]
            runs = _runs(answers)
            final = runs[-1][0]
            response = final.mapping()
            if len(runs) > 1:
                response["pending"] = [{"polls": count, **a.mapping()}
                                       for a, count in runs[:-1]]
            polls = len(route.all_flows())
            described.append(f"{polls} {route.method} status polls")
            ids = len(route.by_id)
            why = (f"status of the id: {' then '.join(f'{_label(a)}×{c}' for a, c in runs)}"
                   f" (series of {ids} id{'s' if ids > 1 else ''}, longest kept)")
            if any(a.binary for a in answers):
                why += "; binary body not kept"
        endpoints.append({"step": number, "method": route.method, "path": template,
                          "response": response})
        draft.inferred.append(Row.of([f.n for f in flows], f"{route.method} {template}",
                                     f"polling {name} step {number}",
                                     why + param_why(route.first, skip=route.id_pos) + strays))
    all_flows = [f.n for f, _ in group.submits] + [f.n for r in routes for f in r.all_flows()]
    comment = (f"polling: {submit.method} {submit_path} → {last_submit.status} {delivery}, "
               f"{', '.join(described)}; {from_flows(all_flows)}")
    data: dict[str, Any] = {"name": name,
                            "description": f"Recorded async flow on {submit_path}",
                            "pattern": "polling", "endpoints": endpoints}
    draft.add(InferredDatapoint(name, "polling", data, comment, all_flows, payload))


def _result_route(routes: list[_Step]) -> _Step | None:
    """The step that returns the data: the last route whose last answer is 2xx JSON."""
    for route in reversed(routes):
        last = route.last()
        if route.method == "HEAD" or not 200 <= last.status < 300 \
                or last.json is None:
            continue
        if len(routes) == 1:
            answers = {answer(f.ex, json_type_header=False, id_value=v).key()
                       for f, v in route.series()}
            if len(answers) > 1:
                return None  # one route whose answers change: a status step
        return route
    return None


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
