"""How a condition compares: the operators of ``when:``, and how values are shown.

An operator gets the tuple of values a source read and holds when any of them satisfies
it. Text values compare as text; JSON values by JSON equality, or as their JSON text when
the expected value is text. Regexes, the sets for ``in`` and the texts of labels are made
once, when the partner file loads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from .requestdata import json_text

SCALARS = (str, int, float, bool, type(None))
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BARE = re.compile(r"[^\s,\[\]'\"(){}=~/]{1,60}")
XPATH_TRUE, XPATH_FALSE = ("true",), ("false",)  # an XPath boolean: exists when true


class Invalid(Exception):
    """Problems with one operand: (location below the key, message) pairs."""

    def __init__(self, *problems: tuple[tuple, str]):
        super().__init__(problems)
        self.problems = list(problems)


class Unavailable(Exception):
    """The request has no such data at all (the body is not JSON or not XML)."""


# -- showing values --------------------------------------------------------------------

def quote(value: Any) -> str:
    """A value as why_not shows it: text quoted (and cut), anything else as JSON."""
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    text = json_text(value)
    return text if len(text) <= 60 else text[:57] + "..."


def show(value: Any) -> str:
    """A value as a label shows it: simple text bare, other text quoted."""
    if isinstance(value, str) and _BARE.fullmatch(value):
        return value
    return quote(value)


def several(values: tuple) -> str:
    shown = ", ".join(quote(v) for v in values[:5])
    return shown + (f", ... {len(values) - 5} more" if len(values) > 5 else "")


def evidence(subject: str, values: tuple) -> str:
    """What a source found: "header X-Tier is 'gold'", "json $.ids has 3 values (...)"."""
    if values is XPATH_TRUE or values is XPATH_FALSE:
        return f"{subject} is {values[0]}"
    if not values:
        return f"{subject} is absent"
    if len(values) == 1:
        return f"{subject} is {quote(values[0])}"
    return f"{subject} has {len(values)} values ({several(values)})"


# -- operators -------------------------------------------------------------------------

def same(value: Any, expected: Any) -> bool:
    """JSON equality of scalars: 1 == 1.0, but true is not 1."""
    if isinstance(value, bool) or isinstance(expected, bool):
        return value is expected
    if isinstance(value, int | float) and isinstance(expected, int | float):
        return value == expected
    return value is None and expected is None


def number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and len(value) <= 400 and _NUMBER.fullmatch(value.strip()):
        try:
            return int(value)
        except ValueError:
            return float(value)
    return None


class Operator:
    label = ""  # what follows the subject in a condition's label
    wants = ""  # for several values: "none {wants}"

    def test(self, values: tuple) -> bool:
        for value in values:
            if self.one(value):
                return True
        return False

    def one(self, value: Any) -> bool:
        raise NotImplementedError

    def why(self, subject: str, values: tuple) -> str:
        if len(values) == 1:
            return f"{subject} is {quote(values[0])}, {self.fails(values[0])}"
        return f"{evidence(subject, values)}, none {self.wants}"

    def fails(self, value: Any) -> str:
        raise NotImplementedError


class _Text(Operator):
    """Operators that compare text, with ``ignore_case``."""

    def __init__(self, ignore_case: bool):
        self.fold = str.casefold if ignore_case else None
        self.case = " (ignoring case)" if ignore_case else ""

    def text(self, value: Any) -> str:
        text = value if isinstance(value, str) else json_text(value)
        return self.fold(text) if self.fold else text


class Equals(_Text):

    def __init__(self, expected: Any, ignore_case: bool = False):
        super().__init__(ignore_case)
        if not isinstance(expected, SCALARS):
            raise Invalid(((), "equals: needs one value (text, a number, true/false or null); "
                               "for several use in: [...]"))
        self.expected = expected
        self.expected_text = self.text(expected)
        self.label = f"={show(expected)}" + (" (ignore case)" if ignore_case else "")
        self.wants = f"equal to {quote(expected)}{self.case}"

    def one(self, value: Any) -> bool:
        if isinstance(value, str) or isinstance(self.expected, str):
            return self.text(value) == self.expected_text
        return same(value, self.expected)

    def fails(self, value: Any) -> str:
        return f"not {quote(self.expected)}{self.case}"


class In(_Text):

    def __init__(self, members: Any, ignore_case: bool = False):
        super().__init__(ignore_case)
        if not isinstance(members, list):
            raise Invalid(((), f"in: needs a list of values, e.g. in: [EUR, USD], got "
                               f"{kind(members)}"))
        if not members:
            raise Invalid(((), "in: needs at least one value"))
        bad = [((i,), f"in: needs plain values (text, numbers, true/false, null), got {kind(m)}")
               for i, m in enumerate(members) if not isinstance(m, SCALARS)]
        if bad:
            raise Invalid(*bad)
        self.members = tuple(members)
        self.texts = frozenset(self.text(m) for m in members)
        self.string_texts = frozenset(self.text(m) for m in members if isinstance(m, str))
        self.others = tuple(m for m in members if not isinstance(m, str))
        listed = f"[{', '.join(show(m) for m in members)}]"
        self.label = f" in {listed}" + (" (ignore case)" if ignore_case else "")
        self.wants = f"one of {listed}{self.case}"

    def one(self, value: Any) -> bool:
        if isinstance(value, str):
            return self.text(value) in self.texts
        return (self.text(value) in self.string_texts
                or any(same(value, m) for m in self.others))

    def fails(self, value: Any) -> str:
        return f"not {self.wants}"


class Matches(_Text):

    def __init__(self, pattern: Any, ignore_case: bool = False):
        super().__init__(ignore_case)
        if not isinstance(pattern, str):
            raise Invalid(((), f"matches: needs a regular expression (text), got {kind(pattern)}"))
        try:
            self.regex = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
        except (re.error, OverflowError, RecursionError, ValueError) as e:
            raise Invalid(((), f"invalid regex: {e}")) from None
        self.fold = None  # the regex flag does it
        self.label = f" ~ /{pattern}/" + ("i" if ignore_case else "")
        self.wants = f"matching /{pattern}/" + ("i" if ignore_case else "")

    def one(self, value: Any) -> bool:
        return self.regex.search(self.text(value)) is not None

    def fails(self, value: Any) -> str:
        return f"which does not match{self.label[2:]}"


class Contains(_Text):
    """A substring of text; for a JSON array, an element equal to the operand."""


    def __init__(self, part: Any, ignore_case: bool = False):
        super().__init__(ignore_case)
        if not isinstance(part, SCALARS):
            raise Invalid(((), f"contains: needs one value (text or a number), got {kind(part)}"))
        self.part = self.text(part)
        self.element = Equals(part, ignore_case)
        self.label = f" contains {show(part)}" + (" (ignore case)" if ignore_case else "")
        self.wants = f"containing {quote(part)}{self.case}"
        self.shown = quote(part)

    def one(self, value: Any) -> bool:
        if isinstance(value, list):
            return any(self.element.one(v) for v in value)
        return self.part in self.text(value)

    def fails(self, value: Any) -> str:
        return f"which does not contain {self.shown}{self.case}"


class Range(Operator):
    """``min`` and/or ``max``, inclusive, on numbers and numeric text."""


    def __init__(self, bounds: Mapping[str, Any]):
        bad = [((word,), f"{word}: needs a number, got {kind(bound)}")
               for word, bound in bounds.items()
               if not isinstance(bound, int | float) or isinstance(bound, bool)
               or math.isnan(bound)]
        if bad:
            raise Invalid(*bad)
        self.low, self.high = bounds.get("min"), bounds.get("max")
        if self.low is not None and self.high is not None:
            if self.low > self.high:
                raise Invalid((("max",), f"max {quote(self.high)} is below min {quote(self.low)}: "
                                         "no value can match"))
            self.label = f" between {quote(self.low)} and {quote(self.high)}"
        else:
            self.label = f" >= {quote(self.low)}" if self.low is not None else \
                f" <= {quote(self.high)}"
        self.wants = self.label[1:]

    def one(self, value: Any) -> bool:
        n = number(value)
        return (n is not None and (self.low is None or n >= self.low)
                and (self.high is None or n <= self.high))

    def fails(self, value: Any) -> str:
        n = number(value)
        if n is None:
            return "not a number"
        if self.low is not None and n < self.low:
            return f"below the minimum {quote(self.low)}"
        return f"above the maximum {quote(self.high)}"


class Exists(Operator):

    def __init__(self, want: Any, present: Callable[[tuple], bool], word: str = "exists"):
        if not isinstance(want, bool):
            raise Invalid(((), f"{word}: needs true or false, got {kind(want)}"))
        self.want = want if word == "exists" else not want
        self.present = present  # the source's: an XPath boolean false is not present
        self.label = " exists" if self.want else " absent"

    def test(self, values: tuple) -> bool:
        return self.present(values) is self.want

    def why(self, subject: str, values: tuple) -> str:
        if self.want or values is XPATH_TRUE:
            return evidence(subject, values)  # "is absent", "is false", "is true"
        if len(values) == 1:
            return f"{subject} is present ({quote(values[0])})"
        return f"{subject} is present ({len(values)} values: {several(values)})"


def kind(value: Any) -> str:
    """A value's type in YAML words, for messages."""
    if value == "" or (isinstance(value, float) and math.isnan(value)):
        return "empty text" if value == "" else ".nan"
    names = {dict: "a mapping", list: "a list", str: "text", bool: "true/false",
             type(None): "null", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)
