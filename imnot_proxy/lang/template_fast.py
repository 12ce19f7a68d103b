"""The common one-expression templates, evaluated without building a Jinja context.

Most templated JSON fields are one call (``{{ uuid() }}``, ``{{ now('epoch') }}``) or one
lookup (``{{ request.query.guest }}``, ``{{ captured['ref'] }}``, ``{{ id }}``). Building a
Jinja context and running the generated code costs more than the value itself, so
``fast_path`` turns those shapes into a plain function with the same semantics: names and
helpers resolve as in the template, attribute and item lookups go through the sandbox's own
``getattr``/``getitem``. Anything unusual (an undefined value, an error) returns ``SLOW`` and
the template is rendered by Jinja, which gives the exact value or error. Other shapes have no
fast path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import Undefined, nodes
from jinja2.utils import _PassArg

from .template_state import CONTEXT_NAMES, Render

SLOW = object()  # "let Jinja render this one"

FastPath = Callable[[Render], Any]


def fast_path(expr: nodes.Expr, env: Any) -> FastPath | None:
    """A function computing ``expr`` for a render, or None for shapes Jinja must run."""
    if isinstance(expr, nodes.Call):
        return _call(expr, env)
    return _lookup(expr, env)


def _call(expr: nodes.Call, env: Any) -> FastPath | None:
    if not isinstance(expr.node, nodes.Name) or expr.dyn_args or expr.dyn_kwargs:
        return None
    function = env.globals.get(expr.node.name)
    if function is None or expr.node.name in CONTEXT_NAMES or _PassArg.from_obj(function):
        return None
    if not all(isinstance(a, nodes.Const) for a in expr.args) or not all(
            isinstance(k.value, nodes.Const) for k in expr.kwargs):
        return None
    args = tuple(a.value for a in expr.args)
    kwargs = {k.key: k.value.value for k in expr.kwargs}

    def call(state: Render) -> Any:
        state.check_time()
        try:
            return function(*args, **kwargs)
        except Exception:  # noqa: BLE001 - Jinja reports it with its line
            return SLOW

    return call


def _lookup(expr: nodes.Expr, env: Any) -> FastPath | None:
    steps: list[tuple[bool, Any]] = []  # (is_attribute, name or key), innermost last
    while isinstance(expr, (nodes.Getattr, nodes.Getitem)):
        if isinstance(expr, nodes.Getattr):
            steps.append((True, expr.attr))
        elif isinstance(expr.arg, nodes.Const):
            steps.append((False, expr.arg.value))
        else:
            return None
        expr = expr.node
    if not isinstance(expr, nodes.Name) or expr.name not in CONTEXT_NAMES:
        return None
    name, path = expr.name, tuple(reversed(steps))
    getattr_, getitem = env.getattr, env.getitem

    def lookup(state: Render) -> Any:
        value = state.var(name)
        try:
            for attribute, key in path:
                value = getattr_(value, key) if attribute else getitem(value, key)
        except Exception:  # noqa: BLE001 - Jinja reports it with its line
            return SLOW
        return SLOW if isinstance(value, Undefined) else value

    return lookup
