"""What conditions and templates read from one request, each part parsed at most once.

A route with conditions on a JSON field, an XPath and a SOAP operation parses the
body once per request, not once per condition; a route without conditions never
builds one of these. A body that does not parse as JSON/XML/a form simply has no
such data: conditions on it do not match, they never raise. XML is parsed without
DTDs, entities or network access (a hostile body cannot read files or expand).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

from ..messages import RequestView, clean_text, loads_json

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__":
                                    lambda self: False})()
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
_ACTION_PARAM = re.compile(r';\s*action\s*=\s*"?([^";]*)"?', re.I)


@dataclass(frozen=True)
class Soap:
    """The SOAP facts of a request: version, the action it names, the Body's first element."""

    version: str  # "1.1" | "1.2"
    action: str | None
    operation: str | None  # local name of the first element in the Body

    def names(self, operation: str) -> bool:
        """True when the request is for ``operation``: by action (exact, or its last
        ``/``, ``#`` or ``:`` part) or by the Body's first element."""
        if self.operation == operation:
            return True
        action = self.action
        if not action:
            return False
        return action == operation or any(action.endswith(sep + operation) for sep in "/#:")


class RequestData:
    def __init__(self, view: RequestView, params: Mapping[str, str] | None = None):
        self.view = view
        self.params: Mapping[str, str] = params or {}

    @property
    def method(self) -> str:
        return self.view.method

    @property
    def path(self) -> str:
        return self.view.path

    @property
    def session(self) -> str | None:
        return self.view.session

    def header(self, name: str) -> str | None:
        value = self.view.headers.get(name)
        return clean_text(value) if value is not None else None

    @cached_property
    def query(self) -> dict[str, str]:
        return self.view.query

    @cached_property
    def content_type(self) -> str:
        return (self.header("content-type") or "").lower()

    @cached_property
    def text(self) -> str:
        return self.view.body.decode("utf-8", "replace")

    @cached_property
    def form(self) -> dict[str, str]:
        """Form fields of an urlencoded body ({} for any other body)."""
        if "form-urlencoded" not in self.content_type:
            return {}
        return dict(parse_qsl(self.text, keep_blank_values=True))

    @cached_property
    def json(self) -> Any:
        """The body as JSON, or ``MISSING`` when it is not JSON."""
        body = self.view.body
        if not body or body.lstrip()[:1] not in (b"{", b"[", b'"') and not _jsonish(body):
            return MISSING
        try:
            return loads_json(body)
        except (ValueError, UnicodeDecodeError):
            return MISSING

    @cached_property
    def xml(self) -> Any:
        """The body as an XML element tree (lxml), or None when it is not XML."""
        return parse_xml(self.view.body)

    @cached_property
    def xml_local(self) -> Any:
        """The XML body with every namespace removed, for XPath that names no prefixes."""
        return local_names(parse_xml(self.view.body))

    @cached_property
    def soap(self) -> Soap | None:
        root = self.xml
        if root is None or _local(root.tag) != "Envelope":
            return None
        namespace = _namespace(root.tag)
        version = "1.2" if namespace == SOAP12 else "1.1"
        action = self.header("soapaction")
        if action is not None:
            action = action.strip().strip('"') or None
        if action is None:
            found = _ACTION_PARAM.search(self.header("content-type") or "")
            action = found.group(1) if found else None
        operation = None
        for child in root:
            if _local(child.tag) == "Body":
                first = next((c for c in child if isinstance(c.tag, str)), None)
                operation = _local(first.tag) if first is not None else None
                break
        return Soap(version, action, operation)


def data_of(view: RequestView, params: Mapping[str, str] | None = None) -> RequestData:
    """The one ``RequestData`` of a request, kept with it: the conditions that chose the
    endpoint, those that chose its alternative and its templates parse the body once."""
    found = view.__dict__.get("_imnot_data")
    if found is None:
        found = RequestData(view, params)
        view.__dict__["_imnot_data"] = found  # a frozen dataclass: its __dict__, not setattr
    elif params is not None:
        found.params = params
    return found


def _jsonish(body: bytes) -> bool:
    stripped = body.strip()
    if stripped[:1].isdigit() or stripped[:1] == b"-" or stripped in (b"true", b"false",
                                                                      b"null"):
        return True
    # UTF-8 with a byte order mark, UTF-16 and UTF-32 (RFC 8259 section 8.1 asks for UTF-8,
    # but clients that send these exist; Python's json reads them from bytes)
    return body[:3] == b"\xef\xbb\xbf" or b"\x00" in body[:4] or body[:2] in (b"\xff\xfe",
                                                                             b"\xfe\xff")


_PARSER: Any = None


def parse_xml(body: bytes) -> Any:
    """An lxml element, or None; no DTD, no entities, no network, no huge trees."""
    global _PARSER
    if not body or body.lstrip()[:1] != b"<":
        return None
    from lxml import etree

    if _PARSER is None:
        _PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                  dtd_validation=False, huge_tree=False, remove_pis=True)
    try:
        return etree.fromstring(body, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None


def local_names(root: Any) -> Any:
    """The same tree with namespaces dropped from element and attribute names."""
    if root is None:
        return None
    from lxml import etree

    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = _local(element.tag)
        for name in [a for a in element.attrib if a.startswith("{")]:
            element.attrib[_local(name)] = element.attrib.pop(name)
    etree.cleanup_namespaces(root)
    return root


def _local(tag: str) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if isinstance(tag, str) and tag.startswith("{") else ""


def json_text(value: Any) -> str:
    """A JSON value as text for comparisons: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
