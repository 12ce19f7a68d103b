"""Where a condition looks in a request: one class per source key of ``when:``.

Each source reads a tuple of values from a ``RequestData`` (text, or JSON values for
``json:``); an empty tuple means absent, and ``Unavailable`` means the request has no such
data (the body is not JSON or not XML). Names are lowercased, JSONPath and XPath compiled,
when the partner file loads; reading only looks things up.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .condition_values import XPATH_FALSE, XPATH_TRUE, Invalid, Unavailable, kind
from .requestdata import MISSING, RequestData

_NAME = r"[A-Za-z_\u0080-\ud7ff\ue000-\U0010ffff][A-Za-z0-9_\u0080-\ud7ff\ue000-\U0010ffff]*"
# the steps of the JSONPaths walked without the library: .name ['name'] ["name"] [0] [-1] .* [*]
_SIMPLE_STEP = re.compile(rf"\.({_NAME})|\[(0|-?[1-9][0-9]{{0,14}})\]"
                          r"|\['([^'\\\x00-\x1f]*)'\]|\[\"([^\"\\\x00-\x1f]*)\"\]|(\.\*|\[\*\])")


class Source:
    """One place in a request; ``arg`` is what the YAML names after the source key.
    Each subclass registers itself under its ``key``, the word used in ``when:``."""

    key = ""
    registry: dict[str, type[Source]] = {}

    def __init_subclass__(cls) -> None:
        Source.registry[cls.key] = cls

    def __init__(self, arg: str, namespaces: Mapping[str, str] | None = None):
        if not isinstance(arg, str) or not arg:
            raise Invalid(((), f"{self.key}: needs a name, got {kind(arg)}"))
        self.arg = arg
        self.subject = f"{self.key} {arg}"

    def read(self, req: RequestData) -> tuple:
        raise NotImplementedError

    def present(self, values: tuple) -> bool:
        return bool(values)

    def absent_note(self, req: RequestData) -> str:
        return ""


class PathSource(Source):
    key = "path"

    def read(self, req: RequestData) -> tuple:
        value = req.params.get(self.arg)
        return () if value is None else (value,)


class QuerySource(Source):
    key = "query"

    def read(self, req: RequestData) -> tuple:
        value = req.query.get(self.arg)
        return () if value is None else (value,)


class HeaderSource(Source):
    key = "header"

    def __init__(self, arg: str, namespaces: Mapping[str, str] | None = None):
        super().__init__(arg)
        self.name = arg.lower()

    def read(self, req: RequestData) -> tuple:
        value = req.header(self.name)
        return () if value is None else (value,)


class FormSource(Source):
    key = "form"

    def read(self, req: RequestData) -> tuple:
        value = req.form.get(self.arg)
        return () if value is None else (value,)

    def absent_note(self, req: RequestData) -> str:
        if "form-urlencoded" in req.content_type:
            return ""
        return " (the body is not application/x-www-form-urlencoded)"


class BodySource(Source):
    key = "body"

    def __init__(self, arg: str, namespaces: Mapping[str, str] | None = None):
        if arg != "text":
            raise Invalid(((), "body: the only value is 'text' (the whole body); "
                               "use json: for a JSON field and xpath: for XML"))
        super().__init__(arg)
        self.subject = "body"

    def read(self, req: RequestData) -> tuple:
        return (req.text,) if req.view.body else ()


class JsonSource(Source):
    """``a.b.0.c`` (names; digits also index arrays) or an RFC 9535 JSONPath (``$...``).

    A JSONPath made only of names, indexes and wildcards (``$.rooms[*].id``, the usual
    kind) is walked here; the library, ten times slower, evaluates the others."""

    key = "json"

    def __init__(self, arg: str, namespaces: Mapping[str, str] | None = None):
        super().__init__(arg)
        self.steps: tuple = ()
        self.path: Any = None
        if arg.startswith("$"):
            steps = _simple_jsonpath(arg)
            if steps is None:
                try:
                    self.path = _jsonpath_env().compile(arg)
                except Exception as e:  # JSONPathError, and whatever else a parser may raise
                    first = str(e).splitlines()[0] if str(e) else type(e).__name__
                    raise Invalid(((), f"invalid JSONPath: {first}")) from None
            else:
                self.steps = steps
        elif "[" in arg:
            example = "$" + ("" if arg.startswith("[") else ".") + arg
            raise Invalid(((), "a dotted path indexes arrays with .0 (rooms.0.id); for brackets "
                               f"write a JSONPath starting with $ ({example})"))
        elif "" in arg.split("."):
            raise Invalid(((), f"an empty name in the dotted path '{arg}'; "
                               "for names with dots use JSONPath, e.g. $['a.b']"))
        else:
            self.steps = tuple((part, int(part) if part.isascii() and part.isdigit() else None)
                               for part in arg.split("."))
        self.single = self.path is None and (None, None) not in self.steps

    def read(self, req: RequestData) -> tuple:
        data = req.json
        if data is MISSING:
            raise Unavailable("body is not JSON" if req.view.body else "body is empty")
        if self.single:
            for key, index in self.steps:
                if isinstance(data, dict) and key is not None and key in data:
                    data = data[key]
                elif isinstance(data, list) and index is not None and \
                        -len(data) <= index < len(data):
                    data = data[index]
                else:
                    return ()
            return (data,)
        if self.path is not None:
            return tuple(self.path.findall(data))
        nodes = [data]
        for key, index in self.steps:
            found: list = []
            for node in nodes:
                if isinstance(node, dict):
                    if key is not None and key in node:
                        found.append(node[key])
                    elif key is None and index is None:
                        found.extend(node.values())
                elif isinstance(node, list):
                    if index is not None and -len(node) <= index < len(node):
                        found.append(node[index])
                    elif key is None and index is None:
                        found.extend(node)
            nodes = found
        return tuple(nodes)


def _simple_jsonpath(expr: str) -> tuple | None:
    """(name, None), (None, index) and (None, None) for a wildcard, for a JSONPath made
    only of those; None for any other JSONPath."""
    steps, at = [], 1
    while at < len(expr):
        found = _SIMPLE_STEP.match(expr, at)
        if found is None:
            return None
        name, index, single, double, _wildcard = found.groups()
        key = name if name is not None else single if single is not None else double
        steps.append((key, None) if key is not None else
                     (None, int(index)) if index is not None else (None, None))
        at = found.end()
    return tuple(steps) if steps else None


_ENV: Any = None


def _jsonpath_env() -> Any:
    """Strict RFC 9535 (the library's default adds its own syntax and lets [0] select
    the key "0" of an object)."""
    global _ENV
    if _ENV is None:
        import jsonpath

        _ENV = jsonpath.JSONPathEnvironment(strict=True)
    return _ENV


class XPathSource(Source):
    """XPath 1.0 against ``req.xml`` with declared prefixes, else against ``req.xml_local``."""

    key = "xpath"

    def __init__(self, arg: str, namespaces: Mapping[str, str] | None = None):
        super().__init__(arg)
        from lxml import etree

        self.namespaced = bool(namespaces)
        try:
            self.xpath = etree.XPath(arg, namespaces=dict(namespaces) if namespaces else None)
            self.xpath(etree.fromstring(b"<probe/>"))  # finds unknown prefixes and functions
        except (etree.XPathError, TypeError, ValueError) as e:
            hint = ""
            if "Undefined namespace prefix" in str(e):
                hint = (" (declare it in namespaces)" if namespaces else
                        " (no namespaces are declared, so the body's are removed: write plain "
                        "names such as //Body/OTA_PingRQ)")
            raise Invalid(((), f"invalid XPath: {e}{hint}")) from None

    def read(self, req: RequestData) -> tuple:
        root = req.xml if self.namespaced else req.xml_local
        if root is None:
            raise Unavailable("body is not XML" if req.view.body else "body is empty")
        result = self.xpath(root)
        if result is True or result is False:
            return XPATH_TRUE if result else XPATH_FALSE
        if isinstance(result, float):
            return (_number_text(result),)
        if isinstance(result, str):
            return (str(result),)
        return tuple(_node_text(node) for node in result)

    def present(self, values: tuple) -> bool:
        return bool(values) and values is not XPATH_FALSE


def _number_text(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return str(int(number)) if number.is_integer() else repr(number)


def _node_text(node: Any) -> str:
    if isinstance(node, str):  # attributes and text nodes
        return str(node)
    if isinstance(node, tuple):  # namespace nodes: (prefix, uri)
        return str(node[1])
    if isinstance(node.tag, str):
        return "".join(node.itertext())
    return node.text or ""  # comments and processing instructions


SOURCES: dict[str, type[Source]] = Source.registry
