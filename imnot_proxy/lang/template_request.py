"""What a template reads of the request and of the flow: the read-only ``request``, the
named-field mappings, JSONPath/XPath lookups and the stored payload.

``RequestProxy`` wraps ``RequestData`` (each part parsed at most once) and exposes only
public, read-only values; its internals start with ``_``, which the sandbox refuses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from ..messages import loads_json
from .requestdata import MISSING, RequestData, json_text
from .template_helpers import HelperError, show

MAX_EXPRESSION = 4096  # characters of a JSONPath or XPath (they may come from a request)


@lru_cache(maxsize=256)
def jsonpath(path: str) -> Any:
    """A compiled JSONPath; a dotted path (``a.b.0``) is read as ``$.a.b[0]``."""
    import jsonpath as jp

    if not path.startswith("$"):
        if path.startswith("["):
            path = "$" + path
        else:
            parts = path.split(".") if path else []
            path = "$" + "".join(f"[{p}]" if p.isdigit() else f"[{json.dumps(p)}]"
                                 for p in parts)
    try:
        return jp.compile(path)
    except jp.JSONPathError as e:
        raise HelperError(f"JSONPath {show(path)}: {str(e).splitlines()[0]}") from None


def _expression(kind: str, text: Any) -> str:
    if not isinstance(text, str):
        raise HelperError(f"a {kind} must be text, not {show(text)}")
    if len(text) > MAX_EXPRESSION:
        raise HelperError(f"a {kind} of more than {MAX_EXPRESSION} characters")
    return text


def _path(path: Any) -> Any:
    return jsonpath(_expression("JSONPath", path))


def json_first(data: Any, path: Any) -> Any:
    """The first value ``path`` finds in ``data``, or None."""
    compiled = _path(path)
    if data is MISSING:
        return None
    found = compiled.match(data)
    return None if found is None else found.obj


def json_all(data: Any, path: Any) -> list[Any]:
    """Every value ``path`` finds in ``data``."""
    compiled = _path(path)
    return [] if data is MISSING else compiled.findall(data)


@lru_cache(maxsize=256)
def xpath(expression: str) -> Any:
    from lxml import etree

    try:
        return etree.XPath(expression, smart_strings=False)
    except (etree.XPathError, ValueError) as e:  # ValueError: NUL or control characters
        raise HelperError(f"XPath {show(expression)}: {e}") from None


def xpath_first(root: Any, expression: Any) -> Any:
    """The first result of ``expression`` as text (an element's text content), a number
    or a boolean; None when there is no body, no XML or no result."""
    from lxml import etree

    compiled = xpath(_expression("XPath", expression))
    if root is None:
        return None
    try:
        result = compiled(root)
    except etree.XPathError as e:
        raise HelperError(f"XPath {show(expression)}: {e}") from None
    if isinstance(result, list):
        if not result:
            return None
        result = result[0]
    if isinstance(result, (str, bool)):
        return result
    if isinstance(result, float):
        return int(result) if result.is_integer() else result
    if hasattr(result, "itertext"):
        return "".join(result.itertext())
    return str(result)


class Fields(dict):
    """Named values (query, form, path parameters, captured) that name themselves in the
    message when a template asks for one that is not there."""

    def __init__(self, label: str, values: Mapping[str, Any]):
        super().__init__(values)
        self._label = label


class RequestProxy:
    """The read-only request a template sees as ``request``."""

    __slots__ = ("_data", "_cache")

    def __init__(self, data: RequestData):
        self._data = data
        self._cache: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<request {self._data.method} {self._data.path}>"

    @property
    def method(self) -> str:
        return self._data.method

    @property
    def path(self) -> str:
        return self._data.path

    def _fields(self, label: str, values: Callable[[], Mapping[str, str]]) -> Fields:
        if label not in self._cache:
            self._cache[label] = Fields(f"request.{label}", values())
        return self._cache[label]

    @property
    def params(self) -> Fields:
        return self._fields("params", lambda: self._data.params)

    @property
    def query(self) -> Fields:
        return self._fields("query", lambda: self._data.query)

    @property
    def form(self) -> Fields:
        return self._fields("form", lambda: self._data.form)

    @property
    def body(self) -> str:
        return self._data.text

    @property
    def soap_action(self) -> str | None:
        soap = self._data.soap
        return soap.action if soap else None

    @property
    def soap_operation(self) -> str | None:
        soap = self._data.soap
        return soap.operation if soap else None

    def header(self, name: Any) -> str | None:
        """A header's value, or None."""
        return self._data.header(name) if isinstance(name, str) else None

    def json(self, path: Any = "$") -> Any:
        """The first value a JSONPath (or dotted path) finds in the JSON body, or None."""
        return json_first(self._data.json, path)

    def json_all(self, path: Any) -> list[Any]:
        """Every value a JSONPath finds in the JSON body."""
        return json_all(self._data.json, path)

    def xpath(self, expression: Any) -> Any:
        """The first result of an XPath on the XML body, namespaces removed, or None."""
        return xpath_first(self._data.xml_local, expression)


def parse_payload(payload: Any, payload_type: str | None) -> Any:
    """A stored payload as templates see it: parsed JSON when it is JSON, else text."""
    if payload is None or not isinstance(payload, (bytes, str)):
        return payload
    kind = (payload_type or "").lower()
    if "json" in kind or not kind:
        try:
            return loads_json(payload)
        except (ValueError, UnicodeDecodeError):
            pass
    return payload_text(payload)


def payload_text(payload: Any) -> str | None:
    """The stored payload as text, exactly as stored (for signing it)."""
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    if payload is None or isinstance(payload, str):
        return payload
    return json_text(payload)
