"""Answers fixed at load time, with ``{id}`` filled in per request the safe way.

A fixed answer is encoded once. When its headers or body name ``{id}``, the id is
put into the *values* first and the result encoded after: JSON-escaped inside JSON
strings, XML-escaped in an XML or HTML body, and with CR, LF, NUL and other control
characters percent-encoded in a header value. An id taken from a request path can
hold any character; it can never change the shape of the answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from ..messages import JSON_TYPE, MockResponse, encode_json
from ..schema import Answer

PLACEHOLDER = "{id}"
NO_BODY_STATUSES = frozenset({204, 304}) | frozenset(range(100, 200))
_XML_ENTITIES = {'"': "&quot;", "'": "&apos;"}


def header_safe(value: str) -> str:
    """A value that cannot end a header line: control characters percent-encoded."""
    if value.isprintable() and "\x7f" not in value:
        return value
    return "".join(c if c == "\t" or (c.isprintable() and c != "\x7f")
                   else "".join(f"%{b:02X}" for b in c.encode()) for c in value)


def fill(value: Any, id: str) -> Any:
    """``{id}`` replaced in every string of a JSON value (keys and values)."""
    if isinstance(value, str):
        return value.replace(PLACEHOLDER, id)
    if isinstance(value, dict):
        return {fill(k, id): fill(v, id) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, id) for v in value]
    return value


def names_id(value: Any) -> bool:
    if isinstance(value, str):
        return PLACEHOLDER in value
    if isinstance(value, dict):
        return any(names_id(k) or names_id(v) for k, v in value.items())
    if isinstance(value, list):
        return any(names_id(v) for v in value)
    return False


@dataclass(frozen=True)
class Reply:
    """A fixed answer; ``render(id)`` returns it with ``{id}`` filled in, or as encoded."""

    response: MockResponse  # encoded at load; what a reply without ``{id}`` always sends
    body: Any = None  # the body value (JSON value or text) when it names ``{id}``
    kind: str = "none"  # how the body is encoded: json | text | markup | none
    templated: bool = False  # it names ``{id}``
    template: Any = None  # with ``template: true``: its compiled parts (rendered over it)

    def render(self, id: str) -> MockResponse:
        if not self.templated:
            return self.response
        r = self.response
        headers = tuple((k, v.replace(PLACEHOLDER, header_safe(id)) if PLACEHOLDER in v else v)
                        for k, v in r.headers)
        body = r.body
        if self.kind == "json":
            body = encode_json(fill(self.body, id))
        elif self.kind == "text":
            body = self.body.replace(PLACEHOLDER, id).encode()
        elif self.kind == "markup":
            body = self.body.replace(PLACEHOLDER, xml_escape(id, _XML_ENTITIES)).encode()
        return MockResponse(r.status, headers, body, r.step)


def fixed_reply(status: int, headers: dict[str, str], body: Any, *,
                absent_body: bytes | None, step: str | None = None) -> Reply:
    """A fixed answer, encoded here once.

    A string body is sent as JSON when it parses as JSON, as raw text when the headers
    give a non-JSON content type, else as a JSON string. ``absent_body`` is what a
    missing body becomes (``b"{}"`` for static, nothing for polling).
    """
    pairs = list(headers.items())
    content_type = next((v for k, v in pairs if k.lower() == "content-type"), None)
    templated = any(PLACEHOLDER in v for _, v in pairs)
    if status in NO_BODY_STATUSES:
        return Reply(MockResponse(status, tuple(pairs), b"", step), templated=templated)
    if body is None or (body == "" and absent_body is None):
        if absent_body is None:
            return Reply(MockResponse(status, tuple(pairs), b"", step), templated=templated)
        value, kind, data = None, "none", absent_body
    elif isinstance(body, str) and content_type is not None and "json" not in content_type.lower():
        value, data = body, body.encode()
        kind = "markup" if _is_markup(content_type) else "text"
    else:
        value = body
        if isinstance(body, str):
            try:
                value = json.loads(body)
            except ValueError:
                value = body
        kind, data = "json", encode_json(value)
    if content_type is None:
        pairs.append(("content-type", JSON_TYPE))
    names = kind != "none" and names_id(value)
    return Reply(MockResponse(status, tuple(pairs), data, step), value if names else None, kind,
                 templated or names)


def fixed_response(status: int, headers: dict[str, str], body: Any, *,
                   absent_body: bytes | None, step: str | None = None) -> MockResponse:
    """``fixed_reply`` for answers that never fill in an id (static)."""
    return fixed_reply(status, headers, body, absent_body=absent_body, step=step).response


def answer_reply(answer: Answer, step: str | None = None) -> Reply:
    return fixed_reply(answer.status, answer.headers, answer.body, absent_body=None, step=step)


def _is_markup(content_type: str) -> bool:
    lowered = content_type.lower()
    return "xml" in lowered or "html" in lowered
