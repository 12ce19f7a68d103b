"""A request that satisfies a compiled ``when:`` condition, for exports such as Postman.

Best effort and never raising: ``equals``/``in``/``contains``/``min``/``max`` and
``exists`` give a value; ``any`` takes its first branch; ``not`` and ``absent`` add
nothing; a regex that is not plain text and an XPath that is not a simple element path
are left to the reader, with a note saying what the request needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape as xml_text
from xml.sax.saxutils import quoteattr

from .condition_sources import (
    BodySource,
    FormSource,
    HeaderSource,
    JsonSource,
    PathSource,
    QuerySource,
    XPathSource,
)
from .condition_values import Contains, Equals, Exists, In, Matches, Range
from .conditions import All, AnyOf, Condition, Leaf, Not, SoapAction

PLACEHOLDER = "sample"
_REGEX_SPECIAL = re.compile(r"[\\.^$*+?{}\[\]|()]")
# //A/B/C, /A/B, //A/@attr, //A/B/text(): what a sample XML body can be built for
_SIMPLE_XPATH = re.compile(r"^/{1,2}([A-Za-z_][\w.-]*(?:/[A-Za-z_][\w.-]*)*)"
                           r"(?:/@([A-Za-z_][\w.-]*)|/text\(\))?$")


@dataclass
class Sample:
    """The parts of a request that make a condition hold."""

    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    json: Any = None
    xml: list[tuple[tuple[str, ...], str | None, str]] = field(default_factory=list)
    text: str | None = None
    soap_action: str | None = None
    notes: list[str] = field(default_factory=list)

    def xml_body(self) -> str | None:
        """An XML document with every element path asked for, inside a SOAP envelope when
        the condition names an operation or a path starts at ``Envelope`` or ``Body``."""
        if not self.xml and not self.soap_action:
            return None
        soap = bool(self.soap_action)
        tree: dict = {}
        for names, attribute, value in self.xml:
            if names[:1] == ("Envelope",):
                names, soap = names[1:], True
            if names[:1] == ("Body",) and len(names) > 1:
                names, soap = names[1:], True
            node = tree
            for name in names:
                node = node.setdefault(name, {})
            if attribute:
                node.setdefault("@", {})[attribute] = value
            else:
                node["#"] = value
        if self.soap_action and self.soap_action not in tree:
            tree = {self.soap_action: {}, **tree}  # the operation is the Body's first element
        body = "".join(_element(name, node) for name, node in tree.items())
        if not soap:
            return body
        return ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
                f"<soap:Body>{body}</soap:Body></soap:Envelope>")


def sample(condition: Condition | None) -> Sample:
    """A request that makes ``condition`` hold, as far as one can be built."""
    out = Sample()
    if condition is not None:
        _add(condition, out)
    return out


def _add(node: Any, out: Sample) -> None:
    if isinstance(node, AnyOf):
        _add(node.children[0], out)
    elif isinstance(node, All):
        for child in node.children:
            _add(child, out)
    elif isinstance(node, Not):
        out.notes.append(f"not {node.child.label}")
    elif isinstance(node, SoapAction):
        out.soap_action = node.operation
        out.headers.setdefault("SOAPAction", f'"{node.operation}"')
    elif isinstance(node, Leaf):
        _leaf(node, out)


def _leaf(leaf: Leaf, out: Sample) -> None:
    source, operator = leaf.source, leaf.operator
    if isinstance(operator, Exists) and not operator.want:
        return  # absent: nothing to send
    value = _value(operator)
    if value is None:
        out.notes.append(leaf.label)
        value = PLACEHOLDER
    text = value if isinstance(value, str) else _text(value)
    if isinstance(source, PathSource):
        out.path[source.arg] = text
    elif isinstance(source, QuerySource):
        out.query[source.arg] = text
    elif isinstance(source, HeaderSource):
        out.headers[source.arg] = text
    elif isinstance(source, FormSource):
        out.form[source.arg] = text
    elif isinstance(source, BodySource):
        out.text = text
    elif isinstance(source, JsonSource):
        if not _put_json(out, source, value):
            out.notes.append(leaf.label)
    elif isinstance(source, XPathSource):
        found = _SIMPLE_XPATH.match(source.arg)
        if found is None:
            out.notes.append(leaf.label)
        else:
            out.xml.append((tuple(found.group(1).split("/")), found.group(2), text))


def _value(operator: Any) -> Any:
    """A value the operator accepts, or None when none can be named."""
    if isinstance(operator, Equals):
        return operator.expected
    if isinstance(operator, In):
        return operator.members[0]
    if isinstance(operator, Contains):
        return operator.part
    if isinstance(operator, Range):
        return operator.low if operator.low is not None else operator.high
    if isinstance(operator, Exists):
        return PLACEHOLDER
    if isinstance(operator, Matches):
        plain = operator.regex.pattern.removeprefix("^").removesuffix("$")
        return None if _REGEX_SPECIAL.search(plain) else plain
    return None


def _put_json(out: Sample, source: JsonSource, value: Any) -> bool:
    """Put ``value`` at the source's path in the sample's JSON body (names and indexes)."""
    steps = source.steps
    if not steps or any(key is None and index is None for key, index in steps):
        return False
    if out.json is None:
        out.json = [] if steps[0][0] is None else {}
    node = out.json
    for at, (key, index) in enumerate(steps):
        last = at == len(steps) - 1
        nxt: Any = value if last else ([] if steps[at + 1][0] is None else {})
        if isinstance(node, dict) and key is not None:
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, nxt)
        elif isinstance(node, list) and index is not None and index >= 0:
            node.extend([None] * (index + 1 - len(node)))
            if last or node[index] is None:
                node[index] = nxt
            node = node[index]
        else:
            return False
    return True


def _element(name: str, node: dict) -> str:
    attributes = "".join(f" {k}={quoteattr(v)}" for k, v in node.get("@", {}).items())
    children = "".join(_element(k, v) for k, v in node.items() if k not in ("@", "#"))
    text = xml_text(node.get("#", "")) + children
    return f"<{name}{attributes}>{text}</{name}>" if text else f"<{name}{attributes}/>"


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
