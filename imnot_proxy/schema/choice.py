"""What lets one endpoint answer differently per request: ``when:`` conditions, the
``alternatives:`` of an endpoint, ``capture:`` of request values into flow state, and
the keys templates may sign with.

Conditions and templates are kept here as written; the loader compiles them
(``imnot_proxy.lang``) and reports every problem with its line.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import Field, PlainValidator, WithJsonSchema, model_validator

from .base import StrictModel

SOURCES = ("path", "query", "header", "form", "json", "xpath", "body", "soap_action")
OPERATORS = ("equals", "in", "matches", "contains", "exists", "absent", "min", "max")

_LEAF: dict[str, Any] = {
    "type": "object",
    "description": "One source (path, query, header, form, json, xpath, body, soap_action) and "
                   "at most one operator (equals, in, matches, contains, exists, absent, "
                   "min/max), or all/any/not.",
    "properties": {
        **{s: {"type": ["string", "object"]} for s in SOURCES if s != "soap_action"},
        "soap_action": {"type": "string"},
        "equals": {}, "in": {"type": "array"}, "matches": {"type": "string"},
        "contains": {}, "exists": {"type": "boolean"}, "absent": {"type": "boolean"},
        "min": {"type": "number"}, "max": {"type": "number"},
        "ignore_case": {"type": "boolean"},
        "all": {"type": "array", "items": {"type": ["object", "array"]}},
        "any": {"type": "array", "items": {"type": ["object", "array"]}},
        "not": {"type": ["object", "array"]},
    },
    "additionalProperties": False,
}
CONDITION_SCHEMA = {"anyOf": [_LEAF, {"type": "array", "items": _LEAF}]}

Condition = Annotated[Any, WithJsonSchema(CONDITION_SCHEMA)]


STATUS_MESSAGE = "status must be a number from 100 to 599, or a template with template: true"


def _status_value(value: Any) -> int | str:
    """A status: a number (``"201"`` is 201, as the original reads it) or a template."""
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            value = int(text)
        elif "{{" in text or "{%" in text:
            return value
    if isinstance(value, int) and not isinstance(value, bool):
        if 100 <= value <= 599:
            return value
        raise ValueError("status must be from 100 to 599")
    raise ValueError(STATUS_MESSAGE)


TemplatedStatus = Annotated[int | str, PlainValidator(_status_value),
                            WithJsonSchema({"anyOf": [
                                {"type": "integer", "minimum": 100, "maximum": 599},
                                {"type": "string", "pattern": "\\{\\{",
                                 "description": "a template, with template: true"}]})]

R = TypeVar("R")


class Alternative(StrictModel, Generic[R]):
    """One way an endpoint answers: when ``when`` holds (or always, without ``when``), with
    ``response`` (default: the endpoint's) and, for payload patterns, the named payload."""

    when: Condition | None = None
    response: R | None = None
    payload: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")


CaptureSource = Annotated[dict[str, Any], WithJsonSchema({
    "type": "object", "description": "one source, as in conditions: {json: $.hotelId}, "
                                     "{header: X-Ref}, {query: q}, {path: id}, {xpath: //x}, "
                                     "{form: f}"})]


class Key(StrictModel):
    """A key templates may sign with (``hmac_sha256(value, 'name')``): from an environment
    variable (kept out of partner files) or, for throwaway test keys, the value itself."""

    env: str | None = None
    value: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Key:
        if (self.env is None) == (self.value is None):
            raise ValueError("give exactly one of 'env' or 'value'")
        return self
