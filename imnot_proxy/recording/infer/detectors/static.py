"""Any other route replays its last recorded answer as a ``static`` datapoint."""

from __future__ import annotations

from ..answers import NO_BODY, answer, content_type
from ..draft import Draft
from ..flows import Flow
from ..ids import path
from ..results import Row


def detect(draft: Draft, flows: list[Flow]) -> bool:
    last = flows[-1]
    answered = answer(last.ex, json_type_header=True)
    if answered.binary:
        size = len(last.ex.response_body)
        kind = content_type(last.ex) or "no content type"
        draft.skipped.append(Row.of([f.n for f in flows],
                                    f"{last.method} {last.ex.host}{path(last, {})}", "skipped",
                                    f"binary body ({size} bytes, {kind}) cannot be written "
                                    "into a static answer"))
        return True
    if answered.body is None and last.status not in NO_BODY and last.method != "HEAD":
        # Without a body a static answer sends `{}`, and "" with a JSON type sends `""`:
        # an empty text with a text type is the only way to replay an empty body.
        answered.body = ""
        if not any(k.lower() == "content-type" for k in answered.headers):
            recorded = content_type(last.ex)
            text_type = recorded if recorded and "json" not in recorded.lower() \
                else "text/plain"
            answered.headers = {"Content-Type": text_type, **answered.headers}
    response = answered.mapping()
    kind = content_type(last.ex).split(";")[0] or "no body"
    why = f"answered {last.status} ({kind})"
    distinct = {answer(f.ex, json_type_header=True).key() for f in flows}
    gaps = []
    if len(distinct) > 1:
        why += f"; {len(distinct)} different answers recorded, kept the last (flow {last.n})"
        gaps.append(f"{len(distinct)} different answers recorded; the mock always gives flow "
                    f"{last.n}'s")
    kept = [k for k in answered.headers if k.lower() != "content-type"]
    if kept:
        why += f"; headers kept: {', '.join(kept)}"
    dp = draft.single(flows, last, "static", response,
                      f"static: {last.method} {path(last, {})} → {last.status} {kind}", why)
    dp.gaps += gaps
    return True
