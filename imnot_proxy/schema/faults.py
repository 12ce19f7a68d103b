"""Faults and latency: the ``faults:`` and ``latency:`` keys of a partner, a datapoint or an
endpoint, and the body of ``POST /imnot/admin/faults``.

A fault is one ``kind`` with its parameters and an optional ``when:``: a schedule (always,
with a seeded probability, every Nth or the first N requests, or for some seconds after a
start) and, in the same mapping, a request condition in the language of ``alternatives:``
(``schema/choice.py``); all of them must hold.
Delays are milliseconds (``*_ms``), windows and bounds are seconds. Values above the caps
below load and are capped, with a warning (``fault_warnings``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    StrictInt,
    TypeAdapter,
    WithJsonSchema,
    model_serializer,
    model_validator,
)

from .base import Headers, Status, StrictModel
from .choice import CONDITION_SCHEMA, Condition

MAX_DELAY_MS = 300_000.0  # five minutes: any delay (fixed, sampled, per slow-body piece)
MAX_HANG_SECONDS = 600.0
MAX_HOLD_SECONDS = 600.0

Finite = Annotated[float, Field(allow_inf_nan=False)]
Millis = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Seed = StrictInt | str


SCHEDULE_KEYS = ("probability", "seed", "every", "first", "seconds", "since", "per")


class When(StrictModel):
    """When a fault fires; everything given must hold. Requests are counted per session
    (``per: all`` counts every client together), and only those the request condition
    holds for; ``seconds`` opens a window that starts at ``since``: the first counted
    request, the session's creation, the creation of the generated ``{id}`` in the path,
    or when the fault was ``set``.

    The schedule keys are fields; every other key of the mapping (``header:``,
    ``equals:``, ``all:`` ...) is the request condition, kept as written in ``request``
    and compiled by the loader (a list instead of a mapping is a condition alone). A dump
    puts them back into one mapping."""

    probability: Finite | None = Field(default=None, ge=0, le=1)
    seed: Seed | None = None
    every: StrictInt | None = Field(default=None, ge=1)
    first: StrictInt | None = Field(default=None, ge=1)
    seconds: Finite | None = Field(default=None, gt=0)
    since: Literal["first", "session", "id", "set"] = "first"
    per: Literal["session", "all"] = "session"
    request: Condition | None = None

    @model_validator(mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"request": value}
        if not isinstance(value, dict):
            return value
        schedule = {k: v for k, v in value.items() if k in SCHEDULE_KEYS}
        condition = {k: v for k, v in value.items() if k not in SCHEDULE_KEYS}
        return {**schedule, "request": condition} if condition else schedule

    @model_serializer(mode="wrap")
    def _merged(self, handler: Any) -> Any:
        data = handler(self)
        request = data.pop("request", None) if isinstance(data, dict) else None
        if request is None:
            return data
        return {**(request if isinstance(request, dict) else {"all": request}), **data}

    @model_validator(mode="after")
    def _consistent(self) -> When:
        if self.seed is not None and self.probability is None:
            raise ValueError("'seed' needs 'probability'")
        if "since" in self.model_fields_set and self.seconds is None:
            raise ValueError("'since' needs 'seconds'")
        return self

    @property
    def counted(self) -> bool:
        """Whether deciding needs the request count of this fault."""
        return (self.every is not None or self.first is not None or self.seed is not None
                or (self.seconds is not None and self.since in ("first", "session")))


class Dribble(StrictModel):
    """A slow body: ``bytes`` at a time, ``every_ms`` apart."""

    bytes: StrictInt = Field(gt=0)
    every_ms: Millis


def _fixed_ms(value: Any) -> Any:
    """``latency: 300`` is ``latency: {ms: 300}``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"ms": value}
    return value


class LatencySpec(StrictModel):
    """A delay before the answer: ``ms`` (fixed), ``uniform_ms: [min, max]``, or log-normal
    around ``median_ms`` with ``sigma``; ``max_ms`` caps any of them. ``body`` also sends
    the body slowly. ``seed`` makes sampled delays reproducible."""

    ms: Millis | None = None
    uniform_ms: tuple[Millis, Millis] | None = None
    median_ms: Millis | None = None
    sigma: Finite = Field(default=0.5, ge=0, le=5)
    max_ms: Millis | None = None
    seed: Seed | None = None
    body: Dribble | None = None

    @model_validator(mode="after")
    def _one_distribution(self) -> LatencySpec:
        given = [k for k in ("ms", "uniform_ms", "median_ms") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of 'ms', 'uniform_ms' or 'median_ms', not {given}")
        if not given and self.body is None:
            raise ValueError("give 'ms', 'uniform_ms' or 'median_ms' (or 'body' for a slow body)")
        if self.uniform_ms is not None and self.uniform_ms[0] > self.uniform_ms[1]:
            raise ValueError("'uniform_ms' is [min, max]: min must not be above max")
        if "sigma" in self.model_fields_set and self.median_ms is None:
            raise ValueError("'sigma' belongs to 'median_ms' (log-normal)")
        return self


class _MillisOrSpec:
    """JSON Schema of ``latency:``: a number (fixed milliseconds) or the mapping."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict:
        return {"anyOf": [{"type": "number", "minimum": 0}, handler(core_schema)]}


Latency = Annotated[LatencySpec, BeforeValidator(_fixed_ms), _MillisOrSpec]


_SCHEDULE_SCHEMA: dict[str, Any] = {
    "probability": {"type": "number", "minimum": 0, "maximum": 1},
    "seed": {"type": ["integer", "string"]},
    "every": {"type": "integer", "minimum": 1},
    "first": {"type": "integer", "minimum": 1},
    "seconds": {"type": "number", "exclusiveMinimum": 0},
    "since": {"enum": ["first", "session", "id", "set"]},
    "per": {"enum": ["session", "all"]},
}
_CONDITION_LEAF = CONDITION_SCHEMA["anyOf"][0]
WHEN_SCHEMA = {"anyOf": [
    {"type": "object",
     "description": "When the fault fires: a schedule (probability, seed, every, first, "
                    "seconds, since, per) and a request condition as in alternatives "
                    "(header, query, json, ..., all/any/not), all in one mapping; every "
                    "one given must hold",
     "properties": {**_SCHEDULE_SCHEMA, **_CONDITION_LEAF["properties"]},
     "additionalProperties": False},
    {"type": "array", "items": _CONDITION_LEAF},
]}


class FaultBase(StrictModel):
    when: Annotated[When | None, WithJsonSchema(WHEN_SCHEMA)] = None


class StatusFault(FaultBase):
    """Answer with this status (and headers/body) instead of the mock."""

    kind: Literal["status"]
    status: Status = 503
    headers: Headers = Field(default_factory=dict)
    body: Any = None
    retry_after: StrictInt | None = Field(default=None, ge=0)


class LatencyFault(FaultBase, LatencySpec):
    """Delay the mock's answer (and with ``body``, send its body slowly)."""

    kind: Literal["latency"]


class HangFault(FaultBase):
    """Never answer: close the connection after ``max_seconds`` or when the client gives up."""

    kind: Literal["hang"]
    max_seconds: Finite = Field(default=60.0, gt=0)


class ResetFault(FaultBase):
    """Reset the client's connection (a TCP RST) instead of answering."""

    kind: Literal["reset"]


class EmptyReplyFault(FaultBase):
    """Close the client's connection without a response."""

    kind: Literal["empty_reply"]


class TruncatedFault(FaultBase):
    """Send the mock's headers, which promise the whole body, then ``bytes`` of the body
    (default: half) and close."""

    kind: Literal["truncated"]
    bytes: StrictInt | None = Field(default=None, ge=0)


class MalformedChunkFault(FaultBase):
    """Send the mock chunked, ``bytes`` of it (default: half) in a good chunk, then a chunk
    whose size line is not hexadecimal, and close."""

    kind: Literal["malformed_chunk"]
    bytes: StrictInt | None = Field(default=None, ge=0)


class CallbackDelayFault(FaultBase, LatencySpec):
    """Deliver the callback this much later (on top of ``callback_delay_seconds``)."""

    kind: Literal["callback_delay"]

    @model_validator(mode="after")
    def _no_body(self) -> CallbackDelayFault:
        if self.body is not None:
            raise ValueError("'body' (a slow body) does not apply to callbacks")
        return self


class CallbackDropFault(FaultBase):
    """Never deliver the callback."""

    kind: Literal["callback_drop"]


class CallbackDuplicateFault(FaultBase):
    """Deliver the callback ``times`` times, ``gap_ms`` apart."""

    kind: Literal["callback_duplicate"]
    times: StrictInt = Field(default=2, ge=2, le=20)
    gap_ms: Millis = 0.0


class CallbackOutOfOrderFault(FaultBase):
    """Hold the callback back until the next callback of the same datapoint and session was
    delivered (at most ``hold_seconds``), so that it arrives after a later one."""

    kind: Literal["callback_out_of_order"]
    hold_seconds: Finite = Field(default=30.0, gt=0)


FAULT_MODELS: dict[str, type[FaultBase]] = {
    "status": StatusFault, "latency": LatencyFault, "hang": HangFault, "reset": ResetFault,
    "empty_reply": EmptyReplyFault, "truncated": TruncatedFault,
    "malformed_chunk": MalformedChunkFault, "callback_delay": CallbackDelayFault,
    "callback_drop": CallbackDropFault, "callback_duplicate": CallbackDuplicateFault,
    "callback_out_of_order": CallbackOutOfOrderFault,
}
CALLBACK_KINDS = frozenset(k for k in FAULT_MODELS if k.startswith("callback_"))
FAULT_KINDS = tuple(FAULT_MODELS)

Fault = Annotated[
    StatusFault | LatencyFault | HangFault | ResetFault | EmptyReplyFault | TruncatedFault
    | MalformedChunkFault | CallbackDelayFault | CallbackDropFault | CallbackDuplicateFault
    | CallbackOutOfOrderFault,
    Field(discriminator="kind"),
]
FAULT = TypeAdapter(Fault)


class FaultScope(StrictModel):
    """Where a fault set at run time applies: a partner, or one of its datapoints, or one
    endpoint (``"METHOD /path"`` as in the partner file); for one session or for everyone;
    until it is deleted or ``expires_in`` seconds have passed."""

    partner: str = Field(min_length=1)
    datapoint: str | None = Field(default=None, min_length=1)
    endpoint: str | None = Field(default=None, min_length=1)
    session: str | None = Field(default=None, min_length=1, max_length=256)
    expires_in: Finite | None = Field(default=None, gt=0)


SCOPE_KEYS = frozenset(FaultScope.model_fields)


def fault_warnings(value: Any) -> list[tuple[tuple, str]]:
    """Values over the caps, as (location inside the fault, message); they are capped."""
    found: list[tuple[tuple, str]] = []

    def over(loc: tuple, number: float | None, cap: float, unit: str) -> None:
        if number is not None and number > cap:
            found.append((loc, f"{_num(number)} {unit} is more than the cap of {_num(cap)} "
                               f"{unit}; capped to {_num(cap)}"))

    if isinstance(value, LatencySpec):
        over(("ms",), value.ms, MAX_DELAY_MS, "ms")
        if value.uniform_ms is not None:
            over(("uniform_ms", 1), value.uniform_ms[1], MAX_DELAY_MS, "ms")
        over(("median_ms",), value.median_ms, MAX_DELAY_MS, "ms")
        over(("max_ms",), value.max_ms, MAX_DELAY_MS, "ms")
        if value.body is not None:
            over(("body", "every_ms"), value.body.every_ms, MAX_DELAY_MS, "ms")
    if isinstance(value, HangFault):
        over(("max_seconds",), value.max_seconds, MAX_HANG_SECONDS, "seconds")
    if isinstance(value, CallbackDuplicateFault):
        over(("gap_ms",), value.gap_ms, MAX_DELAY_MS, "ms")
    if isinstance(value, CallbackOutOfOrderFault):
        over(("hold_seconds",), value.hold_seconds, MAX_HOLD_SECONDS, "seconds")
    return found


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"
