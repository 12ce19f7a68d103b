"""Any other route replays its recorded answer as a ``static`` datapoint: one answer, or one
per value of the part of the request that decided it (``choices``)."""

from __future__ import annotations

from typing import Any

from ..answers import NO_BODY, Answer, answer, content_type, echoing
from ..choices import choose
from ..draft import Draft
from ..flows import Flow
from ..ids import path
from ..results import Row
from ..stamps import Place, constant_places


def replayable_at(flow: Flow, template: str, constant: frozenset[Place] = frozenset()
                  ) -> Answer:
    """The recorded answer as a static answer can send it (an empty body kept empty, echoes
    of the request and time stamps of the moment it answered, where not ``constant``, as
    templates)."""
    answered = answer(flow.ex, json_type_header=True)
    if answered.body is None and flow.status not in NO_BODY and flow.method != "HEAD":
        # Without a body a static answer sends `{}`, and "" with a JSON type sends `""`:
        # an empty text with a text type is the only way to replay an empty body.
        answered.body = ""
        if not any(k.lower() == "content-type" for k in answered.headers):
            recorded = content_type(flow.ex)
            text_type = recorded if recorded and "json" not in recorded.lower() \
                else "text/plain"
            answered.headers = {"Content-Type": text_type, **answered.headers}
        return answered
    return echoing(flow.ex, answered, template, constant)


def detect(draft: Draft, flows: list[Flow]) -> bool:
    last = flows[-1]
    route = path(last, {})
    constant = constant_places((f.value, f.ex.started) for f in flows)

    def replayable(flow: Flow, template: str) -> Answer:
        return replayable_at(flow, template, constant)

    answered = replayable(last, route)
    if answered.binary:
        size = len(last.ex.response_body)
        kind = content_type(last.ex) or "no content type"
        draft.skipped.append(Row.of([f.n for f in flows],
                                    f"{last.method} {last.ex.host}{path(last, {})}", "skipped",
                                    f"binary body ({size} bytes, {kind}) cannot be written "
                                    "into a static answer"))
        return True
    response = answered.mapping()
    kind = content_type(last.ex).split(";")[0] or "no body"
    why = f"answered {last.status} ({kind})"
    distinct = {replayable(f, route).key() for f in flows}
    gaps = []
    extra: dict[str, Any] = {}
    choice = choose(flows, route, lambda f: replayable(f, route).key())
    if choice is not None and not any(replayable(f, route).binary
                                      for f in choice.by_value.values()):
        extra["alternatives"] = [
            {"when": choice.when(value), "response": replayable(flow, route).mapping()}
            for value, flow in choice.by_value.items()] + [{}]
        why += (f"; {len(distinct)} different answers, decided by {choice.label}: one "
                f"alternative per value, flow {last.n}'s for any other")
    elif len(distinct) > 1:
        why += f"; {len(distinct)} different answers recorded, kept the last (flow {last.n})"
        gaps.append(f"{len(distinct)} different answers recorded and no part of the request "
                    f"decides them; the mock always gives flow {last.n}'s")
    if any(replayable(f, route).template for f in flows):
        why += "; the request's values it echoes and its time stamps are templates"
    kept = [k for k in answered.headers if k.lower() != "content-type"]
    if kept:
        why += f"; headers kept: {', '.join(kept)}"
    dp = draft.single(flows, last, "static", response,
                      f"static: {last.method} {path(last, {})} → {last.status} {kind}", why,
                      extra=extra)
    dp.gaps += gaps
    return True
