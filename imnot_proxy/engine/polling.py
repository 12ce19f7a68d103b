"""``polling``: submit → status → result on a generated id (§4.4, B5/B6 fixed).

Each endpoint's role comes from its flags: ``generates_id`` (submit),
``returns_payload`` (result), neither (status). Two extensions make flows
behave like real async APIs: ``pending:`` answers that a status step gives
for the first polls (or seconds) of each id before its final answer, with a
``failed:`` final answer for ids whose payload was uploaded with outcome
``failed``; and ``strict_order`` on the datapoint, which rejects unknown ids
and results fetched before the status reached its final answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..compiled import capture_values
from ..errors import RequestError
from ..lang.requestdata import data_of
from ..messages import MockResponse, RequestView, encode_json, raw_json_response
from ..schema import PollingDatapoint, PollingEndpoint, PollingResponse
from ..store import IssuedId, Store
from .answers import Reply, answer_reply, fill, fixed_reply, header_safe, names_id
from .common import BuildContext, Handler, payload_response, resolve_payload

FAILED = "failed"


@dataclass(frozen=True)
class _Plan:
    """The pending answers of one status step, with cumulative limits."""

    entries: tuple[tuple[str, float, Reply], ...]  # (kind, cumulative limit, answer)
    final: Reply
    failed: Reply | None

    def answer(self, polls_before: int, elapsed: float, outcome: str | None) -> Reply:
        for kind, limit, response in self.entries:
            if (polls_before if kind == "polls" else elapsed) < limit:
                return response
        if outcome == FAILED and self.failed is not None:
            return self.failed
        return self.final

    def is_final(self, polls_before: int, elapsed: float) -> bool:
        return all((polls_before if kind == "polls" else elapsed) >= limit
                   for kind, limit, _ in self.entries)


def factory(ctx: BuildContext, dp: PollingDatapoint) -> Callable[[Any], Handler]:
    """Builds the handler of one step of ``dp`` (or of one of its alternatives); the steps
    share one flow, which knows every status step for ``strict_order``."""
    return _Flow(ctx, dp).handler


class _Flow:
    """State shared by the steps of one polling datapoint."""

    def __init__(self, ctx: BuildContext, dp: PollingDatapoint):
        self.store: Store = ctx.store
        self.partner = ctx.partner
        self.name = dp.name
        self.strict = dp.strict_order
        self.steps = sum(1 for ep in dp.endpoints if ep.step is not None)
        self.uses_outcome = any(ep.response.failed for ep in dp.endpoints)
        self.plans: list[_Plan] = []
        self.clock = ctx.clock
        self.ctx = ctx

    def label(self, ep: PollingEndpoint) -> str | None:
        if ep.step is None:
            return None
        return f"step {ep.step}/{self.steps}" if self.steps > 1 else f"step {ep.step}"

    def handler(self, ep: PollingEndpoint):
        r = ep.response
        label = self.label(ep)
        if r.generates_id:
            return self._submit(ep, r, label)
        if r.returns_payload:
            return self._result(r, label, ep.payload or "")
        return self._status(r, label)

    def _reply(self, model: Any, reply: Reply) -> Reply:
        template = self.ctx.template(model)
        return replace(reply, template=template) if template is not None else reply

    def emit(self, reply: Reply, request: RequestView, params: dict[str, str], id: str,
             issued: IssuedId | None = None, payload: Any = None) -> MockResponse:
        """A reply with ``{id}`` filled in and, when it is a template, rendered."""
        response = reply.render(id)
        if reply.template is None:
            return response
        rendering = self.ctx.rendering
        return rendering.answer(reply.template, response, rendering.context(
            request, params, id=id, captured=issued.captured if issued else None,
            payload=payload))

    # --- roles ----------------------------------------------------------------

    def _submit(self, ep: PollingEndpoint, r: PollingResponse, label: str | None):
        status = _int_status(r.status, 202)
        store, partner, name = self.store, self.partner, self.name
        template = self.ctx.template(r)
        captures = self.ctx.compiled.get(ep.capture) if ep.capture else None
        id_field = None if (r.id_header and r.id_header_value) or r.id_xpath else \
            (r.id_body_field or ("id" if not _names_id_in_text(r) else None))
        if r.id_header and r.id_header_value:
            header, id_header = r.id_header, r.id_header_value
            # The original sends no body in header mode; a declared body is sent as well.
            fixed = fixed_reply(status, r.headers, r.body, absent_body=None, step=label)

            def deliver(id: str) -> MockResponse:
                answer = fixed.render(id)
                value = id_header.replace("{id}", header_safe(id))
                return MockResponse(status, answer.headers + ((header, value),), answer.body,
                                    label)
        elif r.id_xpath or _names_id_in_text(r):
            fixed = fixed_reply(status, r.headers, r.body, absent_body=None, step=label)
            id_xpath = r.id_xpath

            def deliver(id: str) -> MockResponse:
                answer = fixed.render(id)
                if id_xpath:
                    answer = replace(answer, body=put_id(answer.body, id_xpath, id))
                return answer
        else:
            field_name = r.id_body_field or "id"
            base = dict(r.body) if isinstance(r.body, dict) else {}
            headers = r.headers or {}
            fills = names_id(base) or any("{id}" in v for v in headers.values())

            def deliver(id: str) -> MockResponse:
                if not fills:
                    return raw_json_response(status, encode_json({**base, field_name: id}),
                                             headers or None, label)
                body = encode_json({**fill(base, id), field_name: id})
                filled = {k: v.replace("{id}", header_safe(id)) for k, v in headers.items()}
                return raw_json_response(status, body, filled or None, label)

        uses_outcome = self.uses_outcome

        def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
            outcome = self._outcome(request.session) if uses_outcome else None
            captured = capture_values(captures, data_of(request, params)) if captures else None
            issued = store.issue_id(partner, name, request.session or None, outcome, captured)
            response = deliver(issued.id)
            if template is None:
                return response
            rendering = self.ctx.rendering
            response = rendering.answer(template, response, rendering.context(
                request, params, id=issued.id, captured=issued.captured))
            return with_id_field(response, id_field, issued.id)

        return handle

    def _status(self, r: PollingResponse, label: str | None):
        final = self._reply(r, fixed_reply(_int_status(r.status, 200), r.headers, r.body,
                                           absent_body=None, step=label))
        if not r.pending and not self.strict and not r.failed and final.template is None:
            if not final.templated:
                return lambda request, params: final.response  # the original: any id, final
            return lambda request, params: final.render(params.get("id", ""))

        plan = _Plan(
            entries=tuple((kind, limit, self._reply(entry, reply))
                          for kind, limit, reply, entry in _cumulative(r, label)),
            final=final,
            failed=self._reply(r.failed, answer_reply(r.failed, label)) if r.failed else None,
        )
        if r.pending or r.failed or self.strict:
            self.plans.append(plan)
        store, partner, name = self.store, self.partner, self.name
        unknown = self._strict_answer("unknown_id", label) or final

        def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
            id = params.get("id", "")
            issued = store.count_poll(partner, name, id)
            if issued is None:
                return self.emit(unknown, request, params, id)
            answer = plan.answer(issued.polls, self.clock() - issued.created, issued.outcome)
            return self.emit(answer, request, params, id, issued)

        return handle

    def _result(self, r: PollingResponse, label: str | None, payload_name: str = ""):
        status = _int_status(r.status, 200)
        headers = r.headers or None
        failed = self._reply(r.failed, answer_reply(r.failed, label)) if r.failed else None
        template = self.ctx.template(r)
        store, partner, name = self.store, self.partner, self.name
        unknown = self._strict_answer("unknown_id", label)
        not_ready = self._strict_answer("not_ready", label)

        def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
            id = params.get("id", "")
            issued = store.get_id(partner, name, id)
            if issued is None:
                if unknown is not None:
                    return self.emit(unknown, request, params, id)
                raise RequestError(404, f"Unknown request ID: {id}")
            if not_ready is not None and not self._ready(issued):
                return self.emit(not_ready, request, params, id, issued)
            if failed is not None and issued.outcome == FAILED:
                return self.emit(failed, request, params, id, issued)
            payload = resolve_payload(store, partner, name, request.session, payload_name)
            response = payload_response(status, payload, headers, label)
            if template is None:
                return response
            rendering = self.ctx.rendering
            return rendering.answer(template, response, rendering.context(
                request, params, id=id, captured=issued.captured, payload=payload))

        return handle

    # --- helpers ----------------------------------------------------------------

    def _strict_answer(self, which: str, label: str | None) -> Reply | None:
        """The strict-order reply for this step, encoded once at load (None when lenient)."""
        if self.strict is None:
            return None
        model = getattr(self.strict, which)
        return self._reply(model, answer_reply(model, label))

    def _ready(self, issued: IssuedId) -> bool:
        """Whether a status step has given (or would now give) its final answer."""
        elapsed = self.clock() - issued.created
        return all(plan.is_final(issued.polls - 1 if issued.polls else -1, elapsed)
                   for plan in self.plans)

    def _outcome(self, session: str | None) -> str | None:
        if session:
            payload = self.store.session_payload(session, self.partner, self.name)
        else:
            payload = self.store.get_global(self.partner, self.name)
        return payload.outcome if payload else None


def _cumulative(r: PollingResponse, label: str | None):
    polls = 0.0
    seconds = 0.0
    for entry in r.pending or ():
        response = answer_reply(entry, label)
        if entry.polls is not None:
            polls += entry.polls
            yield "polls", polls, response, entry
        else:
            seconds += entry.seconds or 0
            yield "seconds", seconds, response, entry


def _int_status(status: Any, default: int) -> int:
    """The status written in the file; a templated one is rendered per request."""
    return status if isinstance(status, int) else default


def with_id_field(response: MockResponse, field: str | None, id: str) -> MockResponse:
    """A templated JSON submit body keeps the id where ``id_body_field`` puts it."""
    if field is None:
        return response
    try:
        value = json.loads(response.body)
    except ValueError:
        return response
    if not isinstance(value, dict):
        return response
    return replace(response, body=encode_json({**value, field: id}))


def _names_id_in_text(r: PollingResponse) -> bool:
    """A text/XML submit body that places the id itself (``{id}``, ``{{ id }}``)."""
    return isinstance(r.body, str) and ("{id}" in r.body or "{{" in r.body) \
        and not r.id_body_field


def put_id(body: bytes, xpath: str, id: str) -> bytes:
    """The XML body with the id as the text of the element (or value of the attribute) the
    XPath names; namespaces are ignored, as in conditions."""
    from lxml import etree

    from ..lang.requestdata import local_names, parse_xml

    root = parse_xml(body)
    if root is None:
        raise RequestError(500, "the submit body is not XML, so id_xpath cannot place the id")
    plain = local_names(parse_xml(body))
    targets = plain.xpath(xpath)
    if not targets:
        raise RequestError(500, f"id_xpath {xpath} finds nothing in the submit body")
    target = targets[0]
    if isinstance(target, etree._ElementUnicodeResult) and target.is_attribute:
        owner = _same_place(root, target.getparent())
        owner.set(_attribute(owner, target.attrname), id)
    elif isinstance(target, etree._Element):
        _same_place(root, target).text = id
    else:
        raise RequestError(500, f"id_xpath {xpath} must name an element or an attribute")
    return etree.tostring(root, xml_declaration=body.lstrip().startswith(b"<?xml"),
                          encoding="utf-8")


def _same_place(root: Any, element: Any) -> Any:
    """The element of ``root`` at the place ``element`` has in its (namespace-free) copy."""
    indexes = []
    while element.getparent() is not None:
        indexes.append(element.getparent().index(element))
        element = element.getparent()
    for index in reversed(indexes):
        root = root[index]
    return root


def _attribute(element: Any, local: str) -> str:
    return next((a for a in element.attrib if a.rpartition("}")[2] == local), local)
