"""Load-time rules of ``faults:`` and ``latency:`` that the models cannot check alone:
values over the caps (warnings: they are capped), callback faults away from callbacks, and a
window ``since: id`` on an endpoint without an ``{id}``. Findings as in ``rules.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from . import schema
from .routing import is_param, split_path
from .schema.faults import CALLBACK_KINDS, fault_warnings

Finding = tuple[tuple, str, str]  # (location, message, severity)


def check_faults(partner: schema.Partner) -> Iterator[Finding]:
    has_callbacks = any(dp.pattern == "callback" for dp in partner.datapoints)
    yield from _level(partner, (), callbacks=has_callbacks, path=None)
    for i, dp in enumerate(partner.datapoints):
        where = ("datapoints", i)
        is_callback = dp.pattern == "callback"
        yield from _level(dp, where, callbacks=is_callback, path=None)
        for j, ep in enumerate(dp.endpoints):
            yield from _level(ep, where + ("endpoints", j), callbacks=is_callback, path=ep.path)


def _level(owner: Any, where: tuple, *, callbacks: bool, path: str | None) -> Iterator[Finding]:
    if owner.latency is not None:
        for loc, message in fault_warnings(owner.latency):
            yield where + ("latency", *loc), message, "warning"
    for k, fault in enumerate(owner.faults or ()):
        at = where + ("faults", k)
        for loc, message in fault_warnings(fault):
            yield at + loc, message, "warning"
        if fault.kind in CALLBACK_KINDS and not callbacks:
            yield (at + ("kind",), f"'{fault.kind}' applies to callback deliveries: put it on a "
                                   "datapoint with pattern 'callback'", "error")
        when = fault.when
        if when is not None and when.seconds is not None and when.since == "id" \
                and path is not None and "id" not in _params(path):
            yield (at + ("when", "since"), "'since: id' reads the generated id from the path, "
                                           "which has no '{id}' segment", "error")


def _params(path: str) -> set[str]:
    return {s[1:-1] for s in split_path(path) if is_param(s)}
