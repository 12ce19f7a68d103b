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

from dataclasses import dataclass

from ..errors import RequestError
from ..messages import MockResponse, RequestView, encode_json, raw_json_response
from ..schema import PollingDatapoint, PollingEndpoint, PollingResponse
from ..store import IssuedId, Store
from .answers import Reply, answer_reply, fill, fixed_reply, header_safe, names_id
from .common import BuildContext, payload_response, resolve_payload

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


def build(ctx: BuildContext, dp: PollingDatapoint) -> list:
    flow = _Flow(ctx, dp)
    return [flow.handler(i, ep) for i, ep in enumerate(dp.endpoints)]


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

    def label(self, ep: PollingEndpoint) -> str | None:
        if ep.step is None:
            return None
        return f"step {ep.step}/{self.steps}" if self.steps > 1 else f"step {ep.step}"

    def handler(self, index: int, ep: PollingEndpoint):
        r = ep.response
        label = self.label(ep)
        if r.generates_id:
            return self._submit(r, label)
        if r.returns_payload:
            return self._result(r, label)
        return self._status(r, label)

    # --- roles ----------------------------------------------------------------

    def _submit(self, r: PollingResponse, label: str | None):
        status = r.status or 202
        store, partner, name = self.store, self.partner, self.name
        if r.id_header and r.id_header_value:
            header, template = r.id_header, r.id_header_value
            # The original sends no body in header mode; a declared body is sent as well.
            fixed = fixed_reply(status, r.headers, r.body, absent_body=None, step=label)

            def deliver(id: str) -> MockResponse:
                answer = fixed.render(id)
                value = template.replace("{id}", header_safe(id))
                return MockResponse(status, answer.headers + ((header, value),), answer.body,
                                    label)
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
            issued = store.issue_id(partner, name, request.session or None, outcome)
            return deliver(issued.id)

        return handle

    def _status(self, r: PollingResponse, label: str | None):
        final = fixed_reply(r.status or 200, r.headers, r.body, absent_body=None, step=label)
        if not r.pending and not self.strict and not r.failed:
            if not final.templated:
                return lambda request, params: final.response  # the original: any id, final
            return lambda request, params: final.render(params.get("id", ""))

        plan = _Plan(
            entries=tuple(_cumulative(r, label)),
            final=final,
            failed=answer_reply(r.failed, label) if r.failed else None,
        )
        self.plans.append(plan)
        store, partner, name = self.store, self.partner, self.name
        unknown = self._strict_answer("unknown_id", label) or final

        def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
            id = params.get("id", "")
            issued = store.count_poll(partner, name, id)
            if issued is None:
                return unknown.render(id)
            answer = plan.answer(issued.polls, self.clock() - issued.created, issued.outcome)
            return answer.render(id)

        return handle

    def _result(self, r: PollingResponse, label: str | None, payload_name: str = ""):
        status = r.status or 200
        headers = r.headers or None
        failed = answer_reply(r.failed, label) if r.failed else None
        store, partner, name = self.store, self.partner, self.name
        unknown = self._strict_answer("unknown_id", label)
        not_ready = self._strict_answer("not_ready", label)

        def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
            id = params.get("id", "")
            issued = store.get_id(partner, name, id)
            if issued is None:
                if unknown is not None:
                    return unknown.render(id)
                raise RequestError(404, f"Unknown request ID: {id}")
            if not_ready is not None and not self._ready(issued):
                return not_ready.render(id)
            if failed is not None and issued.outcome == FAILED:
                return failed.render(id)
            payload = resolve_payload(store, partner, name, request.session, payload_name)
            return payload_response(status, payload, headers, label)

        return handle

    # --- helpers ----------------------------------------------------------------

    def _strict_answer(self, which: str, label: str | None) -> Reply | None:
        """The strict-order reply for this step, encoded once at load (None when lenient)."""
        if self.strict is None:
            return None
        return answer_reply(getattr(self.strict, which), label)

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
            yield "polls", polls, response
        else:
            seconds += entry.seconds or 0
            yield "seconds", seconds, response
