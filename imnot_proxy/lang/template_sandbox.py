"""The Jinja sandbox response templates run in: its guards, globals and filters.

``templates.py`` documents the guards and limits and is the only user of this module.
"""

from __future__ import annotations

import re
import string
import types
from collections.abc import Callable, Mapping
from functools import cache, wraps
from typing import Any

from jinja2 import StrictUndefined, filters, pass_environment, pass_eval_context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import template_helpers as h
from . import template_request as r
from .template_state import (  # noqa: F401 - re-exported for templates.py
    CONTEXT_NAMES,
    CURRENT,
    LIMITS,
    MAX_FORMAT_WIDTH,
    LimitExceeded,
    Limits,
    Render,
    limits_of_render,
    state_of_render,
)

ITER, SIZED = "_imnot_iter", "_imnot_sized"  # guards the compiler adds around loops/values


# --- size guards ----------------------------------------------------------------------

def _weight(value: Any, budget: int) -> int:
    """About how many characters ``value`` takes as text; stops counting past ``budget``."""
    total, stack = 0, [value]
    while stack and total <= budget:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item) + 2
        elif isinstance(item, (list, tuple, set, frozenset, dict)):
            total += 2 + 2 * len(item)
            if total <= budget:
                stack.extend(item.items() if isinstance(item, dict) else item)
        else:
            total += 8
    return total


def _check_size(size: int, what: str = "a value") -> None:
    limit = limits_of_render().max_size
    if size > limit:
        raise LimitExceeded(f"{what} would exceed {limit:,} characters")


def _sized(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        _check_size(len(value))
    elif isinstance(value, (list, tuple, dict)):
        _check_size(_weight(value, limits_of_render().max_size))
    return value


def _check_int(value: int) -> None:
    bits = limits_of_render().max_int_bits
    if value.bit_length() > bits:
        raise LimitExceeded(f"an integer above 2**{bits}")


def _binop_guard(operator: str, left: Any, right: Any) -> None:
    limits = limits_of_render()
    if operator == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, (str, bytes, list, tuple)) and isinstance(count, int):
                if count > 0:
                    size = (len(seq) if isinstance(seq, (str, bytes))
                            else _weight(seq, limits.max_size))
                    _check_size(size * count, "a repeated value")
                return
        if isinstance(left, int) and isinstance(right, int):
            if abs(left).bit_length() + abs(right).bit_length() - 1 > limits.max_int_bits:
                raise LimitExceeded(f"an integer above 2**{limits.max_int_bits}")
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            if (abs(left).bit_length() - 1) * right >= limits.max_int_bits:
                raise LimitExceeded(f"an integer above 2**{limits.max_int_bits}")
    elif operator == "+":
        if isinstance(left, (str, bytes)) and isinstance(right, (str, bytes)):
            _check_size(len(left) + len(right))
        elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
            _check_size(_weight(left, limits.max_size) + _weight(right, limits.max_size))
    elif operator == "%" and isinstance(left, str):
        _check_percent(left, right)


_PERCENT = re.compile(r"%(?:\(([^)]*)\))?([^a-zA-Z%]*)[a-zA-Z%]?")


def _check_spec(spec: str) -> None:
    if "*" in spec or "{" in spec:
        raise LimitExceeded("format widths must be written in the format, not passed in")
    if any(int(n) > MAX_FORMAT_WIDTH for n in re.findall(r"\d+", spec)):
        raise LimitExceeded(f"format widths and precisions are at most {MAX_FORMAT_WIDTH}")


def _check_percent(fmt: str, args: Any) -> None:
    budget = limits_of_render().max_size
    size, position = len(fmt), 0
    for found in _PERCENT.finditer(fmt):
        _check_spec(found[2])
        if found[0] == "%%":
            continue
        if found[1] is not None and isinstance(args, Mapping):
            size += _weight(args.get(found[1]), budget)
        elif isinstance(args, tuple):
            size += _weight(args[position], budget) if position < len(args) else 0
            position += 1
        else:
            size += _weight(args, budget)
    _check_size(size, "formatted text")


def _check_format(fmt: str, args: tuple, kwargs: Mapping[str, Any]) -> None:
    budget = limits_of_render().max_size
    size, auto = len(fmt), 0
    for _, name, spec, _ in string.Formatter().parse(fmt):
        if name is None:
            continue
        _check_spec(spec or "")
        key = re.split(r"[.\[]", name, maxsplit=1)[0]
        if key == "":
            key, auto = str(auto), auto + 1
        value = (args[int(key)] if key.isdigit() and int(key) < len(args)
                 else kwargs.get(key))
        size += _weight(value, budget)
    _check_size(size, "formatted text")


def _str_method(method: Any, name: str) -> Callable[..., Any]:
    """A string method that checks the size of its result before making it."""
    text: str = method.__self__

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if name in ("center", "ljust", "rjust", "zfill") and args:
            if isinstance(args[0], int):
                _check_size(args[0])
        elif name == "replace" and len(args) >= 2:
            old, new = args[0], args[1]
            if isinstance(old, str) and isinstance(new, str):
                count = text.count(old) if old else len(text) + 1
                if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                    count = min(count, args[2])
                _check_size(len(text) + count * max(0, len(new) - len(old)))
        elif name == "join" and args:
            items = list(args[0])
            _check_size(len(text) * max(0, len(items) - 1)
                        + sum(len(i) for i in items if isinstance(i, str)))
            args = (items, *args[1:])
        return method(*args, **kwargs)

    return guarded


_STR_METHODS = frozenset(
    "capitalize casefold center count endswith find format format_map index isalnum "
    "isalpha isascii isdecimal isdigit islower isnumeric isspace istitle isupper join ljust "
    "lower lstrip partition removeprefix removesuffix replace rfind rindex rjust rpartition "
    "rsplit rstrip split splitlines startswith strip swapcase title upper zfill "
    "striptags unescape".split())
_METHODS: tuple[tuple[type | tuple[type, ...], frozenset[str]], ...] = (
    (str, _STR_METHODS),
    (dict, frozenset({"get", "items", "keys", "values"})),
    ((list, tuple, range), frozenset({"count", "index"})),
    (float, frozenset({"is_integer"})),
    (bytes, frozenset({"decode"})),
    ((int, set, frozenset, complex), frozenset()),
)


class _Undefined(StrictUndefined):
    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        owner, name = self._undefined_obj, self._undefined_name
        if not self._undefined_hint and isinstance(name, str):
            if isinstance(owner, r.Fields):
                return f"{owner._label} has no {name!r}"
            if isinstance(owner, r.RequestProxy):
                return f"request has no {name!r}"
        return super()._undefined_message


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _binop_guard(operator, left, right)
        result = super().call_binop(context, operator, left, right)
        if operator in ("*", "**") and isinstance(result, int):
            _check_int(result)
        return result

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        state = CURRENT.get()
        if state is not None:
            state.check_time()
        return super().call(__context, __obj, *args, **kwargs)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if not callable(value):
            return True
        for kinds, allowed in _METHODS:
            if isinstance(obj, kinds):
                return attr in allowed
        return True

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)):
            return None
        owner, name = getattr(value, "__self__", None), getattr(value, "__name__", "")
        if not isinstance(owner, str):
            return None
        if name in ("format", "format_map"):
            inner = super().wrap_str_format(value)
            assert inner is not None

            def checked(*args: Any, **kwargs: Any) -> str:
                if name == "format_map" and len(args) == 1 and isinstance(args[0], Mapping):
                    _check_format(owner, (), args[0])
                else:
                    _check_format(owner, args, kwargs)
                return inner(*args, **kwargs)

            return checked
        if name in ("center", "ljust", "rjust", "zfill", "replace", "join"):
            return _str_method(value, name)
        return None


def _iter_guard(iterable: Any) -> Any:
    state = CURRENT.get()
    for item in iterable:
        if state is not None:
            state.iterations += 1
            if state.iterations > state.limits.max_iterations:
                raise LimitExceeded(f"loops ran more than {state.limits.max_iterations:,} "
                                    "times")
            state.check_time()
        yield item


def _range(*args: Any) -> range:
    limit = limits_of_render().max_range
    try:
        items = range(*args)
        size = len(items)
    except OverflowError:
        size = limit + 1
    if size > limit:
        raise LimitExceeded(f"range() gives at most {limit:,} items")
    return items


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _helper_globals() -> dict[str, Callable[..., Any]]:
    def now(format: Any = "iso", offset: Any = None, tz: Any = "UTC") -> Any:
        return h.now(state_of_render().ctx.clock(), format, offset, tz)

    def sequence(name: Any = "default") -> int:
        return state_of_render().ctx.sequence(str(name))

    def hmac_sha256(value: Any, key_name: Any) -> str:
        keys = state_of_render().ctx.keys
        if not isinstance(key_name, str) or key_name not in keys:
            known = ", ".join(sorted(keys)) or "none"
            raise h.HelperError(f"unknown HMAC key {key_name!r} (configured: {known})")
        return h.hmac_sha256(value, keys[key_name])

    def payload_json(path: Any = "$") -> Any:
        return r.json_first(state_of_render().var("payload"), path)

    return {"range": _range, "now": now, "uuid": h.uuid, "random_int": h.random_int,
            "random_string": h.random_string, "sequence": sequence,
            "hmac_sha256": hmac_sha256, "sha256": h.sha256, "payload_json": payload_json,
            "date_add": h.date_add, "date_format": h.date_format,
            "days_between": h.days_between, "b64encode": h.b64encode,
            "b64decode": h.b64decode, "urlencode": h.urlencode, "xml_escape": h.xml_escape}


_JINJA_FILTERS = (
    "abs attr capitalize count d default dictsort e escape first float forceescape groupby "
    "int items last length list lower map max min random reject rejectattr reverse round "
    "safe select selectattr sort string striptags title trim truncate unique upper "
    "wordcount").split()


@pass_eval_context
def _join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    items = list(value)
    budget = limits_of_render().max_size
    _check_size(sum(_weight(i, budget) for i in items) + len(str(d)) * len(items))
    return filters.do_join(eval_ctx, items, d, attribute)


@pass_eval_context
def _replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> str:
    text, old, new = str(s), str(old), str(new)
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    _check_size(len(text) + times * max(0, len(new) - len(old)))
    return filters.do_replace(eval_ctx, s, old, new, count)


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_percent(str(value), kwargs or args)
    return filters.do_format(value, *args, **kwargs)


@pass_environment
def _sum(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    if isinstance(start, bool) or not isinstance(start, (int, float)):
        raise LimitExceeded("sum() adds numbers only")
    return filters.do_sum(environment, iterable, attribute, start)


@pass_eval_context
def _tojson(eval_ctx: Any, value: Any, indent: Any = None) -> Any:
    if indent is not None and (not isinstance(indent, int) or not 0 <= indent <= 16):
        raise LimitExceeded("tojson indent is at most 16")
    return filters.do_tojson(eval_ctx, value, indent)


def _sized_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)
    def sized(*args: Any, **kwargs: Any) -> Any:
        return _sized(function(*args, **kwargs))

    return sized


@cache
def environment(markup: bool) -> _Sandbox:
    """The shared environment of markup (autoescaped) or of text templates."""
    env = _Sandbox(autoescape=markup, undefined=_Undefined, finalize=_finalize,
                   optimized=False, keep_trailing_newline=True, trim_blocks=True,
                   lstrip_blocks=True, auto_reload=False, cache_size=0)
    env.globals = _helper_globals()
    chosen = {name: env.filters[name] for name in _JINJA_FILTERS}
    chosen.update(join=_join, replace=_replace, format=_format, sum=_sum, tojson=_tojson,
                  urlencode=h.urlencode, b64encode=h.b64encode, b64decode=h.b64decode,
                  xml_escape=h.xml_escape, sha256=h.sha256,
                  hmac_sha256=env.globals["hmac_sha256"], date_add=h.date_add,
                  date_format=h.date_format, days_between=h.days_between)
    env.filters = {name: _sized_filter(f) for name, f in chosen.items()}
    env.filters[ITER] = _iter_guard
    env.filters[SIZED] = _sized
    return env
