"""The request conditions in the ``when:`` of faults, compiled once: at load for the partner
files' faults (located like every condition, ``file:line``), when a fault is set at run time
(each problem a line of the 422), and again when the engine indexes the faults in force.

A fault's ``when:`` mixes schedule keys (``first``, ``every``, ...) with the condition
(``header``, ``equals``, ``all``, ...) in one mapping, so a misspelt schedule key reaches the
condition compiler: its "unknown key" problem suggests the schedule word as well.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from .lang.conditions import KNOWN_WORDS, SYNONYMS, Condition, compile_condition
from .schema.faults import CALLBACK_KINDS, SCHEDULE_KEYS, When

Finding = tuple[tuple, str, str]  # (location, message, severity)
CALLBACK_CONDITION = ("a callback fault is decided at delivery, after the request: its "
                      "'when' takes no request condition (only probability, every, first, "
                      "seconds)")


def compile_when(when: When | None, namespaces: Mapping[str, str] | None = None
                 ) -> tuple[Condition | None, list[tuple[tuple, str]]]:
    """The compiled request condition of a ``when:`` (None when it has none) and its problems
    as (location inside the ``when:`` value, message)."""
    if when is None or when.request is None:
        return None, []
    condition, problems = compile_condition(when.request, namespaces=namespaces or None)
    return condition, [(tuple(p.loc), _hint(tuple(p.loc), p.message)) for p in problems]


def compile_fault_conditions(compiled: Any, partner: Any) -> list[Finding]:
    """Compile the conditions of every fault of a partner model into ``compiled`` (keyed by
    the fault's ``When``); the problems, located in the file."""
    findings: list[Finding] = []
    _level(compiled, findings, partner, (), partner.namespaces)
    for i, dp in enumerate(partner.datapoints):
        namespaces = {**partner.namespaces, **dp.namespaces}
        _level(compiled, findings, dp, ("datapoints", i), namespaces)
        for j, ep in enumerate(dp.endpoints):
            _level(compiled, findings, ep, ("datapoints", i, "endpoints", j), namespaces)
    return findings


def _level(compiled: Any, findings: list[Finding], owner: Any, where: tuple,
           namespaces: Mapping[str, str]) -> None:
    for k, fault in enumerate(owner.faults or ()):
        at = where + ("faults", k, "when")
        if fault.when is None or fault.when.request is None:
            continue
        if fault.kind in CALLBACK_KINDS:
            findings.append((at, CALLBACK_CONDITION, "error"))
            continue
        condition, problems = compile_when(fault.when, namespaces)
        findings.extend((at + loc, message, "error") for loc, message in problems)
        if condition is not None:
            compiled.put(fault.when, condition)


def _hint(loc: tuple, message: str) -> str:
    """For an unknown key at the top of ``when:``, the closest word of either vocabulary."""
    if len(loc) != 1 or not isinstance(loc[0], str) or not message.startswith("unknown key"):
        return message
    key = loc[0]
    if key.lower() in SYNONYMS:
        return message
    close = difflib.get_close_matches(key.lower(), (*SCHEDULE_KEYS, *KNOWN_WORDS), n=1,
                                      cutoff=0.6)
    return f"unknown key '{key}'" + (f" (did you mean '{close[0]}'?)" if close else "")
