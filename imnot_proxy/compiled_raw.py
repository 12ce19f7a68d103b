"""The compiled stage's checks (``when:`` conditions, captures, templates, XPath rules,
XML Schemas, the conditions of faults) over the raw data of a file the schema rejected,
so that one run reports both kinds of problem.

``compile_partner`` reads models; here each mapping of the file is read like the model
it did not become (``_Raw``): a field whose value has the shape the model would hold
reads as that value, anything else (a missing key, a list where a mapping belongs, a key
the pattern does not have) as None. The parts that can be compiled are compiled by the
very code of the compiled stage, so locations and messages are the same; the rest is left
to the schema's own problems.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, get_args

import pydantic

from .compiled import Finding, compile_partner
from .schema.base import Answer, HeaderValue, PendingAnswer
from .schema.choice import TemplatedStatus
from .schema.faults import SCHEDULE_KEYS
from .schema.patterns import DatapointBase, EndpointBase

Reader = Callable[[dict], Any]

_BOOL = pydantic.TypeAdapter(bool)
_STATUS = pydantic.TypeAdapter(TemplatedStatus)
_HEADER = pydantic.TypeAdapter(HeaderValue)


class _Raw:
    """A mapping of the file read through ``readers`` (field name -> how to read it);
    a name without a reader reads as None, as ``getattr(model, name, None)`` would."""

    def __init__(self, data: Any, readers: dict[str, Reader]) -> None:
        self._data = data if isinstance(data, dict) else {}
        self._readers = readers

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        reader = self._readers.get(name)
        return None if reader is None else reader(self._data)


def compile_raw(data: dict, file: Path | None = None) -> list[Finding]:
    """The compiled stage's findings for the parts of ``data`` whose shape allows compiling
    them. Never raises on the shape of ``data``."""
    _, findings = compile_partner(_partner(data), file)  # type: ignore[arg-type]
    return findings


# --- readers ----------------------------------------------------------------------------

def _as_is(key: str) -> Reader:
    return lambda data: data.get(key)


def _mapping(key: str) -> Reader:
    def read(data: dict) -> dict[str, str]:
        value = data.get(key)
        return value if isinstance(value, dict) else {}
    return read


def _headers(key: str) -> Reader:
    def read(data: dict) -> dict[str, str]:
        value = data.get(key)
        out = {}
        for name, text in (value.items() if isinstance(value, dict) else ()):
            try:
                if isinstance(name, str):
                    out[name] = _HEADER.validate_python(text)
            except pydantic.ValidationError:
                continue  # the schema reports it
        return out
    return read


def _adapted(key: str, adapter: pydantic.TypeAdapter, default: Any) -> Reader:
    def read(data: dict) -> Any:
        if key not in data:
            return default
        try:
            return adapter.validate_python(data[key])
        except pydantic.ValidationError:
            return default  # the schema reports it
    return read


def _keyed(key: str) -> Reader:
    """A mapping with text keys, its values as written (``capture:``, ``validate.xpath``)."""
    def read(data: dict) -> dict[str, Any] | None:
        value = data.get(key)
        if not isinstance(value, dict):
            return None
        return {k: v for k, v in value.items() if isinstance(k, str)}
    return read


def _one(key: str, make: Callable[[Any], Any]) -> Reader:
    return lambda data: make(data[key]) if isinstance(data.get(key), dict) else None


def _many(key: str, make: Callable[[Any], Any], empty: Any = None) -> Reader:
    """A list, each item read by ``make`` (an item of another shape reads as an empty
    mapping, so that list indexes stay the file's)."""
    return lambda data: ([make(item) for item in data[key]]
                         if isinstance(data.get(key), list) else empty)


# --- the parts of a partner file --------------------------------------------------------

_ANSWER_READERS: dict[str, Reader] = {
    "status": _adapted("status", _STATUS, None),
    "template": _adapted("template", _BOOL, False),
    "headers": _headers("headers"),
    "callback_headers": _headers("callback_headers"),
    "body": _as_is("body"),
    "callback_body": _as_is("callback_body"),
    "access_token": _as_is("access_token"),
    "pending": _many("pending", lambda item: _answer(item, PendingAnswer)),
    "failed": _one("failed", lambda item: _answer(item, Answer)),
}


def _answer(data: Any, model: type[pydantic.BaseModel]) -> _Raw:
    return _Raw(data, {name: read for name, read in _ANSWER_READERS.items()
                       if name in model.model_fields})


def _fault(data: Any) -> _Raw:
    return _Raw(data, {"kind": _kind, "when": _fault_when})


def _kind(data: dict) -> str | None:
    return data["kind"] if isinstance(data.get("kind"), str) else None


def _fault_when(data: dict) -> Any:
    """What ``schema.faults.When`` keeps of a ``when:``: its request condition."""
    when = data.get("when")
    if isinstance(when, list):
        return SimpleNamespace(request=when)
    if isinstance(when, dict):
        condition = {k: v for k, v in when.items() if k not in SCHEDULE_KEYS}
        return SimpleNamespace(request=condition or None)
    return None


def _endpoint_models() -> dict[str, type[EndpointBase]]:
    models = {}
    for dp in DatapointBase.__subclasses__():
        (pattern,) = get_args(dp.model_fields["pattern"].annotation)
        (endpoint,) = get_args(dp.model_fields["endpoints"].annotation)
        models[pattern] = endpoint
    return models


ENDPOINTS = _endpoint_models()


def _endpoint(data: Any, model: type[EndpointBase]) -> _Raw:
    response = model.model_fields.get("response")
    readers: dict[str, Reader] = {
        "when": _as_is("when"),
        "validation": _one("validate", lambda block: _Raw(block, {"xpath": _keyed("xpath"),
                                                                 "xsd": _xsd})),
        "faults": _many("faults", _fault),
    }
    if response is not None:
        answers = response.annotation
        readers["response"] = _one("response", lambda item: _answer(item, answers))
        readers["alternatives"] = _many("alternatives", lambda item: _Raw(item, {
            "when": _as_is("when"),
            "response": _one("response", lambda r: _answer(r, answers))}))
    else:  # an unknown pattern: its conditions still compile
        readers["alternatives"] = _many("alternatives", lambda item: _Raw(item, {
            "when": _as_is("when")}))
    if "capture" in model.model_fields:
        readers["capture"] = _keyed("capture")
    return _Raw(data, readers)


def _xsd(data: dict) -> str | None:
    return data["xsd"] if isinstance(data.get("xsd"), str) else None


def _namespaces_valid(data: Any) -> bool:
    """Whether ``namespaces:`` is absent or valid: an XPath is only compiled against the
    prefixes the file means, never against what is left of an invalid mapping."""
    value = data.get("namespaces", {}) if isinstance(data, dict) else {}
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                           for k, v in value.items())


def _datapoint(data: Any, prefixes_valid: bool) -> _Raw:
    if not (prefixes_valid and _namespaces_valid(data)):
        return _Raw({}, {"namespaces": lambda _: {}, "endpoints": lambda _: []})
    pattern = data.get("pattern") if isinstance(data, dict) else None
    model = ENDPOINTS.get(pattern, EndpointBase) if isinstance(pattern, str) else EndpointBase
    readers: dict[str, Reader] = {
        "namespaces": _mapping("namespaces"),
        "endpoints": _many("endpoints", lambda item: _endpoint(item, model), empty=[]),
        "faults": _many("faults", _fault),
    }
    if pattern == "polling":
        readers["strict_order"] = _one("strict_order", lambda block: _Raw(block, {
            "unknown_id": _one("unknown_id", lambda item: _answer(item, Answer)),
            "not_ready": _one("not_ready", lambda item: _answer(item, Answer))}))
    return _Raw(data, readers)


def _partner(data: dict) -> _Raw:
    valid = _namespaces_valid(data)
    return _Raw(data, {
        "keys": lambda _: {},  # the keys' warnings come with the schema-valid file
        "namespaces": _mapping("namespaces"),
        "datapoints": _many("datapoints", lambda item: _datapoint(item, valid), empty=[]),
        "faults": _many("faults", _fault) if valid else lambda _: None,
    })
