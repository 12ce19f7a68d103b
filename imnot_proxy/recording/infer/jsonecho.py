"""A JSON answer that echoes its request, or stamps the time, becomes a template.

Each string of the answer that is a value of the request — a path parameter, a query
value, a form field, a JSON body field (also a number of three digits or more) — becomes
the expression that reads it (``{{ request.params.id }}``, ``{{ request.query.get('q') }}``,
``{{ request.form.get('scope') }}``, ``{{ request.json('$.a.b') }}``; a whole-value
expression keeps its JSON type), and
a time stamp of the moment it was recorded (``stamps``: ISO date-times and dates, epoch
seconds and milliseconds) becomes ``{{ now(...) }}`` in the recorded format, unless the
recording shows it constant at its place. Secret-named fields and redacted values are
never echoed.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from ..exchange import Exchange
from ..redact import PLACEHOLDER, Redactor
from .ids import segments_of
from .markers import has_markers
from .stamps import Place, fresh

MIN_ECHO = 3
_REDACTOR = Redactor.default()
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PARAM = re.compile(r"^\{(.+)\}$")


def templated(ex: Exchange, body: Any, template: str,
              constant: frozenset[Place] = frozenset()) -> tuple[Any, list[str]]:
    """The body with echoes and fresh time stamps (not at a ``constant`` place) as
    expressions, and what became of them."""
    if has_markers(body):
        return body, []
    sources = _sources(ex, template)
    done: list[str] = []

    def walk(value: Any, key: str, place: Place) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, str(k), (*place, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key, (*place, "[]")) for v in value]
        if _REDACTOR.is_secret_field(key) or value == PLACEHOLDER or isinstance(value, bool):
            return value
        if isinstance(value, str | int):
            found = sources.get((type(value).__name__, str(value))) \
                or sources.get((f"{key}:{type(value).__name__}", str(value)))
            if found is not None:
                done.append(f"{key or 'the body'} echoes {found[1]}")
                return found[0]
        stamp = fresh(value, ex.started)
        if stamp is not None and place not in constant:
            done.append(f"{key or 'the body'} is the time of the answer")
            return stamp.expression
        return value

    out = walk(body, "", ())
    return (out, done) if done else (body, [])


def _sources(ex: Exchange, template: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(type, value) → (expression, where it came from), the first source of each value."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    segments = list(segments_of(ex.path))
    for pos, part in enumerate(template.split("/")[1:]):
        m = _PARAM.match(part)
        if m and pos < len(segments) and _NAME.match(m.group(1)):
            _put(out, segments[pos], f"{{{{ request.params.{m.group(1)} }}}}",
                 f"path parameter {m.group(1)}")
    for name, value in ex.query:
        if not _REDACTOR.is_secret_field(name):
            _put(out, value, "{{ request.query.get(" + repr(name) + ") }}", f"query {name}")
    if "x-www-form-urlencoded" in (ex.request_header("content-type") or "").lower():
        for name, value in parse_qsl(ex.request_body.decode("utf-8", "replace"),
                                     keep_blank_values=True):
            if not _REDACTOR.is_secret_field(name):
                _put(out, value, "{{ request.form.get(" + repr(name) + ") }}", f"form {name}")
    body = ex.request_json()

    def walk(value: Any, path: str, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and _NAME.match(k):
                    walk(v, f"{path}.{k}", k)
        elif isinstance(value, bool) or _REDACTOR.is_secret_field(key):
            return
        elif isinstance(value, str | int):
            expression = "{{ request.json(" + repr(path) + ") }}"
            _put(out, value, expression, f"body {path}")
            # a small number or short text echoed under its own name ("nights": 3)
            out.setdefault((f"{key}:{type(value).__name__}", str(value)),
                           (expression, f"body {path}"))

    walk(body, "$", "")
    return out


def _put(out: dict, value: Any, expression: str, where: str) -> None:
    if value == PLACEHOLDER:
        return
    if isinstance(value, str) and (len(value) < MIN_ECHO or has_markers(value)):
        return
    if isinstance(value, int) and abs(value) < 100:
        return
    out.setdefault((type(value).__name__, str(value)), (expression, where))
    if isinstance(value, str) and value.isdigit() and len(value) >= 3:
        # a path or query value "1234" echoed as the number 1234
        out.setdefault(("int", value), ("{{ " + expression[3:-3].strip() + " | int }}", where))
