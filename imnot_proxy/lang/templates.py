"""Opt-in response templates: Jinja2 in a sandbox, compiled once at load, rendered per request.

``compile_text`` compiles a body, a header or any text (``markup=True`` for XML/HTML:
autoescaped); ``compile_value`` a JSON-like value whose strings, dict keys too, are
templates (a string that is one ``{{ expr }}`` renders to the expression's value, so
numbers stay numbers). Both raise ``TemplateProblems`` with every problem found, each
with its line in the template text; ``render(TemplateContext)`` raises only
``TemplateRenderError``. ``names`` tells which context values and helpers a template uses.

A template reads ``request`` (``method``, ``path``, ``params``, ``query``, ``form``,
``header()``, ``json()``, ``json_all()``, ``xpath()``, ``body``, ``soap_action``,
``soap_operation``), ``id``, ``captured``, ``payload``, ``payload_text`` and
``payload_json()``, and calls ``now``, ``date_add``, ``date_format``, ``days_between``,
``uuid``, ``random_int``, ``random_string``, ``sequence``, ``sha256``, ``hmac_sha256``,
``b64encode``, ``b64decode``, ``urlencode``, ``xml_escape`` and ``range`` (most are
filters too, with Jinja's harmless filters and ``tojson``). Modules: ``template_checks``
(compile-time rules), ``template_sandbox`` (environment and runtime guards),
``template_helpers`` (time, random, encoding, crypto), ``template_request`` (request/flow).

Jinja runs in its immutable sandbox (no ``_``/dunder attributes, no function or frame
internals, no ``list.append``/``dict.update``), with no loader, none of Jinja's default
globals (``lipsum``, ``cycler``, ``joiner``, ``namespace``, ``dict``) and
``StrictUndefined`` (``|default`` and ``is defined`` handle optional values). ``None``
prints as nothing; ``trim_blocks``/``lstrip_blocks`` are on (a line holding only a
``{% %}`` tag leaves no blank line). Guards, each a compile problem or a render error:

- compile: no ``include``/``import``/``extends`` (nothing to read), no ``macro``/``call``/
  ``filter``/``block`` blocks, no ``{% set %}...{% endset %}`` (buffered output escapes
  the output cap), no ``self``; loops nest at most ``max_loop_depth`` (2) deep, never
  ``recursive``; a name, filter or test nobody defines is a problem with a suggestion.
- ``range()`` gives at most ``max_range`` (1,000) items; all loops of a render together
  run at most ``max_iterations`` (100,000) times.
- ``*``, ``**``, ``+`` and ``%`` are intercepted: a string or list above ``max_size``
  (1 MiB of characters, or of list/dict content) and an integer from ``*`` or ``**``
  above ``max_int_bits`` (128) are refused *before* they are computed, so ``'a' * 10**9``,
  ``[1] * 10**8`` and ``9 ** 9 ** 9`` fail at once. ``~``, list/dict literals and every
  filter result are held to ``max_size`` too, and so are the string methods that grow
  text (``replace``, ``join``, ``center``, ``format``...); other methods of built-in
  types are refused unless harmless (``upper``, ``split``, ``get``...). Format widths
  and precisions are at most 1,000.
- output at most ``max_output`` (1 MiB of UTF-8) and time at most ``max_seconds`` (0.5 s),
  checked between output chunks, on every loop iteration and on every call.

Rendering holds its ``TemplateContext`` in a context variable, where helpers such as
``now()`` find the injected clock; compiled templates are shared and thread-safe.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateError, TemplateSyntaxError, Undefined, nodes

from ..errors import ImnotError
from . import template_sandbox as sandbox
from .requestdata import RequestData
from .template_checks import add_guards, check, single_expression
from .template_fast import SLOW, FastPath, fast_path
from .template_helpers import HelperError
from .template_sandbox import CONTEXT_NAMES, LIMITS, LimitExceeded, Limits

__all__ = ["CONTEXT_NAMES", "LIMITS", "CompiledValue", "Limits", "Template", "TemplateContext",
           "TemplateProblem", "TemplateProblems", "TemplateRenderError", "compile_text",
           "compile_value", "is_template"]


@dataclass(frozen=True)
class TemplateProblem:
    """A template that cannot be compiled; ``line`` counts from 1 in the template text,
    ``path`` locates the string inside a value given to ``compile_value``."""

    line: int
    message: str
    path: tuple[str | int, ...] = ()


class TemplateProblems(ImnotError):
    def __init__(self, problems: list[TemplateProblem]):
        self.problems = problems
        super().__init__("; ".join(
            f"{'.'.join(map(str, p.path)) + ': ' if p.path else ''}line {p.line}: {p.message}"
            for p in problems))


class TemplateRenderError(ImnotError):
    """Rendering failed; ``line`` is in the template text (None when unknown)."""

    def __init__(self, line: int | None, message: str, path: tuple[str | int, ...] = ()):
        self.line, self.message, self.path = line, message, path
        super().__init__(message if line is None else f"line {line}: {message}")


def _memory_sequence() -> Callable[[str], int]:
    counters: dict[str, int] = {}

    def next_value(name: str) -> int:
        counters[name] = counters.get(name, 0) + 1
        return counters[name]

    return next_value


@dataclass(frozen=True)
class TemplateContext:
    """What one render may read. ``sequence`` defaults to counters kept in this object."""

    request: RequestData
    id: str | None = None
    captured: Mapping[str, Any] = field(default_factory=dict)
    payload: Any = None  # bytes/str as stored (see payload_type), or already-parsed JSON
    payload_type: str | None = None
    clock: Callable[[], float] = time.time
    sequence: Callable[[str], int] = field(default_factory=_memory_sequence)
    keys: Mapping[str, bytes] = field(default_factory=dict)
    partner: str = ""
    datapoint: str = ""


def is_template(text: str) -> bool:
    """True when ``text`` holds template syntax; other strings are kept as they are."""
    return "{{" in text or "{%" in text


class Template:
    """A compiled template. ``render`` gives text; a one-expression string compiled by
    ``compile_value`` (``native``) renders to the expression's value instead."""

    __slots__ = ("source", "markup", "names", "native", "path", "_jinja", "_vars", "_globals",
                 "_limits", "_fast")

    def __init__(self, source: str, markup: bool, names: frozenset[str], native: bool,
                 jinja: Any, limits: Limits, path: tuple[str | int, ...] = (),
                 fast: FastPath | None = None):
        self.source, self.markup, self.names, self.native = source, markup, names, native
        self.path, self._jinja, self._limits, self._fast = path, jinja, limits, fast
        self._vars = tuple(name for name in CONTEXT_NAMES if name in names)
        helpers = jinja.environment.globals
        self._globals = {name: helpers[name] for name in names if name in helpers}

    def __repr__(self) -> str:
        return f"<Template {self.source[:40]!r}>"

    def render(self, ctx: TemplateContext) -> Any:
        """The rendered text; raises only ``TemplateRenderError``."""
        return _with_state(ctx, self._limits, self._render)

    def _render(self, state: sandbox.Render) -> Any:
        try:
            if self._fast is not None:
                value = self._fast(state)
                if value is not SLOW:
                    return _data(value)
            names = dict(self._globals)  # only what the template uses: no per-render copy
            for name in self._vars:          # of every global, no context value it ignores
                names[name] = state.var(name)
            context = self._jinja.new_context(names, shared=True)
            if self.native:
                for _ in self._jinja.root_render_func(context):
                    pass
                return _data(context.vars["result"])
            return _text(self._jinja.root_render_func(context), state)
        except Exception as e:
            raise _render_error(e, self) from e


    build = _render


class _Dict:
    __slots__ = ("items",)

    def __init__(self, pairs: list[tuple[Any, Any]]):
        self.items = [(k, v, _is_node(k), _is_node(v)) for k, v in pairs]

    def build(self, state: sandbox.Render) -> dict[Any, Any]:
        out = {}
        for key, item, key_node, item_node in self.items:
            out[key.build(state) if key_node else key] = (item.build(state) if item_node
                                                          else item)
        return out


class _List:
    __slots__ = ("items",)

    def __init__(self, items: list[Any]):
        self.items = [(item, _is_node(item)) for item in items]

    def build(self, state: sandbox.Render) -> list[Any]:
        return [item.build(state) if node else item for item, node in self.items]


def _is_node(value: Any) -> bool:
    return isinstance(value, (Template, _Dict, _List))


class CompiledValue:
    """A JSON-like value whose template strings are compiled; ``render`` builds a new value
    that shares the parts without templates with ``value`` (do not mutate it)."""

    __slots__ = ("value", "templated", "names", "_tree", "_limits")

    def __init__(self, value: Any, tree: Any, names: frozenset[str], limits: Limits):
        self.value, self._tree, self.names, self._limits = value, tree, names, limits
        self.templated = _is_node(tree)

    def render(self, ctx: TemplateContext) -> Any:
        """The value with every template rendered; raises only ``TemplateRenderError``."""
        if not self.templated:
            return self.value
        return _with_state(ctx, self._limits, self._tree.build)


def compile_text(source: str, *, markup: bool = False, limits: Limits = LIMITS) -> Template:
    """Compile a text template (autoescaped for XML/HTML when ``markup``); raises
    ``TemplateProblems``."""
    return _compile(source, markup=markup, native=False, limits=limits)


def compile_value(value: Any, *, limits: Limits = LIMITS) -> CompiledValue:
    """Compile every template string of a JSON-like value (keys too); raises
    ``TemplateProblems`` with every problem, each with its ``path`` in ``value``."""
    problems: list[TemplateProblem] = []
    names: set[str] = set()
    tree = _tree(value, (), problems, names, limits)
    if problems:
        raise TemplateProblems(problems)
    return CompiledValue(value, tree, frozenset(names), limits)


def _tree(value: Any, path: tuple[str | int, ...], problems: list[TemplateProblem],
          names: set[str], limits: Limits, key: bool = False) -> Any:
    if isinstance(value, str):
        if not is_template(value):
            return value
        try:
            compiled = _compile(value, markup=False, native=not key, limits=limits, path=path)
        except TemplateProblems as e:
            problems.extend(e.problems)
            return value
        names.update(compiled.names)
        return compiled
    if isinstance(value, Mapping):
        pairs = [(_tree(k, (*path, k), problems, names, limits, key=True),
                  _tree(v, (*path, k), problems, names, limits)) for k, v in value.items()]
        changed = any(a is not k or b is not v
                      for (a, b), (k, v) in zip(pairs, value.items(), strict=True))
        return _Dict(pairs) if changed else value
    if isinstance(value, (list, tuple)):
        items = [_tree(v, (*path, i), problems, names, limits) for i, v in enumerate(value)]
        changed = any(a is not b for a, b in zip(items, value, strict=True))
        return _List(items) if changed else value
    return value


def _with_state(ctx: TemplateContext, limits: Limits,
                render: Callable[[sandbox.Render], Any]) -> Any:
    state = sandbox.Render(ctx, limits)
    token = sandbox.CURRENT.set(state)
    try:
        return render(state)
    finally:
        sandbox.CURRENT.reset(token)


def _text(chunks: Iterator[str], state: sandbox.Render) -> str:
    out: list[str] = []
    limit = state.limits.max_output
    for chunk in chunks:
        state.output += (len(chunk) if chunk.isascii()
                         else len(chunk.encode("utf-8", "surrogatepass")))
        if state.output > limit:
            raise LimitExceeded(f"the output is larger than {limit:,} bytes")
        state.check_time()
        out.append(chunk)
    return "".join(out)


def _data(value: Any) -> Any:
    """The value of a one-expression template as JSON-like data."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LimitExceeded(f"{value} is not a JSON number")
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, Mapping):
        return {_key(k): _data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, range, Iterator)):
        return [_data(v) for v in value]
    raise LimitExceeded(f"the expression gives a {type(value).__name__}, not a JSON value")


def _key(key: Any) -> str:
    if isinstance(key, str):
        return str(key)
    if key is None or isinstance(key, (bool, int, float)):
        return "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
    raise LimitExceeded(f"a {type(key).__name__} cannot be a JSON key")


def _render_error(error: Exception, template: Template) -> TemplateRenderError:
    line = None
    tb = error.__traceback__
    while tb is not None:  # the innermost frame of the template's own code
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = template._jinja.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    if line is None and "\n" not in template.source:
        line = 1  # a one-line template: the line is not in doubt
    if isinstance(error, (LimitExceeded, HelperError)):
        message = str(error)
    elif isinstance(error, TemplateError):
        message = error.message or type(error).__name__
    elif isinstance(error, RecursionError):
        message = "the template or its data is nested too deeply"
    else:
        message = f"{type(error).__name__}: {error}"
    return TemplateRenderError(line, message, template.path)


# --- compiling ------------------------------------------------------------------------

def _compile(source: str, *, markup: bool, native: bool, limits: Limits,
             path: tuple[str | int, ...] = ()) -> Template:
    env = sandbox.environment(markup)
    try:
        ast = env.parse(source)
        problems, names = check(ast, env, limits.max_loop_depth)
        if problems:
            raise TemplateProblems([TemplateProblem(*p, path) for p in problems])
        expr = single_expression(ast) if native else None
        fast = fast_path(expr, env) if expr is not None else None
        if expr is not None:  # what Environment.compile_expression builds
            ast = nodes.Template([nodes.Assign(nodes.Name("result", "store"), expr)], lineno=1)
            ast.set_environment(env)
        jinja = env.from_string(add_guards(ast))
    except TemplateProblems:
        raise
    except TemplateSyntaxError as e:  # and TemplateAssertionError from the code generator
        raise TemplateProblems([TemplateProblem(e.lineno or 1, e.message or str(e), path)]) \
            from None
    except RecursionError:
        raise TemplateProblems([TemplateProblem(1, "the template is nested too deeply", path)]) \
            from None
    except Exception as e:  # the lexer's int() of a 5,000-digit literal, Python's own limits
        raise TemplateProblems([TemplateProblem(1, f"cannot compile: {e}", path)]) from None
    return Template(source, markup, names, expr is not None, jinja, limits, path, fast)
