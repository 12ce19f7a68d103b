"""Recorded exchanges → a partner definition that understands ids, polling, paging and tokens.

Pure: ``infer(exchanges, partner)`` takes ``Exchange`` values (from a HAR file, a
flow file or the recorder) and returns an ``Inference``: datapoints as plain
mappings in YAML key order, the payload of each, a comment per datapoint saying
what it was inferred from, and a summary of every decision and every skipped
flow. Every exchange is redacted first and secret values are scrubbed from
everything produced, so an unredacted input cannot leak into the output.
Writing YAML and files is ``yamlout``'s job.

Order of inference: callback deliveries (a recorded call to a URL the client
handed over) are set aside, path segments that carry ids become parameters,
submit → status → result chains on a generated id become ``polling``, and the
remaining routes become ``oauth``, ``callback``, ``paginated``, ``fetch`` or
``static``, first match wins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..schema import HOST_RE
from .exchange import Exchange
from .redact import PLACEHOLDER, Redactor

NO_PAYLOAD = object()
_DEFAULT_REDACTOR = Redactor.default()

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
NUMBER_RE = re.compile(r"^\d+$")
HEX_RE = re.compile(r"^(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}$")
TOKEN_RE = re.compile(r"^(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{16,}$")
PREFIXED_RE = re.compile(r"^[A-Za-z]{1,10}[_-](?=[A-Za-z0-9]*\d)[A-Za-z0-9]{8,}$")
VERSION_RE = re.compile(r"^v\d+(\.\d+)*$", re.I)
URL_NAME_RE = re.compile(r"callback|webhook|hook|notif|url|uri", re.I)

SUBMIT_METHODS = ("POST", "PUT", "PATCH")
NO_BODY = frozenset({204, 304}) | frozenset(range(100, 200))

# Response headers worth replaying; the rest is transport, per-request or secret.
KEEP_HEADERS = frozenset({"location", "retry-after", "status", "cache-control", "allow",
                          "www-authenticate", "link", "content-disposition", "content-language"})
VOLATILE_X = frozenset({"x-request-id", "x-correlation-id", "x-trace-id", "x-amzn-trace-id",
                        "x-amzn-requestid", "x-runtime", "x-response-time", "x-b3-traceid",
                        "x-b3-spanid", "x-cache", "x-served-by", "x-timer", "x-envoy-upstream-service-time"})

ITEM_FIELDS = ("items", "data", "results", "entries", "records", "content", "values", "list",
               "rows", "elements")
TOTAL_FIELDS = frozenset({"total", "count", "totalcount", "totalitems", "totalresults",
                          "totalelements", "totalrecords", "totalsize", "totalhits"})
HAS_MORE_FIELDS = frozenset({"hasmore", "more", "hasnext", "hasnextpage", "morepages",
                             "hasmoreitems", "hasmoreresults"})
NEXT_URL_FIELDS = frozenset({"next", "nexturl", "nextpage", "nextpageurl", "nextlink", "nexthref"})
PREV_URL_FIELDS = frozenset({"previous", "prev", "previousurl", "prevurl", "previouspage",
                             "prevpage", "previouspageurl", "prevpageurl", "previouslink",
                             "prevlink", "previoushref", "prevhref"})
PAGE_PARAMS = ("page", "p", "pageNumber", "page_number", "pageNo", "pageIndex", "page_index")
SIZE_PARAMS = ("size", "per_page", "perPage", "pageSize", "page_size", "limit", "count",
               "pagesize")


# --- results ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the summary: which flows, which request, what became of them, why."""

    flows: str
    request: str
    outcome: str
    why: str
    first: int = field(default=0, compare=False)


@dataclass
class InferredDatapoint:
    name: str
    pattern: str
    data: dict[str, Any]  # the datapoint mapping, keys in the order they are written
    comment: str
    flows: list[int]
    payload: Any = NO_PAYLOAD

    @property
    def has_payload(self) -> bool:
        return self.payload is not NO_PAYLOAD


@dataclass
class Inference:
    partner: str
    hosts: list[str]
    datapoints: list[InferredDatapoint]
    inferred: list[Row]
    skipped: list[Row]
    flow_count: int
    notes: list[str] = field(default_factory=list)


# --- flows ------------------------------------------------------------------------


@dataclass
class _Flow:
    n: int
    ex: Exchange
    segments: tuple[str, ...]
    params: dict[int, str] = field(default_factory=dict)  # position -> why it is a parameter

    @cached_property
    def host(self) -> str:
        return self.ex.host

    @cached_property
    def json(self) -> Any:
        return self.ex.response_json()

    @property
    def method(self) -> str:
        return self.ex.method

    @property
    def status(self) -> int:
        return self.ex.status or 0

    @property
    def shape(self) -> tuple[str | None, ...]:
        return tuple(None if i in self.params else s for i, s in enumerate(self.segments))

    @property
    def label(self) -> str:
        return f"{self.method} {self.ex.path}"


@dataclass
class _Answer:
    """A recorded response as the YAML can state it."""

    status: int
    headers: dict[str, str]
    body: Any  # None: no body
    binary: bool = False

    def key(self) -> str:
        return json.dumps([self.status, self.headers, self.body], sort_keys=True)

    def mapping(self, *, lead: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = dict(lead or {})
        out["status"] = self.status
        if self.headers:
            out["headers"] = dict(self.headers)
        if self.body is not None:
            out["body"] = self.body
        return out


def from_flows(numbers: Iterable[int]) -> str:
    """``from flow 3`` / ``from flows 4–9``."""
    ordered = sorted(set(numbers))
    return f"from flow{'s' if len(ordered) > 1 else ''} {flow_ranges(ordered)}"


def _row(numbers: Iterable[int], request: str, outcome: str, why: str) -> Row:
    ordered = sorted(set(numbers))
    return Row(flow_ranges(ordered), request, outcome, why, ordered[0] if ordered else 0)


def segments_of(path: str) -> tuple[str, ...]:
    parts = [unquote(p) for p in path.split("/")[1:]]
    while parts and parts[-1] == "":
        parts.pop()
    return tuple(parts)


def id_kind(segment: str) -> str | None:
    """Why a path segment looks like an id by itself, or None."""
    if UUID_RE.match(segment):
        return "a UUID"
    if NUMBER_RE.match(segment):
        return "a number"
    if HEX_RE.match(segment):
        return "a hex token"
    if TOKEN_RE.match(segment) or PREFIXED_RE.match(segment):
        return "a token"
    return None


def flow_ranges(numbers: Iterable[int]) -> str:
    """``[4, 5, 6, 9]`` → ``4–6, 9``."""
    ordered = sorted(set(numbers))
    parts: list[str] = []
    start = prev = None
    for n in ordered:
        if start is None:
            start = prev = n
        elif prev is not None and n == prev + 1:
            prev = n
        else:
            parts.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = prev = n
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}–{prev}")
    return ", ".join(parts)


def _norm(name: str) -> str:
    return re.sub(r"[-_ ]", "", name).lower()


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _content_type(ex: Exchange) -> str:
    return (ex.response_header("content-type") or "").strip()


def _is_plain_json_type(value: str) -> bool:
    return value.split(";")[0].strip().lower() in ("application/json", "")


# --- the inference ----------------------------------------------------------------


def infer(exchanges: Sequence[Exchange], partner: str, *, hosts: Sequence[str] = (),
          redactor: Redactor | None = None) -> Inference:
    """Infer a partner from recorded exchanges (in recorded order)."""
    return _Inferrer(exchanges, partner, hosts, redactor or Redactor.default()).run()


class _Inferrer:
    def __init__(self, exchanges: Sequence[Exchange], partner: str, hosts: Sequence[str],
                 redactor: Redactor):
        self.partner = partner
        self.redactor = redactor
        self.host_filter = [h.strip().lower() for h in hosts if h.strip()]
        self.secrets = _secrets(exchanges, redactor)
        redacted = [redactor.exchange(ex) for ex in exchanges]
        self.flows = [_Flow(i + 1, ex, segments_of(ex.path)) for i, ex in enumerate(redacted)]
        self.usable: list[_Flow] = []
        self.claimed: set[int] = set()
        self.datapoints: list[InferredDatapoint] = []
        self.inferred: list[Row] = []
        self.skipped: list[Row] = []
        self.notes: list[str] = []
        self.names: set[str] = set()
        self.routes: dict[tuple[str, tuple[str | None, ...]], str] = {}
        self.deliveries: dict[int, _Flow] = {}  # flow number of the callback request -> delivery
        self.by_segment: dict[str, list[_Flow]] = {}

    def run(self) -> Inference:
        self._set_aside_deliveries()
        self._select()
        self._template()
        self._polling()
        self._groups()
        hosts = self._hosts()
        ordered = sorted(self.datapoints, key=lambda dp: min(dp.flows))
        datapoints = [self._scrubbed(dp) for dp in ordered]
        inferred = [self._scrubbed_row(r) for r in sorted(self.inferred, key=lambda r: r.first)]
        skipped = [self._scrubbed_row(r) for r in sorted(self.skipped, key=lambda r: r.first)]
        return Inference(self.partner, hosts, datapoints, inferred, skipped,
                         len(self.flows), self.notes)

    # --- selection ----------------------------------------------------------------

    def _set_aside_deliveries(self) -> None:
        """A recorded call to a URL that an earlier request handed over is a callback delivery."""
        handed: dict[str, int] = {}
        for flow in self.flows:
            url = _callback_url(flow.ex)
            if url is not None and flow.status == 202:
                handed.setdefault(url[2], flow.n)
        if not handed:
            return
        for flow in self.flows:
            origin = handed.get(flow.ex.url)
            if origin is not None and origin < flow.n and origin not in self.deliveries:
                self.deliveries[origin] = flow
                self.claimed.add(flow.n)

    def _select(self) -> None:
        other_hosts: dict[str, list[int]] = {}
        for flow in self.flows:
            if flow.n in self.claimed:
                continue
            ex = flow.ex
            if self.host_filter and not _host_selected(ex.host, self.host_filter):
                other_hosts.setdefault(ex.host or "?", []).append(flow.n)
                continue
            if ex.status is None:
                reason = f"no response: {ex.error}" if ex.error else "no response recorded"
                self.skipped.append(_row([flow.n], f"{ex.method} {ex.url}", "skipped", reason))
                continue
            self.usable.append(flow)
            for seg in set(flow.segments):
                self.by_segment.setdefault(seg, []).append(flow)
        for host, numbers in sorted(other_hosts.items()):
            self.skipped.append(_row(numbers, f"{len(numbers)} flows to {host}",
                                    "skipped", "host not selected with --host"))

    # --- path templates ---------------------------------------------------------------

    def _template(self) -> None:
        """Segments that carry ids become parameters: id-shaped, or given out by an earlier
        response (a Location header, a body field)."""
        seen: dict[str, int] = {}
        literals: set[str] = set()
        for flow in self.usable:
            for i, seg in enumerate(flow.segments):
                if seg in seen and seen[seg] < flow.n:
                    flow.params[i] = f"'{seg}' came in the response of flow {seen[seg]}"
                elif (kind := id_kind(seg)) is not None:
                    flow.params[i] = f"'{seg}' is {kind}"
                elif "/" in seg or "{" in seg or "}" in seg:
                    flow.params[i] = f"'{seg}' cannot be a literal segment"
            literals.update(flow.segments)
            for value in _given_values(flow.ex, flow.segments):
                if value not in literals:
                    seen.setdefault(value, flow.n)
        # A segment with a digit where another route of the same shape has a parameter
        # is the same kind of id (P100 learnt from a list, P200 typed in).
        shapes = sorted({f.shape for f in self.usable if f.params},
                        key=lambda s: tuple("" if p is None else p for p in s))
        for flow in self.usable:
            for shape in shapes:
                if len(shape) != len(flow.segments):
                    continue
                mine = flow.shape
                if not all(a is None or b is None or a == b for a, b in zip(shape, mine, strict=True)):
                    continue
                for i, (theirs, literal) in enumerate(zip(shape, mine, strict=True)):
                    if theirs is None and literal is not None \
                            and any(c.isdigit() for c in literal):
                        flow.params[i] = f"'{literal}' sits where other requests carry an id"

    # --- polling ------------------------------------------------------------------------

    def _polling(self) -> None:
        groups: dict[tuple[str, tuple[str | None, ...]], _Polling] = {}
        literals: set[str] = set()
        for flow in self.usable:
            before = set(literals)
            literals.update(s for i, s in enumerate(flow.segments) if i not in flow.params)
            if flow.n in self.claimed or flow.method not in SUBMIT_METHODS \
                    or flow.status not in (201, 202):
                continue
            for value, source in _id_candidates(flow.ex, set(flow.segments) | before):
                followers = [f for f in self.by_segment.get(value, ())
                             if f.n > flow.n and f.n not in self.claimed
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
                self.claimed.add(flow.n)
                for follower in followers:
                    pos = follower.segments.index(value)
                    follower.params[pos] = f"the id given out by flow {flow.n}"
                    group.follow(follower, pos, value)
                    self.claimed.add(follower.n)
                break
        for group in groups.values():
            self._absorb_strays(group)
            self._polling_datapoint(group)

    def _absorb_strays(self, group: _Polling) -> None:
        """Requests on a step's route for an id no submit gave out: the step answers them."""
        for route in group.routes:
            for flow in self.usable:
                if flow.n in self.claimed or flow.method != route.method \
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
                    self.claimed.add(flow.n)

    def _polling_datapoint(self, group: _Polling) -> None:
        submit = group.submit
        submit_path = _path(submit, {}, last_is_id=False)
        name = self._name(submit.segments, submit.shape, submit.method)
        routes = group.routes
        result = _result_route(routes)
        last_submit = group.submits[-1][0]
        answer = _answer(last_submit.ex, json_type_header=False)
        value = group.submits[-1][1]
        lead: dict[str, Any] = {"status": last_submit.status, "generates_id": True}
        step_notes: list[str] = []
        if group.source[0] == "header":
            header = group.source[1]
            recorded = last_submit.ex.response_header(header) or ""
            lead["id_header"] = header
            lead["id_header_value"] = recorded.replace(value, "{id}")
            extra = {k: v for k, v in answer.headers.items()
                     if k.lower() not in (header.lower(), "content-type")}
            if extra:
                lead["headers"] = extra
            delivery = header
            if answer.body not in (None, ""):
                step_notes.append("the submit's recorded body is not replayed: with id_header "
                                  "the polling pattern answers without a body")
        else:
            field_name = group.source[1]
            lead["id_body_field"] = field_name
            if answer.headers:
                lead["headers"] = answer.headers
            rest = last_submit.json
            if isinstance(rest, dict):
                rest = {k: _with_id(v, value) for k, v in rest.items() if k != field_name}
                if rest:
                    lead["body"] = rest
            delivery = f"body field '{field_name}'"
            if not isinstance(last_submit.json.get(field_name), str):
                step_notes.append(f"'{field_name}' was recorded as a number; the mock gives "
                                  "out UUID strings")
        endpoints: list[dict[str, Any]] = [
            {"step": 1, "method": submit.method, "path": submit_path, "response": lead}]
        self._route(submit.method, submit.shape, name)
        self.inferred.append(_row(
            [f.n for f, _ in group.submits], f"{submit.method} {submit_path}",
            f"polling {name} step 1",
            f"answered {last_submit.status} with the id in {delivery}; later requests used it"
            + _param_why(submit) + "".join(f"; {n}" for n in step_notes)))
        described: list[str] = []
        payload: Any = NO_PAYLOAD
        for number, route in enumerate(routes, start=2):
            path = _path(route.first, {route.id_pos: "id"})
            self._route(route.method, route.shape, name)
            flows = route.all_flows()
            strays = f"; {len(route.strays)} requests on ids not given out here" \
                if route.strays else ""
            if route is result:
                last = route.last()
                payload = last.json
                answer = _answer(last.ex, json_type_header=False)
                response: dict[str, Any] = {"status": last.status, "returns_payload": True}
                if answer.headers:
                    response["headers"] = answer.headers
                described.append(f"result {route.method}")
                why = (f"the last request on the id that returned JSON data; payload from "
                       f"flow {last.n}")
            else:
                series = route.series()
                answers = [_answer(f.ex, json_type_header=False, id_value=v) for f, v in series]
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
            endpoints.append({"step": number, "method": route.method, "path": path,
                              "response": response})
            self.inferred.append(_row([f.n for f in flows], f"{route.method} {path}",
                                     f"polling {name} step {number}",
                                     why + _param_why(route.first, skip=route.id_pos) + strays))
        all_flows = [f.n for f, _ in group.submits] + [f.n for r in routes for f in r.all_flows()]
        comment = (f"polling: {submit.method} {submit_path} → {last_submit.status} {delivery}, "
                   f"{', '.join(described)}; {from_flows(all_flows)}")
        data: dict[str, Any] = {"name": name,
                                "description": f"Recorded async flow on {submit_path}",
                                "pattern": "polling", "endpoints": endpoints}
        self._add(InferredDatapoint(name, "polling", data, comment, all_flows, payload))

    # --- the other patterns -------------------------------------------------------------

    def _groups(self) -> None:
        groups: dict[tuple[str, tuple[str | None, ...]], list[_Flow]] = {}
        for flow in self.usable:
            if flow.n not in self.claimed:
                groups.setdefault((flow.method, flow.shape), []).append(flow)
        for (method, shape), flows in groups.items():
            owner = self.routes.get((method, shape))
            if owner is not None:
                self.skipped.append(_row([f.n for f in flows],
                                        f"{method} {_path(flows[0], {})}", "skipped",
                                        f"route already served by datapoint '{owner}'"))
                continue
            for infer_one in (self._oauth, self._callback, self._paginated, self._fetch,
                              self._static):
                if infer_one(flows):
                    break

    def _oauth(self, flows: list[_Flow]) -> bool:
        tokens = [f for f in flows if 200 <= f.status < 300
                  and isinstance(f.json, dict)
                  and "access_token" in f.json]
        if not tokens:
            return False
        last = tokens[-1]
        body = last.json
        response: dict[str, Any] = {"status": last.status}
        if isinstance(body.get("token_type"), str):
            response["token_type"] = body["token_type"]
        expires = body.get("expires_in")
        if isinstance(expires, int) and not isinstance(expires, bool):
            response["expires_in"] = expires
        headers = _answer(last.ex, json_type_header=False).headers
        if headers:
            response["headers"] = headers
        extra = sorted(set(body) - {"access_token", "token_type", "expires_in"})
        why = "the JSON response has access_token"
        if extra:
            why += f"; fields not reproduced by the oauth pattern: {', '.join(extra)}"
        self._single(flows, last, "oauth", response,
                     f"oauth: {last.method} {_path(last, {})} answered access_token "
                     f"({response.get('token_type', 'Bearer')}, expires_in "
                     f"{response.get('expires_in', 3600)})", why)
        return True

    def _callback(self, flows: list[_Flow]) -> bool:
        handed = [(f, url) for f in flows if f.status == 202
                  and (url := _callback_url(f.ex)) is not None]
        if not handed:
            return False
        last, (kind, name, _) = handed[-1]
        response: dict[str, Any] = {"status": last.status}
        response["callback_url_field" if kind == "field" else "callback_url_header"] = name
        delivered = [self.deliveries[f.n] for f, _ in handed if f.n in self.deliveries]
        payload: Any = NO_PAYLOAD
        why = f"the request carries a URL in {kind} '{name}' and was answered 202"
        if delivered:
            delivery = delivered[-1]
            response["callback_method"] = delivery.method
            body = delivery.ex.request_json()
            if body is not None:
                payload = body
                why += f"; the partner's call to it (flow {delivery.n}) gives the payload"
            else:
                why += f"; the partner's call to it (flow {delivery.n}) had no JSON body"
        else:
            why += "; the partner's call to that URL is not in the recording: upload a payload"
        headers = _answer(last.ex, json_type_header=False).headers
        if headers:
            response["headers"] = headers
        comment = f"callback: {last.method} {_path(last, {})} → {last.status}, URL in {kind} " \
                  f"'{name}'"
        dp = self._single(flows, last, "callback", response, comment, why, payload=payload)
        for delivery in delivered:
            self.inferred.append(_row([delivery.n], f"{delivery.method} {delivery.ex.url}",
                                     f"callback {dp.name} payload",
                                     "a call to the URL handed over; not a partner route"))
        return True

    def _paginated(self, flows: list[_Flow]) -> bool:
        if flows[0].method != "GET":
            return False
        pages = [f for f in flows if 200 <= f.status < 300 and isinstance(f.json, dict)]
        if not pages:
            return False
        config = _pagination(pages)
        if config is None:
            return False
        pagination, items, why = config
        last = pages[-1]
        response: dict[str, Any] = {"status": last.status}
        headers = _answer(last.ex, json_type_header=False).headers
        if headers:
            response["headers"] = headers
        comment = (f"paginated ({pagination['style']}): {last.method} {_path(last, {})} over "
                   f"{len(pages)} recorded pages, {len(items)} items")
        self._single(flows, last, "paginated", response, comment, why, payload=items,
                     pagination=pagination)
        return True

    def _fetch(self, flows: list[_Flow]) -> bool:
        last = flows[-1]
        body = last.json
        if last.method != "GET" or not 200 <= last.status < 300 \
                or not isinstance(body, dict | list):
            return False
        response: dict[str, Any] = {"status": last.status}
        headers = _answer(last.ex, json_type_header=False).headers
        if headers:
            response["headers"] = headers
        why = f"a read answered with JSON data; payload from flow {last.n}"
        if len(flows) > 1:
            why += f" (the last of {len(flows)})"
        self._single(flows, last, "fetch", response,
                     f"fetch: {last.method} {_path(last, {})} answered JSON data", why,
                     payload=body)
        return True

    def _static(self, flows: list[_Flow]) -> bool:
        last = flows[-1]
        answer = _answer(last.ex, json_type_header=True)
        if answer.binary:
            size = len(last.ex.response_body)
            kind = _content_type(last.ex) or "no content type"
            self.skipped.append(_row([f.n for f in flows],
                                     f"{last.method} {last.ex.host}{_path(last, {})}", "skipped",
                                     f"binary body ({size} bytes, {kind}) cannot be written "
                                    "into a static answer"))
            return True
        if answer.body is None and last.status not in NO_BODY and last.method != "HEAD":
            # Without a body a static answer sends `{}`, and "" with a JSON type sends `""`:
            # an empty text with a text type is the only way to replay an empty body.
            answer.body = ""
            if not any(k.lower() == "content-type" for k in answer.headers):
                recorded = _content_type(last.ex)
                text_type = recorded if recorded and "json" not in recorded.lower() \
                    else "text/plain"
                answer.headers = {"Content-Type": text_type, **answer.headers}
        response = answer.mapping()
        kind = _content_type(last.ex).split(";")[0] or "no body"
        why = f"answered {last.status} ({kind})"
        distinct = {_answer(f.ex, json_type_header=True).key() for f in flows}
        if len(distinct) > 1:
            why += f"; {len(distinct)} different answers recorded, kept the last (flow {last.n})"
        kept = [k for k in answer.headers if k.lower() != "content-type"]
        if kept:
            why += f"; headers kept: {', '.join(kept)}"
        self._single(flows, last, "static", response,
                     f"static: {last.method} {_path(last, {})} → {last.status} {kind}", why)
        return True

    def _single(self, flows: list[_Flow], last: _Flow, pattern: str, response: dict[str, Any],
                comment: str, why: str, *, payload: Any = NO_PAYLOAD,
                pagination: dict[str, Any] | None = None) -> InferredDatapoint:
        """A datapoint with one endpoint, made from one group of flows."""
        name = self._name(last.segments, last.shape, last.method)
        path = _path(last, {})
        self._route(last.method, last.shape, name)
        endpoint = {"method": last.method, "path": path, "response": response}
        data: dict[str, Any] = {"name": name,
                                "description": f"Recorded {pattern} {last.method} {path}",
                                "pattern": pattern, "endpoints": [endpoint]}
        if pagination is not None:
            data["pagination"] = pagination
        numbers = [f.n for f in flows]
        dp = InferredDatapoint(name, pattern, data,
                               f"{comment}; {from_flows(numbers)}", numbers, payload)
        self._add(dp)
        self.inferred.append(_row(numbers, f"{last.method} {path}",
                                 f"{pattern} {name}", why + _param_why(flows[0])))
        return dp

    # --- bookkeeping ---------------------------------------------------------------------

    def _add(self, dp: InferredDatapoint) -> None:
        self.datapoints.append(dp)

    def _route(self, method: str, shape: tuple[str | None, ...], name: str) -> None:
        self.routes.setdefault((method, shape), name)

    def _name(self, segments: tuple[str, ...], shape: tuple[str | None, ...], method: str) -> str:
        """A datapoint name from the path's literal segments, unique in this partner;
        ``/properties/{id}`` is a ``property``."""
        words = [_word(s) for s, p in zip(segments, shape, strict=True)
                 if p is not None and not VERSION_RE.match(s) and s.lower() not in ("api", "rest")]
        words = [w for w in words if w]
        if words and shape and shape[-1] is None:
            words[-1] = _singular(words[-1])
        candidates = []
        if words:
            candidates.append(words[-1])
            if len(words) > 1:
                candidates.append(f"{words[-2]}_{words[-1]}")
            candidates.append(f"{method.lower()}_{words[-1]}")
        else:
            candidates += ["root", f"{method.lower()}_root"]
        for candidate in candidates:
            if candidate not in self.names:
                self.names.add(candidate)
                return candidate
        base = candidates[0]
        n = 2
        while f"{base}_{n}" in self.names:
            n += 1
        self.names.add(f"{base}_{n}")
        return f"{base}_{n}"

    def _hosts(self) -> list[str]:
        used = {n for dp in self.datapoints for n in dp.flows}
        hosts = {flow.host for flow in self.flows if flow.n in used}
        good = sorted(h for h in hosts if HOST_RE.match(h))
        for host in sorted(hosts - set(good)):
            self.notes.append(f"host '{host}' cannot be written to hosts: (not a host name)")
        return good

    def _scrubbed_row(self, row: Row) -> Row:
        return Row(row.flows, _scrub(row.request, self.secrets), row.outcome,
                   _scrub(row.why, self.secrets), row.first)

    def _scrubbed(self, dp: InferredDatapoint) -> InferredDatapoint:
        if not self.secrets:
            return dp
        return InferredDatapoint(
            dp.name, dp.pattern, _scrub(dp.data, self.secrets), _scrub(dp.comment, self.secrets),
            dp.flows, dp.payload if not dp.has_payload else _scrub(dp.payload, self.secrets))


# --- polling helpers ------------------------------------------------------------------


@dataclass
class _Step:
    method: str
    shape: tuple[str | None, ...]
    id_pos: int
    first: _Flow
    by_id: dict[str, list[_Flow]] = field(default_factory=dict)
    strays: list[_Flow] = field(default_factory=list)

    def all_flows(self) -> list[_Flow]:
        return sorted([f for fs in self.by_id.values() for f in fs] + self.strays,
                      key=lambda f: f.n)

    def last(self) -> _Flow:
        return self.all_flows()[-1]

    def series(self) -> list[tuple[_Flow, str]]:
        """The answers for one id: the longest series recorded (the first of equals)."""
        best: list[_Flow] = []
        best_id = ""
        for value, flows in self.by_id.items():
            if len(flows) > len(best):
                best, best_id = flows, value
        return [(f, best_id) for f in best]


@dataclass
class _Polling:
    submit: _Flow
    source: tuple[str, str]  # ("header", name) or ("body", field)
    submits: list[tuple[_Flow, str]] = field(default_factory=list)
    routes: list[_Step] = field(default_factory=list)

    def follow(self, flow: _Flow, pos: int, value: str) -> None:
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


def _result_route(routes: list[_Step]) -> _Step | None:
    """The step that returns the data: the last route whose last answer is 2xx JSON."""
    for route in reversed(routes):
        last = route.last()
        if route.method == "HEAD" or not 200 <= last.status < 300 \
                or last.json is None:
            continue
        if len(routes) == 1:
            answers = {_answer(f.ex, json_type_header=False, id_value=v).key()
                       for f, v in route.series()}
            if len(answers) > 1:
                return None  # one route whose answers change: a status step
        return route
    return None


def _runs(answers: list[_Answer]) -> list[tuple[_Answer, int]]:
    runs: list[tuple[_Answer, int]] = []
    for answer in answers:
        if runs and runs[-1][0].key() == answer.key():
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((answer, 1))
    return runs


def _label(answer: _Answer) -> str:
    """A short name for an answer: its status-like field or header, else the HTTP status."""
    body = answer.body
    if isinstance(body, dict):
        for key in ("status", "state", "Status", "State", "jobStatus", "job_status"):
            if isinstance(body.get(key), str):
                return body[key]
    for key, value in answer.headers.items():
        if key.lower() == "status":
            return value
    return str(answer.status)


def _id_candidates(ex: Exchange, literals: set[str]) -> list[tuple[str, tuple[str, str]]]:
    """Values a submit may have given out as the id: id-shaped new segments of its Location,
    other new segments, then body fields (id-like names first)."""
    out: list[tuple[str, tuple[str, str]]] = []
    for name, value in ex.response_headers:
        if name.lower() in ("location", "content-location", "operation-location") and value:
            new = [s for s in segments_of(urlsplit(value).path) if s and s not in literals]
            new.sort(key=lambda s: 0 if id_kind(s) else 1)
            out += [(s, ("header", name)) for s in new]
    body = ex.response_json()
    if isinstance(body, dict):
        fields = [(k, v) for k, v in body.items()
                  if isinstance(v, str) and v or isinstance(v, int) and not isinstance(v, bool)]
        fields.sort(key=lambda kv: 0 if _norm(kv[0]).endswith(("id", "uuid", "key", "ref"))
                    else 1)
        for key, given in fields:
            if given != PLACEHOLDER and str(given) not in literals:
                out.append((str(given), ("body", key)))
    return out


def _with_id(value: Any, id_value: str) -> Any:
    """The id's recorded value replaced by ``{id}`` in strings (numbers keep their type)."""
    if isinstance(value, str):
        if value == id_value:
            return "{id}"
        return value.replace(id_value, "{id}") if len(id_value) >= 4 else value
    if isinstance(value, dict):
        return {k: _with_id(v, id_value) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_id(v, id_value) for v in value]
    return value


# --- answers and headers -----------------------------------------------------------------


def _answer(ex: Exchange, *, json_type_header: bool, id_value: str | None = None) -> _Answer:
    """The recorded response as status, headers that matter and a body the YAML can hold."""
    data = ex.response_body
    body: Any = None
    binary = False
    ctype = _content_type(ex)
    type_header: str | None = None
    if data and ex.status not in NO_BODY:
        parsed = ex.response_json()
        if parsed is not None and (_is_plain_json_type(ctype) or "json" in ctype.lower()):
            body = parsed
            if not _is_plain_json_type(ctype):
                type_header = ctype
        elif _is_text(data):
            body = data.decode("utf-8")
            type_header = ctype or "text/plain"
        else:
            binary = True
    elif json_type_header and not _is_plain_json_type(ctype):
        type_header = ctype
    headers = {_header_name(ex, "content-type"): type_header} if type_header else {}
    headers.update(_kept_headers(ex))
    if id_value is not None:
        body = _with_id(body, id_value)
        headers = {k: v.replace(id_value, "{id}") if len(id_value) >= 4 else v
                   for k, v in headers.items()}
    return _Answer(ex.status or 0, headers, body, binary)


def _header_name(ex: Exchange, name: str) -> str:
    for key, _ in ex.response_headers:
        if key.lower() == name:
            return key
    return "Content-Type"


def _kept_headers(ex: Exchange) -> dict[str, str]:
    """Content type aside: status-like and custom X- headers; never transport or secrets."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for key, value in ex.response_headers:
        low = key.lower()
        if low in seen or value == PLACEHOLDER or _DEFAULT_REDACTOR.is_secret_header(key):
            continue
        if low in KEEP_HEADERS or low.startswith("access-control-") \
                or (low.startswith("x-") and low not in VOLATILE_X):
            out[key] = value
            seen.add(low)
    return out


# --- pagination ----------------------------------------------------------------------------


def _pagination(pages: list[_Flow]) -> tuple[dict[str, Any], list[Any], str] | None:
    """Style, fields and all items of a paged list, or None when these are not pages."""
    first = pages[0].json
    items_field = _items_field([p.json for p in pages])
    if items_field is None:
        return None
    queries = [dict(p.ex.query) for p in pages]
    cursor = _cursor(pages, items_field)
    names = {k for q in queries for k in q}
    page_param = next((p for p in PAGE_PARAMS if p in names), None)
    size_param = next((p for p in SIZE_PARAMS if p in names and p != page_param), None)
    config: dict[str, Any]
    notes: list[str] = []
    next_field: str | None = None
    prev_field: str | None = None
    used = {items_field}
    if cursor is not None:
        field_name, param = cursor
        config = {"style": "cursor", "items_field": items_field, "cursor_field": field_name}
        used.add(field_name)
        why = f"the response field '{field_name}' came back as ?{param}= of the next request"
        if param != "cursor":
            notes.append(f"the paginated pattern reads ?cursor=, the partner uses ?{param}=")
        keys = [q.get(param, "") for q in queries]
    elif "offset" in names or (page_param is None and "limit" in names):
        config = {"style": "offset_limit", "items_field": items_field}
        why = "requests paged with offset/limit"
        keys = [q.get("offset", "0") for q in queries]
    elif page_param is not None:
        config = {"style": "page_number", "items_field": items_field}
        why = f"requests paged with {page_param}" + (f"/{size_param}" if size_param else "")
        next_field = _named(first, NEXT_URL_FIELDS, lambda v: v is None or isinstance(v, str))
        prev_field = _named(first, PREV_URL_FIELDS, lambda v: v is None or isinstance(v, str))
        if next_field and prev_field:
            config["style"] = "page_number_url"
        keys = [q.get(page_param, "1") for q in queries]
    else:
        return None
    total = _named(first, TOTAL_FIELDS, _is_int, prefix="total", exclude=("totalpages",))
    if total:
        config["total_field"] = total
        used.add(total)
    more = _named(first, HAS_MORE_FIELDS, lambda v: isinstance(v, bool))
    if more and config["style"] != "page_number_url":
        config["has_more_field"] = more
        used.add(more)
    if config["style"] == "offset_limit":
        nxt = _named(first, frozenset({"nextoffset"}), lambda v: v is None or _is_int(v))
        if nxt:
            config["next_offset_field"] = nxt
            used.add(nxt)
        for key, param in (("offset_echo_field", "offset"), ("limit_echo_field", "limit")):
            echo = _named(first, frozenset({param}), _is_int)
            if echo:
                config[key] = echo
                used.add(echo)
    if config["style"] in ("page_number", "page_number_url"):
        if page_param != "page":
            config["page_param"] = page_param
        if size_param and size_param != "size":
            config["size_param"] = size_param
    if config["style"] == "page_number_url":
        config["next_url_field"] = next_field
        config["previous_url_field"] = prev_field
        used |= {next_field or "", prev_field or ""}
    items = _all_items(pages, keys, items_field, config["style"], queries, size_param)
    left = [k for k in first if k not in used] if isinstance(first, dict) else []
    if left:
        notes.append(f"fields not reproduced by the paginated pattern: {', '.join(left)}")
    fields = ", ".join(f"{k}={v}" for k, v in config.items() if k.endswith("_field"))
    why += f"; {fields}; {len(items)} items from {len(set(keys))} distinct pages"
    why += "".join(f"; {n}" for n in notes)
    return config, items, why


def _items_field(bodies: list[Any]) -> str | None:
    lists = [k for k, v in bodies[0].items() if isinstance(v, list)]
    lists = [k for k in lists if all(isinstance(b, dict) and isinstance(b.get(k), list)
                                     for b in bodies)]
    if not lists:
        return None
    for name in ITEM_FIELDS:
        for key in lists:
            if _norm(key) == name:
                return key
    return lists[0]


def _cursor(pages: list[_Flow], items_field: str) -> tuple[str, str] | None:
    """(response field, query param) when a field's value comes back in the next request."""
    for i, page in enumerate(pages[:-1]):
        body = page.json
        for key, value in body.items():
            if key == items_field or not isinstance(value, str) or not value:
                continue
            for later in pages[i + 1:]:
                for param, given in later.ex.query:
                    if given == value:
                        return key, param
    return None


def _named(body: Any, names: frozenset[str], check: Any, *, prefix: str | None = None,
           exclude: tuple[str, ...] = ()) -> str | None:
    if not isinstance(body, dict):
        return None
    for key, value in body.items():
        norm = _norm(key)
        if norm in exclude or not check(value):
            continue
        if norm in names or (prefix is not None and norm.startswith(prefix)):
            return key
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _all_items(pages: list[_Flow], keys: list[str], items_field: str, style: str,
               queries: list[dict[str, str]], size_param: str | None) -> list[Any]:
    """Every item of every distinct page, in page order; a page recorded twice counts once."""
    chosen: dict[str, tuple[int, _Flow, dict[str, str]]] = {}
    for index, (page, key, query) in enumerate(zip(pages, keys, queries, strict=True)):
        chosen.setdefault(key, (index, page, query))

    def order(entry: tuple[str, tuple[int, _Flow, dict[str, str]]]) -> tuple[int, int]:
        key, (index, _, _) = entry
        if style == "cursor":
            return (index, 0)
        try:
            return (int(key), index)
        except ValueError:
            return (1 << 30, index)

    if style == "offset_limit":
        placed: dict[int, Any] = {}
        for key, (_, page, _) in sorted(chosen.items(), key=order):
            start = int(key) if key.isdigit() else 0
            for i, item in enumerate(page.json[items_field]):
                placed.setdefault(start + i, item)
        return [placed[i] for i in sorted(placed)]
    out: list[Any] = []
    for _, (_, page, _) in sorted(chosen.items(), key=order):
        out.extend(page.json[items_field])
    return out


# --- small helpers -------------------------------------------------------------------------


def _host_selected(host: str, selected: list[str]) -> bool:
    return any(host == h or (h.startswith("*.") and host.endswith(h[1:])) for h in selected)


def _callback_url(ex: Exchange) -> tuple[str, str, str] | None:
    """(``field``|``header``, name, URL) when the request hands the partner a URL."""
    body = ex.request_json()
    if isinstance(body, dict):
        for key, value in body.items():
            if isinstance(value, str) and URL_NAME_RE.search(key) \
                    and value.startswith(("http://", "https://")):
                return "field", key, value
    for key, value in ex.request_headers:
        low = key.lower()
        if low in ("referer", "origin", "host") or not URL_NAME_RE.search(key):
            continue
        if value.startswith(("http://", "https://")):
            return "header", key, value
    return None


def _given_values(ex: Exchange, request_segments: tuple[str, ...]) -> list[str]:
    """Values a response hands out that a later path may carry: new Location segments and
    body strings that look like references."""
    out: list[str] = []
    for name, value in ex.response_headers:
        if name.lower() in ("location", "content-location") and value:
            out += [s for s in segments_of(urlsplit(value).path) if s not in request_segments]
    body = ex.response_json()

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and 2 <= len(value) <= 200 and value != PLACEHOLDER \
                and "/" not in value and " " not in value and not VERSION_RE.match(value):
            norm = _norm(key)
            if any(c.isdigit() for c in value) or norm.endswith(("id", "key", "ref", "code",
                                                                 "slug", "uuid", "number")):
                out.append(value)

    walk(body, "")
    return out


def _word(segment: str) -> str:
    base = segment.split(".")[0] if "." in segment else segment
    return re.sub(r"[^A-Za-z0-9_-]+", "_", base).strip("_-")


def _param_name(segment: str | None) -> str | None:
    """``properties`` → ``propertyId``."""
    if not segment:
        return None
    words = [w for w in re.split(r"[^A-Za-z0-9]+", segment) if w]
    if not words or not words[0][0].isalpha():
        return None
    words[-1] = _singular(words[-1])
    head = words[0][0].lower() + words[0][1:]
    return head + "".join(w[:1].upper() + w[1:] for w in words[1:]) + "Id"


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 1:
        return word[:-1]
    return word


def _path(flow: _Flow, fixed: dict[int, str], *, last_is_id: bool = True) -> str:
    """The flow's path template: fixed names first, then ``{id}`` for the last parameter
    and a name from the preceding literal for the others."""
    names = _param_names(flow, fixed, last_is_id)
    parts = [f"{{{names[i]}}}" if i in names else s for i, s in enumerate(flow.segments)]
    return "/" + "/".join(parts)


def _param_names(flow: _Flow, fixed: dict[int, str], last_is_id: bool) -> dict[int, str]:
    positions = sorted(flow.params)
    names: dict[int, str] = dict(fixed)
    taken = set(names.values())
    free = [p for p in positions if p not in names]
    if last_is_id and "id" not in taken and free:
        names[free[-1]] = "id"
        taken.add("id")
    counter = 2
    for pos in positions:
        if pos in names:
            continue
        before = flow.segments[pos - 1] if pos > 0 and pos - 1 not in flow.params else None
        name = _param_name(before)
        while name is None or name in taken:
            name = f"id{counter}"
            counter += 1
        names[pos] = name
        taken.add(name)
    return names


def _param_why(flow: _Flow, skip: int | None = None) -> str:
    reasons = [why for pos, why in sorted(flow.params.items()) if pos != skip]
    return f"; path parameters: {'; '.join(reasons)}" if reasons else ""


def _secrets(exchanges: Sequence[Exchange], redactor: Redactor) -> list[str]:
    """Secret values the redactor finds in the input: scrubbed from anything produced."""
    found: set[str] = set()

    def add(value: str) -> None:
        value = value.strip()
        if len(value) >= 6 and value != PLACEHOLDER:
            found.add(value)
        _, _, rest = value.partition(" ")
        if rest and len(rest.strip()) >= 6:
            found.add(rest.strip())

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if redactor.is_secret_field(str(k)) and isinstance(v, str | int | float) \
                        and not isinstance(v, bool):
                    add(str(v))
                else:
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for ex in exchanges:
        for pairs in (ex.request_headers, ex.response_headers):
            for key, value in pairs:
                if not redactor.is_secret_header(key):
                    continue
                add(value)
                if key.lower() in ("cookie", "set-cookie"):
                    for part in value.split(";"):
                        add(part.partition("=")[2])
        for key, value in parse_qsl(urlsplit(ex.url).query, keep_blank_values=True):
            if redactor.is_secret_field(key):
                add(value)
        for body, ctype in ((ex.request_body, ex.request_header("content-type")),
                            (ex.response_body, ex.response_header("content-type"))):
            if not body:
                continue
            if "form-urlencoded" in (ctype or "").lower():
                try:
                    form = parse_qsl(body.decode(), keep_blank_values=True)
                except UnicodeDecodeError:
                    continue
                for key, value in form:
                    if redactor.is_secret_field(key):
                        add(value)
            else:
                try:
                    walk(json.loads(body))
                except ValueError:
                    pass
    return sorted(found, key=lambda s: (-len(s), s))


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, PLACEHOLDER)
        return value
    if isinstance(value, dict):
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value
