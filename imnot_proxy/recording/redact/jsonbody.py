"""JSON: secret-named fields at any depth, their value replaced whole (a list or an object
too); ``{"name": "password", "value": ...}`` pairs; every string handed back for shapes
and nested documents; keys that are secrets by shape. A key given twice is never a way
around: the document is written again without the earlier copy.
"""

from __future__ import annotations

import json
from typing import Any

from .context import Pass
from .shapes import PLACEHOLDER, has_hint, redact_shapes

_PAIR_NAMES = ("name", "key", "field", "param", "parameter", "type")  # {"type": "password", …}
_PAIR_VALUES = ("value", "val", "values", "data")


def redact(text: str, ctx: Pass) -> str | None:
    """``text`` redacted, unchanged when nothing is secret; None when it is not JSON."""
    duplicated: list[bool] = []
    try:
        value = json.loads(text, object_pairs_hook=lambda p: _object(p, ctx, duplicated))
    except (ValueError, RecursionError):
        return None
    new = walk(value, ctx)
    if not duplicated and new == value:
        return text
    pretty = "\n" in text.strip()
    return json.dumps(new, ensure_ascii=False, indent=2 if pretty else None,
                      separators=None if pretty else (",", ":"))


def _object(pairs: list[tuple[str, Any]], ctx: Pass, duplicated: list[bool]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) < len(pairs):
        duplicated.append(True)
        for key, value in pairs:
            if ctx.names.field(key) and out[key] is not value:
                leaves(value, ctx)
    return out


def walk(value: Any, ctx: Pass) -> Any:
    """A parsed JSON value with its secrets replaced."""
    if isinstance(value, str):
        return ctx.string(value)
    if isinstance(value, list):
        return [walk(v, ctx) for v in value]
    if not isinstance(value, dict):
        return value
    paired = any(isinstance(value.get(k), str) and ctx.names.field(value[k])
                 for k in _PAIR_NAMES if k in value)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if has_hint(key):
            key = redact_shapes(key, ctx.secret)
            while key in out:
                key += "_"
        if (ctx.names.field(key) or (paired and key.lower() in _PAIR_VALUES)) \
                and redactable(item):
            leaves(item, ctx)
            out[key] = PLACEHOLDER
        else:
            out[key] = walk(item, ctx)
    return out


def redactable(value: Any) -> bool:
    """Whether a secret-named value holds anything: null, booleans and empties stay."""
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, str | list | dict):
        return bool(value) and value != PLACEHOLDER
    return True


def leaves(value: Any, ctx: Pass, inner: bool = False) -> None:
    """Every scalar under a secret value, as found secrets."""
    if isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            leaves(item, ctx, True)
    elif value is not None and not isinstance(value, bool):
        text = value if isinstance(value, str) else str(value)
        if text != PLACEHOLDER:
            (ctx.inner_secret if inner else ctx.secret)(text)
