"""A GET route answered with JSON data becomes a ``fetch`` datapoint; the last body is its payload."""

from __future__ import annotations

from typing import Any

from ..answers import answer
from ..draft import Draft
from ..flows import Flow
from ..ids import path


def detect(draft: Draft, flows: list[Flow]) -> bool:
    last = flows[-1]
    body = last.json
    if last.method != "GET" or not 200 <= last.status < 300 \
            or not isinstance(body, dict | list):
        return False
    response: dict[str, Any] = {"status": last.status}
    headers = answer(last.ex, json_type_header=False).headers
    if headers:
        response["headers"] = headers
    why = f"a read answered with JSON data; payload from flow {last.n}"
    if len(flows) > 1:
        why += f" (the last of {len(flows)})"
    draft.single(flows, last, "fetch", response,
                 f"fetch: {last.method} {path(last, {})} answered JSON data", why,
                 payload=body)
    return True
