"""One-expression templates that skip Jinja give exactly what Jinja gives: the same value,
the same error with the same line, and only for the shapes the fast path knows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imnot_proxy.lang.templates import TemplateRenderError, compile_value
from tests.unit.template_support import context

PAYLOAD = json.dumps({"a": {"b": [1, 2]}, "n": None, "s": "x"}).encode()


def ctx(**kwargs: Any):
    kwargs.setdefault("query", "guest=ada&n=5")
    kwargs.setdefault("headers", {"X-Key": "k1"})
    kwargs.setdefault("captured", {"ref": "R-1", "nested": {"k": [True]}})
    kwargs.setdefault("payload", PAYLOAD)
    kwargs.setdefault("payload_type", "application/json")
    kwargs.setdefault("id", "ID-7")
    return context(b'{"q": 1}', **kwargs)


def outcome(source: str, fast: bool, **kwargs: Any) -> tuple[str, Any]:
    compiled = compile_value({"v": source})
    template = compiled._tree.items[0][1]
    if not fast:
        template._fast = None
    try:
        return "value", compiled.render(ctx(**kwargs))["v"]
    except TemplateRenderError as e:
        return "error", (e.line, e.message, e.path)


FAST = [
    "{{ now() }}", "{{ now('epoch') }}", "{{ now(format='date', offset='+1d') }}",
    "{{ now(request.query.guest) }}", "{{ sequence('a') }}", "{{ random_int(3, 3) }}",
    "{{ range(3) }}", "{{ range(10 ** 0, 5000) }}", "{{ range(5000) }}",
    "{{ hmac_sha256('x', 'unknown') }}", "{{ sha256('abc') }}", "{{ b64encode('é') }}",
    "{{ request.query.guest }}", "{{ request.query['n'] }}", "{{ request.query.missing }}",
    "{{ request.method }}", "{{ request.path }}", "{{ request.params.id }}",
    "{{ request.header }}", "{{ request.__class__ }}", "{{ request._data }}",
    "{{ captured.ref }}", "{{ captured['nested']['k'][0] }}", "{{ captured.nope }}",
    "{{ id }}", "{{ payload.a.b }}", "{{ payload['a']['b'][1] }}", "{{ payload.a.b[5] }}",
    "{{ payload.n }}", "{{ payload.s.upper }}", "{{ payload_text }}",
    "{{ id.upper }}", "{{ payload.a.b.append }}", "{{ payload_json('$.a.b') }}",
    "{{ payload_json('$..') }}",
]


@pytest.mark.parametrize("source", FAST)
def test_the_fast_path_gives_what_jinja_gives(source):
    assert outcome(source, fast=True) == outcome(source, fast=False)


@pytest.mark.parametrize("source", ["{{ id }}", "{{ id.x }}", "{{ captured.ref }}"])
def test_missing_context_values_behave_the_same(source):
    assert outcome(source, True, id=None, captured={}) == outcome(source, False, id=None,
                                                                   captured={})


def test_the_fast_path_serves_the_common_shapes_and_only_those():
    def has_fast(source: str) -> bool:
        return compile_value({"v": source})._tree.items[0][1]._fast is not None

    assert all(has_fast(s) for s in ["{{ uuid() }}", "{{ now('epoch') }}", "{{ id }}",
                                     "{{ request.query.guest }}", "{{ captured['x'] }}"])
    assert not any(has_fast(s) for s in [
        "{{ uuid() ~ 'x' }}", "{{ request.query.guest|upper }}", "{{ request.header('X') }}",
        "{{ now(request.query.f) }}", "{{ payload[id] }}", "{{ [1, 2] }}", "x {{ id }}",
        "{{ request.json('$.q') }}"])


def test_a_uuid_is_fresh_each_time_on_both_paths():
    fast = {outcome("{{ uuid() }}", True)[1] for _ in range(3)}
    slow = {outcome("{{ uuid() }}", False)[1] for _ in range(3)}
    assert len(fast) == len(slow) == 3
    assert all(len(u) == 36 for u in fast | slow)
