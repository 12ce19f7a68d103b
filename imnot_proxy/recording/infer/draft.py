"""The partner under construction, which every inference step reads and writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .flows import Flow
from .ids import VERSION_RE, param_why, path, singular, word
from .results import NO_PAYLOAD, InferredDatapoint, Row, from_flows

Route = tuple[str, tuple[str | None, ...]]  # method, path shape (None: a parameter)


@dataclass
class Draft:
    flows: list[Flow]
    usable: list[Flow] = field(default_factory=list)
    claimed: set[int] = field(default_factory=set)
    datapoints: list[InferredDatapoint] = field(default_factory=list)
    inferred: list[Row] = field(default_factory=list)
    skipped: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    routes: dict[Route, str] = field(default_factory=dict)
    deliveries: dict[int, Flow] = field(default_factory=dict)  # callback request -> delivery
    by_segment: dict[str, list[Flow]] = field(default_factory=dict)

    def add(self, dp: InferredDatapoint) -> None:
        self.datapoints.append(dp)

    def route(self, method: str, shape: tuple[str | None, ...], name: str) -> None:
        self.routes.setdefault((method, shape), name)

    def name(self, segments: tuple[str, ...], shape: tuple[str | None, ...], method: str) -> str:
        """A datapoint name from the path's literal segments, unique in this partner;
        ``/properties/{id}`` is a ``property``."""
        words = [word(s) for s, p in zip(segments, shape, strict=True)
                 if p is not None and not VERSION_RE.match(s) and s.lower() not in ("api", "rest")]
        words = [w for w in words if w]
        if words and shape and shape[-1] is None:
            words[-1] = singular(words[-1])
        candidates = []
        if words:
            candidates.append(words[-1])
            if len(words) > 1:
                candidates.append(f"{words[-2]}_{words[-1]}")
            candidates.append(f"{method.lower()}_{words[-1]}")
        else:
            candidates += ["root", f"{method.lower()}_root"]
        for candidate in candidates:
            if candidate not in self.names:
                self.names.add(candidate)
                return candidate
        base = candidates[0]
        n = 2
        while f"{base}_{n}" in self.names:
            n += 1
        self.names.add(f"{base}_{n}")
        return f"{base}_{n}"

    def single(self, flows: list[Flow], last: Flow, pattern: str, response: dict[str, Any],
               comment: str, why: str, *, payload: Any = NO_PAYLOAD,
               pagination: dict[str, Any] | None = None,
               extra: dict[str, Any] | None = None) -> InferredDatapoint:
        """A datapoint with one endpoint, made from one group of flows; ``extra`` goes into
        the endpoint (``alternatives``)."""
        name = self.name(last.segments, last.shape, last.method)
        template = path(last, {})
        self.route(last.method, last.shape, name)
        endpoint = {"method": last.method, "path": template, "response": response,
                    **(extra or {})}
        data: dict[str, Any] = {"name": name,
                                "description": f"Recorded {pattern} {last.method} {template}",
                                "pattern": pattern, "endpoints": [endpoint]}
        if pagination is not None:
            data["pagination"] = pagination
        numbers = [f.n for f in flows]
        dp = InferredDatapoint(name, pattern, data,
                               f"{comment}; {from_flows(numbers)}", numbers, payload)
        self.add(dp)
        self.inferred.append(Row.of(numbers, f"{last.method} {template}",
                                    f"{pattern} {name}", why + param_why(flows[0])))
        return dp
