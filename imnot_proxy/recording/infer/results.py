"""What an inference returns: datapoints in YAML key order and the summary rows behind them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

NO_PAYLOAD = object()


class TextPayload(str):
    """A payload that is not JSON: written as it is, to a file with this suffix."""

    suffix = ".txt"

    def __new__(cls, text: str, suffix: str = ".txt") -> TextPayload:
        value = super().__new__(cls, text)
        value.suffix = suffix
        return value


@dataclass(frozen=True)
class Row:
    """One line of the summary: which flows, which request, what became of them, why."""

    flows: str
    request: str
    outcome: str
    why: str
    first: int = field(default=0, compare=False)

    @classmethod
    def of(cls, numbers: Iterable[int], request: str, outcome: str, why: str) -> Row:
        ordered = sorted(set(numbers))
        return cls(flow_ranges(ordered), request, outcome, why, ordered[0] if ordered else 0)


@dataclass
class InferredDatapoint:
    name: str
    pattern: str
    data: dict[str, Any]  # the datapoint mapping, keys in the order they are written
    comment: str
    flows: list[int]
    payload: Any = NO_PAYLOAD
    gaps: list[str] = field(default_factory=list)  # what the datapoint cannot reproduce
    named: dict[str, Any] = field(default_factory=dict)  # named payloads: name -> JSON value

    @property
    def has_payload(self) -> bool:
        return self.payload is not NO_PAYLOAD


@dataclass
class Inference:
    partner: str
    hosts: list[str]
    datapoints: list[InferredDatapoint]
    inferred: list[Row]
    skipped: list[Row]
    flow_count: int
    notes: list[str] = field(default_factory=list)
    # The secret values seen in the input, for the writer's last scrub of its own text.
    secrets: list[str] = field(default_factory=list, repr=False, compare=False)


def from_flows(numbers: Iterable[int]) -> str:
    """``from flow 3`` / ``from flows 4–9``."""
    ordered = sorted(set(numbers))
    return f"from flow{'s' if len(ordered) > 1 else ''} {flow_ranges(ordered)}"


def flow_ranges(numbers: Iterable[int]) -> str:
    """``[4, 5, 6, 9]`` → ``4–6, 9``."""
    ordered = sorted(set(numbers))
    parts: list[str] = []
    start = prev = None
    for n in ordered:
        if start is None:
            start = prev = n
        elif prev is not None and n == prev + 1:
            prev = n
        else:
            parts.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = prev = n
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}–{prev}")
    return ", ".join(parts)
