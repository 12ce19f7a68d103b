"""An XML (SOAP) answer that echoes its request, or stamps the time, becomes a template.

OTA-style partners answer ``EchoToken="abc"`` with the token the request sent, and a
``TimeStamp`` of the moment they answered. Each attribute value and element text of
the request that shows up in the answer (as an attribute value or an element's
whole text) becomes ``{{ request.xpath('//Element/@Attr') }}``, and a date-time of the
recorded moment becomes ``{{ now(...) }}`` in the recorded format (``stamps``).
Everything else stays as recorded, byte for byte. Secret-named fields and redacted
values are never echoed.
"""

from __future__ import annotations

import re
from typing import Any

from ...lang.requestdata import local_names, parse_xml
from ..exchange import Exchange
from ..redact import PLACEHOLDER, Redactor
from .markers import has_markers
from .stamps import Place, template_xml

MIN_ECHO = 4
_REDACTOR = Redactor.default()


def is_xml(data: bytes) -> bool:
    return data.lstrip()[:1] == b"<" and parse_xml(data) is not None


def soap_operation(ex: Exchange) -> str | None:
    """The local name of the SOAP Body's first element, or None when not SOAP."""
    root = parse_xml(ex.request_body) if ex.request_body.lstrip()[:1] == b"<" else None
    if root is None or not isinstance(root.tag, str) or not root.tag.endswith("Envelope"):
        return None
    for child in root:
        if isinstance(child.tag, str) and child.tag.rpartition("}")[2] == "Body":
            first = next((c for c in child if isinstance(c.tag, str)), None)
            return first.tag.rpartition("}")[2] if first is not None else None
    return None


def templated(ex: Exchange, text: str, constant: frozenset[Place] = frozenset()
              ) -> tuple[str, list[str]]:
    """The answer text with echoes and fresh time stamps (not at a ``constant`` place) as
    template expressions, and what became of them; the text unchanged when nothing did (or
    it holds template markers)."""
    if has_markers(text):
        return text, []
    done: list[str] = []
    for xpath, value in _request_values(ex):
        pattern = re.compile(rf'(?<=="){re.escape(value)}(?=")|(?<=>){re.escape(value)}(?=<)')
        if pattern.search(text):
            expression = "{{ request.xpath(" + repr(xpath) + ") }}"
            text = pattern.sub(lambda m, e=expression: e, text)
            done.append(f"{xpath} echoed")
    text, stamped = template_xml(text, ex.started, constant)
    if stamped:
        done.append("time stamps of the answer as now()")
    return text, done


def _request_values(ex: Exchange) -> list[tuple[str, str]]:
    """(XPath, value) of the request's attributes and element texts worth echoing, longest
    values first (so a value inside another is replaced after it)."""
    root = local_names(parse_xml(ex.request_body)) if ex.request_body.lstrip()[:1] == b"<" \
        else None
    if root is None:
        return []
    found: dict[str, str] = {}
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str) or _secret(tag):
            continue
        for name, value in element.attrib.items():
            if _worth(value) and not _secret(name):
                found.setdefault(value, f"//{tag}/@{name}")
        text = (element.text or "").strip()
        if len(element) == 0 and _worth(text):
            found.setdefault(text, f"//{tag}")
    return sorted(((xpath, value) for value, xpath in found.items()),
                  key=lambda pair: -len(pair[1]))


def _worth(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= MIN_ECHO and value != PLACEHOLDER \
        and not has_markers(value) and "\n" not in value


def _secret(name: str) -> bool:
    return _REDACTOR.is_secret_field(name)
