"""The ``when:`` condition language: compile a YAML value once, test requests against it.

A condition is a mapping with one source and at most one operator::

    {header: X-Tier, equals: gold}
    {query: currency, in: [EUR, USD], ignore_case: true}
    {json: $.hotel.id, matches: "^H-"}
    {xpath: "//HotelReservation/@ResStatus", equals: Cancel}
    {soap_action: OTA_HotelAvailNotifRQ}

combined with ``all: [...]``, ``any: [...]`` and ``not: ...``; a list wherever a condition
is expected means ``all``. A mapping in place of the source's name is shorthand for
``equals`` (``in`` for a list) per entry: ``{header: {X-Tier: gold}}``. ``compile_condition`` reports every problem at once, located
inside the ``when:`` value; a compiled condition's ``test`` and ``why_not`` never raise.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .condition_sources import SOURCES, Source, Unavailable
from .condition_values import (
    Contains,
    Equals,
    Exists,
    In,
    Invalid,
    Matches,
    Operator,
    Range,
    evidence,
    kind,
)
from .requestdata import RequestData

OPERATORS = ("equals", "in", "matches", "contains", "exists", "absent", "min", "max")
COMBINATORS = ("all", "any", "not")
TEXT_OPERATORS = ("equals", "in", "matches", "contains")
# words from other mock servers and from validate:, and what they are called here
SYNONYMS = {"pattern": "matches", "regex": "matches", "allowed": "in", "one_of": "in",
            "required": "exists", "and": "all", "or": "any", "path_param": "path",
            "params": "path", "jsonpath": "json", "operation": "soap_action",
            "soapaction": "soap_action", "case_insensitive": "ignore_case"}
MAX_DEPTH = 32


@dataclass(frozen=True)
class ConditionProblem:
    """A load error, located inside the ``when:`` value."""

    loc: tuple  # e.g. ("all", 1, "xpath") relative to the when: value
    message: str


class Condition(Protocol):
    label: str  # short, for humans: "header X-Tier=gold"

    def test(self, req: RequestData) -> bool: ...

    def why_not(self, req: RequestData) -> str | None:
        """None when it holds, else the first reason it does not, in plain words."""


class Leaf:
    """One source and one operator: ``{header: X-Tier, equals: gold}``."""

    __slots__ = ("label", "source", "operator", "_read", "_test")

    def __init__(self, source: Source, operator: Operator):
        self.label = source.subject + operator.label
        self.source, self.operator = source, operator
        self._read, self._test = source.read, operator.test

    def test(self, req: RequestData) -> bool:
        try:
            return self._test(self._read(req))
        except Exception:  # a request the source cannot read does not match
            return False

    def why_not(self, req: RequestData) -> str | None:
        try:
            values = self._read(req)
            if self._test(values):
                return None
            if not values:
                return evidence(self.source.subject, values) + self.source.absent_note(req)
            return self.operator.why(self.source.subject, values)
        except Unavailable as e:
            return str(e)
        except Exception as e:
            return f"{self.source.subject} could not be read ({type(e).__name__})"

    def evidence(self, req: RequestData) -> str:
        try:
            return evidence(self.source.subject, self._read(req))
        except Exception as e:
            return str(e) if isinstance(e, Unavailable) else type(e).__name__

    def __repr__(self) -> str:
        return f"<condition {self.label}>"


class SoapAction:
    """``{soap_action: Op}``: the request is SOAP and names that operation."""

    __slots__ = ("label", "operation")

    def __init__(self, operation: str):
        self.operation = operation
        self.label = f"soap_action {operation}"

    def test(self, req: RequestData) -> bool:
        try:
            soap = req.soap
            return soap is not None and soap.names(self.operation)
        except Exception:
            return False

    def why_not(self, req: RequestData) -> str | None:
        try:
            soap = req.soap
            if soap is None:
                return "request is not SOAP" + ("" if req.xml is not None else
                                                 " (body is not XML)" if req.view.body else
                                                 " (body is empty)")
            if soap.names(self.operation):
                return None
            return self.evidence(req) + f", not {self.operation!r}"
        except Exception as e:
            return f"SOAP envelope could not be read ({type(e).__name__})"

    def evidence(self, req: RequestData) -> str:
        soap = req.soap
        action = f", action {soap.action!r}" if soap and soap.action else ""
        return f"SOAP operation is {soap.operation!r}{action}" if soap else "request is not SOAP"

    def __repr__(self) -> str:
        return f"<condition {self.label}>"


class All:
    __slots__ = ("label", "children")

    def __init__(self, children: list[Condition]):
        self.children = tuple(children)
        self.label = f"all({', '.join(c.label for c in children)})"

    def test(self, req: RequestData) -> bool:
        for child in self.children:
            if not child.test(req):
                return False
        return True

    def why_not(self, req: RequestData) -> str | None:
        for child in self.children:
            reason = child.why_not(req)
            if reason is not None:
                return reason
        return None

    def __repr__(self) -> str:
        return f"<condition {self.label}>"


class AnyOf(All):
    def __init__(self, children: list[Condition]):
        super().__init__(children)
        self.label = "any" + self.label[3:]

    def test(self, req: RequestData) -> bool:
        for child in self.children:
            if child.test(req):
                return True
        return False

    def why_not(self, req: RequestData) -> str | None:
        reasons = []
        for child in self.children:
            reason = child.why_not(req)
            if reason is None:
                return None
            reasons.append(reason)
        return "none holds: " + "; ".join(reasons)


class Not:
    __slots__ = ("label", "child")

    def __init__(self, child: Condition):
        self.child = child
        self.label = f"not({child.label})"

    def test(self, req: RequestData) -> bool:
        return not self.child.test(req)

    def why_not(self, req: RequestData) -> str | None:
        if not self.child.test(req):
            return None
        found = getattr(self.child, "evidence", None)
        return f"{self.child.label} holds" + (f": {found(req)}" if found else "")

    def __repr__(self) -> str:
        return f"<condition {self.label}>"


def compile_condition(spec: Any, *, namespaces: Mapping[str, str] | None = None
                      ) -> tuple[Condition | None, list[ConditionProblem]]:
    """The condition for a ``when:`` value, or None and every problem found in it:
    unknown words, invalid regex, XPath and JSONPath, operands of the wrong type.
    With ``namespaces`` XPath runs on the body as sent, with those prefixes; without,
    on the body with every namespace removed."""
    problems: list[ConditionProblem] = []
    condition = _Compiler(namespaces, problems).node(spec, (), 0)
    return (None, problems) if problems or condition is None else (condition, [])


class _Compiler:
    def __init__(self, namespaces: Mapping[str, str] | None, problems: list[ConditionProblem]):
        self.namespaces = namespaces
        self.problems = problems

    def problem(self, loc: tuple, message: str) -> None:
        self.problems.append(ConditionProblem(loc, message))

    def node(self, spec: Any, loc: tuple, depth: int) -> Condition | None:
        if depth > MAX_DEPTH:
            self.problem(loc, f"conditions nested more than {MAX_DEPTH} levels deep")
            return None
        if isinstance(spec, list):
            return self.group("all", spec, loc, depth)
        if not isinstance(spec, Mapping):
            self.problem(loc, "expected a condition (a mapping such as {header: X-Tier, "
                              f"equals: gold}}) or a list of them, got {kind(spec)}")
            return None
        words = [k for k in spec if k in COMBINATORS]
        if not words:
            return self.leaf(spec, loc)
        word = words[0]
        for other in (k for k in spec if k != word):
            if other not in KNOWN_WORDS:
                self.problem(loc + (other,), _unknown(other))
            elif other in COMBINATORS:
                self.problem(loc + (other,), f"one of all, any, not per mapping ('{word}' and "
                                             f"'{other}'); nest one inside the other")
            else:
                self.problem(loc + (other,), f"'{word}' stands alone in its mapping: put "
                                             f"'{other}' in a condition inside it")
        if word == "not":
            child = self.node(spec[word], loc + (word,), depth + 1)
            return Not(child) if child is not None else None
        if not isinstance(spec[word], list):
            self.problem(loc + (word,), f"{word}: needs a list of conditions, got "
                                        f"{kind(spec[word])}")
            return None
        return self.group(word, spec[word], loc + (word,), depth)

    def group(self, word: str, specs: list, loc: tuple, depth: int) -> Condition | None:
        if not specs:
            self.problem(loc, "an empty list: give at least one condition")
            return None
        children = [self.node(spec, loc + (i,), depth + 1) for i, spec in enumerate(specs)]
        if any(child is None for child in children):
            return None
        if len(children) == 1:
            return children[0]
        return All(children) if word == "all" else AnyOf(children)  # type: ignore[arg-type]

    def leaf(self, spec: Mapping, loc: tuple) -> Condition | None:
        sources = [k for k in spec if k in SOURCE_WORDS]
        operators = [k for k in spec if k in OPERATORS]
        unknown = [k for k in spec if k not in KNOWN_WORDS]
        for key in unknown:
            self.problem(loc + (key,), _unknown(key))
        if not sources:
            if not spec:
                self.problem(loc, "an empty condition: give a source such as header: X-Tier")
            elif not unknown:  # else the unknown key is most likely the misspelt source
                word = operators[0] if operators else "ignore_case"
                self.problem(loc, f"'{word}' needs a source to test, such as header: X-Tier "
                                  "or json: $.id")
            return None
        for extra in sources[1:]:
            self.problem(loc + (extra,), f"one source per condition ('{sources[0]}' and "
                                         f"'{extra}'); use all: [...]")
        source_word, operand = sources[0], spec[sources[0]]
        extra_operators = [w for w in operators[1:] if {operators[0], w} != {"min", "max"}]
        for extra in extra_operators:
            self.problem(loc + (extra,), f"one operator per condition ('{operators[0]}' and "
                                         f"'{extra}'); use all: [...]")
        short = isinstance(operand, Mapping) and source_word != "soap_action"
        ignore_case = spec.get("ignore_case", False)
        if not isinstance(ignore_case, bool):
            self.problem(loc + ("ignore_case",), f"ignore_case: needs true or false, got "
                                                 f"{kind(ignore_case)}")
            ignore_case = False
        elif short:
            return self.shorthand(source_word, operand, operators, ignore_case, loc)
        elif ignore_case and (not operators or operators[0] not in TEXT_OPERATORS):
            self.problem(loc + ("ignore_case",), "ignore_case applies only to equals, in, "
                                                 "matches and contains")
        if source_word == "soap_action":
            for word in operators:
                self.problem(loc + (word,), "soap_action takes no operator: it holds when the "
                                            "request is for that operation")
            if not isinstance(operand, str) or not operand:
                self.problem(loc + (source_word,), f"soap_action: needs an operation name, got "
                                                   f"{kind(operand)}")
                return None
            return SoapAction(operand)
        source = self.build(loc + (source_word,), SOURCES[source_word], operand,
                            self.namespaces)
        word = operators[0] if operators else "exists"
        where = loc if word in ("min", "max") else loc + (word,)
        if word in ("min", "max"):
            operator = self.build(where, Range, {w: spec[w] for w in operators})
        elif word in ("exists", "absent"):
            present = source.present if source is not None else bool
            operator = self.build(where, Exists, spec.get(word, True), present, word)
        else:
            operator = self.build(where, _TEXT_OPERATOR[word], spec[word], ignore_case)
        if source is None or operator is None or extra_operators or len(sources) > 1:
            return None
        return Leaf(source, operator)

    def shorthand(self, word: str, values: Mapping, operators: list[str], ignore_case: bool,
                  loc: tuple) -> Condition | None:
        """``{header: {X-Tier: gold, X-Region: [eu, uk]}}``: every entry holds, ``equals``
        its value (``in`` for a list)."""
        for extra in operators:
            self.problem(loc + (extra,), f"'{word}: {{name: value}}' already means equals (a "
                                         f"list: in); write {word}: name, {extra}: ... instead")
        if not values:
            self.problem(loc + (word,), f"{word}: an empty mapping: give name: value")
            return None
        children: list[Condition] = []
        for name, value in values.items():
            at = loc + (word, name)
            if not isinstance(name, str) or not name:
                self.problem(at, f"{word}: names are text, got {kind(name)}")
                continue
            source = self.build(at, SOURCES[word], name, self.namespaces)
            factory = In if isinstance(value, list) else Equals
            operator = self.build(at, factory, value, ignore_case)
            if source is not None and operator is not None:
                children.append(Leaf(source, operator))
        if operators or len(children) != len(values):
            return None
        return children[0] if len(children) == 1 else All(children)

    def build(self, loc: tuple, factory: Any, *args: Any) -> Any:
        try:
            return factory(*args)
        except Invalid as e:
            for sub, message in e.problems:
                self.problem(loc + sub, message)
            return None


_TEXT_OPERATOR: dict[str, type[Operator]] = {"equals": Equals, "in": In, "matches": Matches,
                                             "contains": Contains}
SOURCE_WORDS = (*SOURCES, "soap_action")
KNOWN_WORDS = (*SOURCE_WORDS, *OPERATORS, *COMBINATORS, "ignore_case")


def _unknown(key: Any) -> str:
    if not isinstance(key, str):
        return f"unknown key {key!r} (keys are words such as header, equals, all)"
    close = [SYNONYMS[key.lower()]] if key.lower() in SYNONYMS else \
        difflib.get_close_matches(key.lower(), KNOWN_WORDS, n=1, cutoff=0.6)
    return f"unknown key '{key}'" + (f" (did you mean '{close[0]}'?)" if close else "")


__all__ = ["Condition", "ConditionProblem", "compile_condition"]
