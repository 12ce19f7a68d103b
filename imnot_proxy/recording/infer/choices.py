"""A route that answered differently for different requests: which part of the request
decides, so that the mock can answer each value as the partner did.

The candidates are the SOAP operation (the Body's first element), the route's path
parameters, the query values, custom request headers and the scalar fields of a JSON
body. One decides when every request that
gave it the same value got the same answer; of those, the one with the fewest
distinct values wins (fewest rules), a path parameter before a query value before a
header before a body field. The answer per value becomes an alternative with
``when: {<source>: <name>, equals: <value>}``; the last recorded answer stays the
default for values never recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..redact import PLACEHOLDER, Redactor
from .answers import VOLATILE_X
from .flows import Flow
from .xmlecho import soap_operation

MAX_RULES = 20  # more values than this: not worth a rule each
_REDACTOR = Redactor.default()
_ORDER = {"soap_action": 0, "path": 1, "query": 2, "header": 3, "json": 4}
_PARAM = re.compile(r"^\{(.+)\}$")


@dataclass(frozen=True)
class Choice:
    """The deciding part of the request and, in recorded order, each value's last flow."""

    source: str  # path | query | header | json
    name: str  # parameter, header or field name; a JSONPath for json
    by_value: dict[str, Flow]

    def when(self, value: str) -> dict[str, Any]:
        if self.source == "soap_action":
            return {"soap_action": value}
        return {self.source: self.name, "equals": value}

    @property
    def label(self) -> str:
        return "the SOAP operation" if self.source == "soap_action" \
            else f"{self.source} {self.name}"


def choose(flows: list[Flow], template: str, key: Callable[[Flow], str]) -> Choice | None:
    """The part of the request that decides the answer (``key``), or None when one answer
    was recorded or nothing decides it."""
    if len({key(f) for f in flows}) < 2:
        return None
    found: list[tuple[tuple[int, int], Choice]] = []
    for (source, name), values in _features(flows, template).items():
        if any(v is None for v in values):
            continue
        answers: dict[str, str] = {}
        if any(answers.setdefault(v, key(f)) != key(f) for f, v in zip(flows, values,
                                                                       strict=True)):
            continue
        if not 2 <= len(answers) <= MAX_RULES:
            continue
        by_value = {v: f for f, v in zip(flows, values, strict=True)}
        found.append(((len(answers), _ORDER[source]), Choice(source, name, by_value)))
    return min(found, key=lambda item: item[0])[1] if found else None


def _features(flows: list[Flow], template: str) -> dict[tuple[str, str], list[str | None]]:
    names = [m.group(1) if (m := _PARAM.match(s)) else None for s in template.split("/")[1:]]
    out: dict[tuple[str, str], list[str | None]] = {}

    def put(feature: tuple[str, str], i: int, value: str | None) -> None:
        out.setdefault(feature, [None] * len(flows))[i] = value

    for i, flow in enumerate(flows):
        for pos, name in enumerate(names):
            if name is not None and pos < len(flow.segments):
                put(("path", name), i, flow.segments[pos])
        for name, value in flow.ex.query:
            if not _REDACTOR.is_secret_field(name) and value != PLACEHOLDER:
                put(("query", name), i, value)
        for name, value in flow.ex.request_headers:
            low = name.lower()
            if low.startswith("x-") and low not in VOLATILE_X and value != PLACEHOLDER \
                    and not _REDACTOR.is_secret_header(name):
                put(("header", name), i, value)
        operation = soap_operation(flow.ex)
        if operation is not None:
            put(("soap_action", "operation"), i, operation)
        body = flow.ex.request_json()
        if isinstance(body, dict):
            for key, value in body.items():
                if isinstance(value, str | int | bool) and value != PLACEHOLDER \
                        and not _REDACTOR.is_secret_field(key) and re.match(r"^\w+$", key):
                    text = value if isinstance(value, str) else str(value).lower() \
                        if isinstance(value, bool) else str(value)
                    put(("json", f"$.{key}"), i, text)
    return out


def payload_name(value: str, taken: set[str]) -> str:
    """A payload name for a value: ``[A-Za-z0-9_.-]``, at most 64 characters, unique."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", value).strip("_.")[:56] or "value"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name
