"""Reading partner YAML that may be hostile: bounded, and every failure located.

Partner files come from disk, from ``POST /imnot/admin/partners`` and from the
file watcher, so a file may be crafted: an alias bomb (a few hundred bytes that
expand to billions of values), a recursive alias, deep nesting, a huge integer,
bytes that are not UTF-8. Each of these is refused here, on the node graph,
before anything is constructed, and each refusal (like every syntax error) names
the line, in plain words beside the parser's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import Problem

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ten times faster


@dataclass(frozen=True)
class Limits:
    """Bounds on one partner file (the byte bound is the ``imnot_max_partner_bytes`` option)."""

    max_bytes: int = 5 * 1024 * 1024
    max_depth: int = 100  # nesting of mappings and lists
    max_values: int = 1_000_000  # values after aliases are expanded


DEFAULT_LIMITS = Limits()


class LocatedError(Exception):
    """A value that could not be constructed, with the node it came from."""

    def __init__(self, node: yaml.Node, cause: Exception):
        self.node = node
        self.cause = cause
        super().__init__(str(cause))


class PartnerLoader(_Base):
    """The safe loader, with construction errors tied to the node that caused them."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except LocatedError:
            raise
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            raise LocatedError(node, exc) from None


def decode(data: bytes, name: str) -> tuple[str | None, list[Problem]]:
    """UTF-8 text of a file (a BOM is dropped), or a problem naming the bad byte."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return None, [Problem(name, line, "", f"not UTF-8: byte 0x{data[exc.start]:02x} at "
                                              f"offset {exc.start}; save the file as UTF-8")]


def too_big(size: int, name: str, limits: Limits) -> list[Problem]:
    if size <= limits.max_bytes:
        return []
    return [Problem(name, 0, "", f"file is {size:,} bytes; the limit is {limits.max_bytes:,} "
                                 "(option imnot_max_partner_bytes)")]


def compose(text: str, name: str, limits: Limits = DEFAULT_LIMITS
            ) -> tuple[PartnerLoader | None, yaml.Node | None, list[Problem]]:
    """Parse to a node graph and check it; returns the loader to construct with (the
    caller disposes of it), the root node, and the problems (none when it may be built)."""
    problems = too_big(len(text.encode("utf-8", "surrogatepass")), name, limits)
    if problems:
        return None, None, problems
    loader = PartnerLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        loader.dispose()
        return None, None, [syntax_problem(exc, text, name)]
    if node is not None:
        problems = check_graph(node, name, limits)
        if problems:
            loader.dispose()
            return None, None, problems
    return loader, node, []


def check_graph(root: yaml.Node, name: str, limits: Limits) -> list[Problem]:
    """Refuse recursive aliases, nesting beyond ``max_depth`` and alias expansion beyond
    ``max_values``; sizes are memoised per node, so a bomb costs its own size to check."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, list[yaml.Node], int]] = [(root, _children(root), 1)]
    totals = [1]
    open_nodes.add(id(root))
    while stack:
        node, children, depth = stack[-1]
        if not children:
            stack.pop()
            open_nodes.discard(id(node))
            size = totals.pop()
            sizes[id(node)] = size
            if totals:
                totals[-1] += size
            continue
        child = children.pop()
        known = sizes.get(id(child))
        if known is not None:
            totals[-1] += known
        elif id(child) in open_nodes:
            return [Problem(name, _line(child), "", "recursive alias: an anchored value "
                                                    "contains an alias to itself")]
        elif depth + 1 > limits.max_depth:
            return [Problem(name, _line(child), "",
                            f"nested more than {limits.max_depth} levels deep")]
        else:
            open_nodes.add(id(child))
            stack.append((child, _children(child), depth + 1))
            totals.append(1)
        if sum(totals) > limits.max_values:
            return [Problem(name, _line(child), "",
                            f"aliases expand to more than {limits.max_values:,} values; "
                            "refused (an alias bomb?)")]
    return []


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


# --- syntax errors in plain words -----------------------------------------------------

_HINTS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), h) for p, h in (
    (r"found character '\\t'|tab character", "a tab character: YAML indents with spaces only"),
    (r"did not find expected '-' indicator",
     "indentation: this line is not aligned with the lines above it (a key of the same "
     "mapping, or a new list item '- ', was expected)"),
    (r"expected <block end>, but found '<block sequence start>'",
     "indentation: this list item is not aligned with the items before it"),
    (r"expected <block end>, but found '<block mapping start>'",
     "indentation: this key is not aligned with the keys of its mapping"),
    (r"did not find expected key",
     "indentation: this line is not aligned with the keys of its mapping"),
    (r"mapping values are not allowed (here|in this context)",  # PyYAML's and libyaml's words
     "a ':' where a plain value was expected: quote values that contain ': ', or check "
     "the indentation of this line"),
    (r"could not find expected ':'",
     "a key without ':' (or a value continued on the next line at the wrong indentation)"),
    (r"found undefined alias", "an alias (*name) used before any anchor (&name) defines it"),
    (r"found unexpected end of stream",
     "the file ends inside a quoted string or a bracket: close it"),
    (r"found duplicate anchor", "the same anchor (&name) is defined twice"),
    (r"control characters are not allowed",
     "a control character: remove it, or write it as an escape in a double-quoted string"),
    (r"expected ',' or '[\]}]'", "a bracketed list or mapping that is not closed"),
))


def syntax_problem(exc: yaml.YAMLError, text: str, name: str) -> Problem:
    """A parser error as a located problem: the parser's words and a plain hint."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        line = mark.line + 1
    elif getattr(exc, "position", None) is not None:  # reader errors give a position only
        line = text.count("\n", 0, exc.position) + 1  # type: ignore[attr-defined]
    else:
        line = 0
    reason = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
    if getattr(exc, "character", None) is not None and "position" in str(exc):
        reason = str(exc).split("\n")[0]
    hint = next((h for pattern, h in _HINTS if pattern.search(str(exc))), None)
    message = f"invalid YAML: {reason}" + (f" ({hint})" if hint else "")
    return Problem(name, line, "", message)
