"""pydantic's validation errors as located, readable problems: the data location of
each error (union tags and type names left out), "did you mean" for unknown keys, and
plain messages."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

import pydantic

from . import schema
from .schema.faults import FAULT_KINDS, FAULT_MODELS

# Sections where the original already rejected unknown keys: always errors there.
ALWAYS_STRICT = {"pagination", "validate", "rate_limit", "pending", "failed", "strict_order",
                 "faults", "latency"}


def data_loc(data: Any, loc: Sequence) -> tuple:
    """Pydantic's location without union tags and type names, following the data."""
    out: list = []
    current = data
    for i, part in enumerate(loc):
        if isinstance(current, dict):
            if i and isinstance(loc[i - 1], int) and part == current.get("kind"):
                continue  # a fault's kind tag, which may also be one of its keys ("status")
            if part in current:
                out.append(part)
                current = current[part]
            elif isinstance(part, str) and (part in schema.PATTERNS or not _is_last(loc, i)):
                continue  # a union tag or a type segment
            else:
                out.append(part)  # a missing key or an unknown key
                current = None
        elif isinstance(current, list) and isinstance(part, int):
            out.append(part)
            current = current[part] if part < len(current) else None
        elif current is None and isinstance(part, str | int):
            out.append(part)
        # anything else is a pydantic type segment such as 'function-after[...]'
    return tuple(out)


def _is_last(loc: Sequence, i: int) -> bool:
    return i == len(loc) - 1


def dotted(loc: tuple) -> str:
    return ".".join(str(p) for p in loc)


def is_lenient_extra(err: dict) -> bool:
    if err["type"] != "extra_forbidden":
        return False
    return not any(p in ALWAYS_STRICT for p in err["loc"][:-1])


def drop(data: Any, loc: tuple) -> None:
    current = data
    for part in loc[:-1]:
        current = current[part]
    if isinstance(current, dict):
        current.pop(loc[-1], None)


def unknown_key_message(data: dict, loc: tuple) -> str:
    key = str(loc[-1])
    known = _known_keys(data, loc[:-1])
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key '{key}'{hint}"


def _known_keys(data: dict, loc: tuple) -> list[str]:
    """Field names (YAML spelling) of the model found at ``loc`` in the data."""
    annotation: Any = schema.Partner
    current: Any = data
    for part in loc:
        if isinstance(part, int):
            annotation = _item_type(annotation)
            current = current[part] if isinstance(current, list) and part < len(current) else None
            continue
        model = _model_class(annotation, current)
        info = _field(model, part) if model else None
        if info is None:
            return []
        annotation = info.annotation
        current = current.get(part) if isinstance(current, dict) else None
    model = _model_class(annotation, current)
    return [f.alias or n for n, f in model.model_fields.items()] if model else []


def _strip(annotation: Any) -> Any:
    """Drop Annotated and Optional wrappers."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _item_type(annotation: Any) -> Any:
    annotation = _strip(annotation)
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else None


def _model_class(annotation: Any, value: Any) -> type[pydantic.BaseModel] | None:
    annotation = _strip(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        tag = value.get("pattern") if isinstance(value, dict) else None
        if isinstance(value, dict) and "kind" in value and "pattern" not in value:
            return FAULT_MODELS.get(value["kind"])
        return schema.DATAPOINT_MODELS.get(tag)
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    return None


def _field(model: type[pydantic.BaseModel], name: str) -> Any:
    for field_name, info in model.model_fields.items():
        if name in (field_name, info.alias):
            return info
    return None


_FRIENDLY = {
    "missing": "is required",
    "union_tag_not_found": "is missing 'pattern' (one of: " + ", ".join(schema.PATTERNS) + ")",
}


def message(err: dict) -> str:
    kind = err["type"]
    if kind == "union_tag_not_found" and not isinstance(err.get("input"), dict):
        return f"expected a mapping (got {type(err.get('input')).__name__})"
    if kind.startswith("union_tag") and tag_key(err["loc"]) == "kind":
        return _fault_kind_message(err)
    if kind in _FRIENDLY:
        return _FRIENDLY[kind]
    if kind == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag")
        close = difflib.get_close_matches(str(tag), schema.PATTERNS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown pattern '{tag}'{hint}; supported: {', '.join(sorted(schema.PATTERNS))}"
    if kind == "too_short" and err.get("ctx", {}).get("min_length") == 1:
        return "must not be empty"
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if kind in ("model_type", "dict_type", "list_type"):
        got = type(err.get("input")).__name__
        message = f"{message} (got {got})"
    return message


def tag_key(loc: Sequence) -> str:
    """The key that picks the model of a union at ``loc``: a fault's ``kind`` or a
    datapoint's ``pattern``."""
    return "kind" if "faults" in loc else "pattern"


def _fault_kind_message(err: dict) -> str:
    supported = ", ".join(FAULT_KINDS)
    if err["type"] == "union_tag_not_found":
        return f"is missing 'kind' (one of: {supported})"
    tag = str(err.get("ctx", {}).get("tag"))
    close = difflib.get_close_matches(tag, FAULT_KINDS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown fault kind '{tag}'{hint}; supported: {supported}"
