"""Response templates at compile time: what a template may not contain, and the guards
added to what it may.

``check`` finds forbidden constructs, loops nested too deep or recursive, and names,
filters and tests nobody defines; ``add_guards`` rewrites the parsed template so that
every loop iterates through the iteration guard and every list, tuple and dict literal
and every ``~`` passes the size guard (``template_sandbox.py``).
"""

from __future__ import annotations

import difflib
from typing import Any

from jinja2 import nodes

from . import template_helpers as h
from .template_sandbox import CONTEXT_NAMES, ITER, SIZED

_FORBIDDEN: dict[type[nodes.Node], str] = {
    nodes.Extends: "{% extends %} is not allowed: a template cannot read other templates",
    nodes.Include: "{% include %} is not allowed: a template cannot read other templates",
    nodes.Import: "{% import %} is not allowed: a template cannot read other templates",
    nodes.FromImport: "{% from %} is not allowed: a template cannot read other templates",
    nodes.Macro: "{% macro %} is not allowed in response templates",
    nodes.CallBlock: "{% call %} is not allowed in response templates",
    nodes.FilterBlock: "{% filter %} blocks are not allowed: apply the filter in {{ }}",
    nodes.AssignBlock: "{% set %}...{% endset %} is not allowed: use {% set x = ... %}",
    nodes.Block: "{% block %} is not allowed: response templates have no inheritance",
}


def check(ast: nodes.Template, env: Any,
          max_loop_depth: int) -> tuple[list[tuple[int, str]], frozenset[str]]:
    """(line, message) of every problem in line order, and the known names the template
    reads."""
    problems: list[tuple[int, str]] = []

    def add(node: nodes.Node, message: str) -> None:
        problems.append((node.lineno or 1, message))

    def walk(node: nodes.Node, depth: int) -> None:
        message = next((m for kind, m in _FORBIDDEN.items() if isinstance(node, kind)), None)
        if message:
            add(node, message)
        if isinstance(node, nodes.Name) and node.name == "self":
            add(node, "'self' is not available in response templates")
        elif isinstance(node, nodes.Filter) and node.name not in env.filters:
            add(node, _unknown("filter", node.name, env.filters))
        elif isinstance(node, nodes.Test) and node.name not in env.tests:
            add(node, _unknown("test", node.name, env.tests))
        elif isinstance(node, nodes.Call) and (message := _constant_call(node)):
            add(node, message)
        elif isinstance(node, nodes.For):
            if node.recursive:
                add(node, "recursive loops are not allowed")
            if depth >= max_loop_depth:
                add(node, f"loops nest at most {max_loop_depth} deep")
            walk(node.target, depth)
            walk(node.iter, depth)
            for child in [*node.body, *node.else_, *([node.test] if node.test else [])]:
                walk(child, depth + 1)
            return
        for child in node.iter_child_nodes():
            walk(child, depth)

    walk(ast, 0)
    # Flow-insensitive on purpose: a name set anywhere (even in one branch) is not
    # reported here; if it is still undefined when used, rendering names it.
    known = {*CONTEXT_NAMES, *env.globals, "loop"}
    loaded = [n for n in ast.find_all(nodes.Name) if n.ctx == "load"]
    stored = {n.name for n in ast.find_all(nodes.Name) if n.ctx != "load"}
    reported: set[str] = {"self"}
    for name in loaded:
        if name.name not in known | stored | reported:
            reported.add(name.name)
            add(name, _unknown("name", name.name, known - {"loop"}))
    problems.sort(key=lambda p: p[0])
    return problems, frozenset(n.name for n in loaded) & known - {"loop"}


# Helpers that depend on nothing but their arguments: called with constant arguments they are
# tried at load, so that now(offset='+1y') or date_add('x', '+1d') is a load problem, not a
# 500 on every request.
def now(format: Any = "iso", offset: Any = None, tz: Any = "UTC") -> Any:
    """``now`` as templates call it, at an arbitrary time: only its arguments are checked."""
    return h.now(0.0, format, offset, tz)


_PURE: dict[str, Any] = {
    "now": now,
    "date_add": h.date_add, "date_format": h.date_format, "days_between": h.days_between,
    "random_int": h.random_int, "random_string": h.random_string,
    "b64decode": h.b64decode,
}


def _constant_call(node: nodes.Call) -> str | None:
    """Why a call of a pure helper with constant arguments fails, or None."""
    if not (isinstance(node.node, nodes.Name) and node.node.name in _PURE) or \
            node.dyn_args or node.dyn_kwargs:
        return None
    values = [_constant(a) for a in node.args]
    named = {k.key: _constant(k.value) for k in node.kwargs}
    if any(v is _NOT_CONSTANT for v in [*values, *named.values()]):
        return None
    try:
        _PURE[node.node.name](*values, **named)
    except (h.HelperError, ValueError, TypeError, OverflowError) as exc:
        text = str(exc)
        return text if text.startswith(node.node.name) else f"{node.node.name}(): {text}"
    return None


_NOT_CONSTANT = object()


def _constant(node: nodes.Node) -> Any:
    """The value of a literal (``5``, ``-1``, ``'x'``), else ``_NOT_CONSTANT``."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.Neg) and isinstance(node.node, nodes.Const) and \
            isinstance(node.node.value, int | float):
        return -node.node.value
    return _NOT_CONSTANT


def _unknown(kind: str, name: str, known: Any) -> str:
    public = sorted(k for k in known if not k.startswith("_"))
    close = difflib.get_close_matches(name, public, n=1)
    if close:
        return f"unknown {kind} {name!r} (did you mean {close[0]!r}?)"
    if kind == "name":
        return f"unknown name {name!r}; templates know {', '.join(public)}"
    return f"unknown {kind} {name!r}"


def single_expression(ast: nodes.Template) -> nodes.Expr | None:
    """The expression of a template that is one ``{{ expr }}`` (with whitespace around)."""
    if len(ast.body) != 1 or not isinstance(ast.body[0], nodes.Output):
        return None
    parts = [n for n in ast.body[0].nodes
             if not (isinstance(n, nodes.TemplateData) and not n.data.strip())]
    if len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData):
        return parts[0]
    return None


def add_guards(node: nodes.Node) -> nodes.Node:
    """Add the guards: every loop iterates through ``_imnot_iter``; every list, tuple and
    dict literal and every ``~`` goes through ``_imnot_sized``."""
    for name in node.fields:
        value = getattr(node, name, None)
        if isinstance(value, nodes.Node):
            setattr(node, name, _guarded(value))
        elif isinstance(value, list):
            setattr(node, name, [_guarded(v) if isinstance(v, nodes.Node) else v
                                 for v in value])
    if isinstance(node, nodes.For):
        node.iter = _filter(node.iter, ITER)
    return node


def _guarded(node: nodes.Node) -> nodes.Node:
    add_guards(node)
    if isinstance(node, (nodes.List, nodes.Dict, nodes.Concat)) or (
            isinstance(node, nodes.Tuple) and node.ctx == "load"):
        return _filter(node, SIZED)
    return node


def _filter(node: nodes.Node, name: str) -> nodes.Filter:
    wrapped = nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)
    wrapped.set_environment(node.environment)
    return wrapped
