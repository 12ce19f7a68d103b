"""Checks that run before a pattern: ``rate_limit`` (429) then ``validate`` (422).

Order and messages follow the original (§3.2, §4.7, §4.8), with B11 fixed:
``integer`` rejects floats, and body rules see the body on every pattern.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from ..errors import RequestError
from ..lang.requestdata import RequestData, data_of
from ..messages import MockResponse, RequestView, loads_json
from ..schema import RateLimit, Rule, ValidateBlock
from ..store import Store

_MISSING = object()


def rate_limited(store: Store, key: str, limit: RateLimit, inner: Callable) -> Callable:
    rpm = limit.requests_per_minute

    def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
        wait = store.take_token(key, rpm)
        if wait:
            raise RequestError(429, f"Rate limit exceeded: {rpm} requests per minute",
                               {"Retry-After": str(int(wait))})
        return inner(request, params)

    return handle


def validated(block: ValidateBlock, inner: Callable, compiled: Any = None) -> Callable:
    """422 with every failed rule: body, query and header rules as the original, plus
    rules on XPath values and an XML Schema for XML bodies (compiled at load)."""
    sections = [(name, rules) for name, rules in
                (("body", block.body), ("query", block.query), ("headers", block.headers))
                if rules]
    xpath_rules = compiled.get(block.xpath) if compiled is not None and block.xpath else None
    schema = compiled.get(block) if compiled is not None and block.xsd else None
    if not (sections or xpath_rules or schema is not None):
        return inner

    def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
        errors = check(sections, request) if sections else []
        if xpath_rules or schema is not None:
            data = data_of(request, params)
            if xpath_rules:
                errors += check_xpath(xpath_rules, data)
            if schema is not None:
                errors += check_schema(schema, data)
        if errors:
            raise RequestError(422, errors)
        return inner(request, params)

    return handle


def check_xpath(rules: list[tuple[str, Any, Rule]], data: RequestData) -> list[str]:
    """Each rule on the first value its XPath finds (absent: only ``required`` fails)."""
    errors: list[str] = []
    if data.xml is None:
        return ["body: must be XML"] if any(rule.required for _, _, rule in rules) else []
    for expr, source, rule in rules:
        try:
            values = source.read(data)
        except Exception:  # noqa: BLE001 - an XPath that cannot be read finds nothing
            values = ()
        if not values:
            if rule.required:
                errors.append(f"xpath {expr}: required")
            continue
        errors.extend(f"xpath {expr}: {m}" for m in _check_value(rule, values[0]))
    return errors


def check_schema(schema: Any, data: RequestData) -> list[str]:
    """The XML body (for SOAP, the Body's first element) against the XML Schema."""
    root = data.xml
    if root is None:
        return ["body: must be XML"]
    if data.soap is not None:
        body = next((c for c in root if isinstance(c.tag, str) and c.tag.endswith("Body")),
                    None)
        root = next((c for c in body if isinstance(c.tag, str)), None) if body is not None \
            else None
        if root is None:
            return ["body: the SOAP Body is empty"]
    if schema.validate(root):
        return []
    return [f"xsd: line {e.line}: {e.message}" for e in list(schema.error_log)[:20]]


def check(sections: list[tuple[str, dict[str, Rule]]], request: RequestView) -> list[str]:
    errors: list[str] = []
    for section, rules in sections:
        if section == "body":
            try:
                source = loads_json(request.body) if request.body else {}
            except ValueError:
                source = {}
            get = source.get if isinstance(source, dict) else (lambda k, d=None: d)
        elif section == "query":
            get = request.query.get
        else:
            get = request.headers.get
        for field, rule in rules.items():
            value = get(field, _MISSING)
            if value is _MISSING or value is None:
                if rule.required:
                    errors.append(f"{section}.{field}: required")
                continue
            errors.extend(f"{section}.{field}: {m}" for m in _check_value(rule, value))
    return errors


def _check_value(rule: Rule, value: Any) -> list[str]:
    if rule.type is not None:
        ok, value = _coerce(rule.type, value)
        if not ok:
            return [f"must be of type {rule.type}"]
    out = []
    if rule.allowed is not None and value not in rule.allowed:
        out.append(f"must be one of {rule.allowed}")
    if rule.pattern is not None and isinstance(value, str) and not re.search(rule.pattern, value):
        out.append(f"does not match pattern '{rule.pattern}'")
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is not None:
        if rule.min is not None and number < rule.min:
            out.append(f"must be >= {_num(rule.min)}")
        if rule.max is not None and number > rule.max:
            out.append(f"must be <= {_num(rule.max)}")
    return out


def _coerce(kind: str, value: Any) -> tuple[bool, Any]:
    if kind == "integer":
        if isinstance(value, bool):
            return False, value
        if isinstance(value, int):
            return True, value
        if isinstance(value, float):
            return (value.is_integer() and math.isfinite(value)), value
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,4000}", value.strip()):
            return True, int(value)
        return False, value
    if kind == "number":
        if isinstance(value, bool):
            return False, value
        if isinstance(value, int | float):
            return True, value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return False, value
            return math.isfinite(number), number
        return False, value
    if kind == "boolean":
        if isinstance(value, bool):
            return True, value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return True, value.lower() == "true"
        return False, value
    expected = {"string": str, "array": list, "object": dict}[kind]
    return isinstance(value, expected), value


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
