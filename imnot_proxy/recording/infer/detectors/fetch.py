"""A GET route answered with JSON data becomes a ``fetch`` datapoint; the last body is its
payload, and when a part of the request decided the body (``choices``), each value gets a
named payload of its own."""

from __future__ import annotations

import json
from typing import Any

from ..answers import answer
from ..choices import choose, payload_name
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
    extra: dict[str, Any] = {}
    named: dict[str, Any] = {}
    choice = None
    if all(isinstance(f.json, dict | list) for f in flows):
        choice = choose(flows, path(last, {}),
                        lambda f: json.dumps([f.status, f.json], sort_keys=True))
    if choice is not None:
        taken: set[str] = set()
        alternatives = []
        for value, flow in choice.by_value.items():
            name = payload_name(value, taken)
            named[name] = flow.json
            alternative: dict[str, Any] = {"when": choice.when(value), "payload": name}
            if flow.status != last.status:
                alternative["response"] = {"status": flow.status}
            alternatives.append(alternative)
        extra["alternatives"] = [*alternatives, {}]
        why += (f"; the data depends on {choice.label}: a named payload per value "
                f"({len(named)}), flow {last.n}'s for any other")
    dp = draft.single(flows, last, "fetch", response,
                      f"fetch: {last.method} {path(last, {})} answered JSON data", why,
                      payload=body, extra=extra)
    dp.named.update(named)
    return True
