"""How a recorded response is replayed: its status, the headers worth keeping, a body YAML holds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..exchange import Exchange
from ..redact import PLACEHOLDER, Redactor
from .ids import with_id
from .jsonecho import templated as json_templated
from .markers import has_markers
from .stamps import Place, template_json, template_xml
from .xmlecho import is_xml
from .xmlecho import templated as xml_templated

NO_BODY = frozenset({204, 304}) | frozenset(range(100, 200))

# Response headers worth replaying; the rest is transport, per-request or secret.
KEEP_HEADERS = frozenset({"location", "retry-after", "status", "cache-control", "allow",
                          "www-authenticate", "link", "content-disposition", "content-language"})
VOLATILE_X = frozenset({"x-request-id", "x-correlation-id", "x-trace-id", "x-amzn-trace-id",
                        "x-amzn-requestid", "x-runtime", "x-response-time", "x-b3-traceid",
                        "x-b3-spanid", "x-cache", "x-served-by", "x-timer", "x-envoy-upstream-service-time"})

_DEFAULT_REDACTOR = Redactor.default()


@dataclass
class Answer:
    """A recorded response as the YAML can state it."""

    status: int
    headers: dict[str, str]
    body: Any  # None: no body
    binary: bool = False
    template: bool = False  # the body holds template expressions (echoes, time stamps)

    def key(self) -> str:
        return json.dumps([self.status, self.headers, self.body], sort_keys=True)

    def mapping(self, *, lead: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = dict(lead or {})
        out["status"] = self.status
        if self.template:
            out["template"] = True
        if self.headers:
            out["headers"] = dict(self.headers)
        if self.body is not None:
            out["body"] = self.body
        return out


def answer(ex: Exchange, *, json_type_header: bool, id_value: str | None = None,
           stamps: frozenset[Place] | None = None) -> Answer:
    """The recorded response as status, headers that matter and a body the YAML can hold;
    with ``stamps`` (the places whose time stamps are constant), the time stamps of the
    moment it answered elsewhere as ``now()`` templates."""
    data = ex.response_body
    body: Any = None
    binary = False
    ctype = content_type(ex)
    type_header: str | None = None
    if data and ex.status not in NO_BODY:
        parsed = ex.response_json()
        if parsed is not None and (_is_plain_json_type(ctype) or "json" in ctype.lower()):
            body = parsed
            if not _is_plain_json_type(ctype):
                type_header = ctype
        elif _is_text(data):
            body = data.decode("utf-8")
            type_header = ctype or "text/plain"
        else:
            binary = True
    elif json_type_header and not _is_plain_json_type(ctype):
        type_header = ctype
    headers = {_header_name(ex, "content-type"): type_header} if type_header else {}
    headers.update(_kept_headers(ex))
    if id_value is not None:
        body = with_id(body, id_value)
        headers = {k: v.replace(id_value, "{id}") if len(id_value) >= 4 else v
                   for k, v in headers.items()}
    found = Answer(ex.status or 0, headers, body, binary)
    return timed(found, ex.started, stamps) if stamps is not None else found


def timed(found: Answer, started: float, constant: frozenset[Place]) -> Answer:
    """The answer with the time stamps of the moment it answered (not at a ``constant``
    place) as ``now()``; a templated text body says ``{{ id }}`` for ``{id}``, which only
    JSON templates fill in."""
    body = found.body
    if isinstance(body, dict | list):
        if has_markers(body):
            return found
        body, count = template_json(body, started, constant)
    elif isinstance(body, str) and body.lstrip()[:1] == "<" and not has_markers(body):
        body, count = template_xml(body, started, constant)
        if count:
            body = body.replace("{id}", "{{ id }}")
    else:
        return found
    if not count:
        return found
    return Answer(found.status, found.headers, body, found.binary, template=True)


def echoing(ex: Exchange, found: Answer, template: str,
            constant: frozenset[Place] = frozenset()) -> Answer:
    """The answer with the request values it echoes and the time stamps of the moment it
    answered (not at a ``constant`` place) as templates (``jsonecho``, ``xmlecho``)."""
    body = found.body
    if isinstance(body, dict | list):
        body, done = json_templated(ex, body, template, constant)
    elif isinstance(body, str) and body.lstrip()[:1] == "<" and is_xml(ex.response_body):
        if is_xml(ex.request_body):
            body, done = xml_templated(ex, body, constant)
        else:
            body, count = template_xml(body, ex.started, constant)
            done = ["time stamps"] * count
        body = body.replace("{id}", "{{ id }}") if done else body
    else:
        return found
    if not done:
        return found
    return Answer(found.status, found.headers, body, found.binary, template=True)


def content_type(ex: Exchange) -> str:
    return (ex.response_header("content-type") or "").strip()


def _is_plain_json_type(value: str) -> bool:
    return value.split(";")[0].strip().lower() in ("application/json", "")


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _header_name(ex: Exchange, name: str) -> str:
    for key, _ in ex.response_headers:
        if key.lower() == name:
            return key
    return "Content-Type"


def _kept_headers(ex: Exchange) -> dict[str, str]:
    """Content type aside: status-like and custom X- headers; never transport or secrets."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for key, value in ex.response_headers:
        low = key.lower()
        if low in seen or value == PLACEHOLDER or _DEFAULT_REDACTOR.is_secret_header(key):
            continue
        if low in KEEP_HEADERS or low.startswith("access-control-") \
                or (low.startswith("x-") and low not in VOLATILE_X):
            out[key] = value
            seen.add(low)
    return out
