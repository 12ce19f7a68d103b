"""The request and response values that cross from mitmproxy into the engine.

The engine, the admin API and the recorder only ever see these, so they are
testable without a proxy. Headers are any mapping with a case-insensitive
``get`` (mitmproxy's ``Headers`` in the proxy, ``CIHeaders`` in tests).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import parse_qsl

JSON_TYPE = "application/json"


class HeaderLookup(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...


class CIHeaders(dict):
    """A minimal case-insensitive header mapping."""

    def __init__(self, items: Any = ()):
        super().__init__()
        for key, value in dict(items).items():
            self[key.lower()] = value

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key.lower() if isinstance(key, str) else key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key.lower())


def clean_text(text: str) -> str:
    """Text that encodes as UTF-8: mitmproxy hands on bytes that are not UTF-8 as lone
    surrogates, which would raise wherever the text is encoded (a store, a URL, a reply)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@dataclass(frozen=True)
class RequestView:
    method: str
    path: str  # without the query string
    query_string: str = ""
    headers: HeaderLookup = field(default_factory=CIHeaders)
    body: bytes = b""
    scheme: str = "http"
    host: str = ""
    port: int = 80
    session: str | None = None
    direct: bool = False  # sent straight to the proxy port (origin form), not through it

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; the last value wins when a name repeats."""
        return dict(parse_qsl(clean_text(self.query_string), keep_blank_values=True))

    def json_body(self) -> Any:
        """The body as JSON; raises ValueError when it is not JSON."""
        return loads_json(self.body) if self.body else None


@dataclass(frozen=True)
class MockResponse:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    step: str | None = None  # which step answered, for flow comments and the journal
    choice: str | None = None  # which alternative answered ("when#2 (header X-Tier=gold)")

    @cached_property
    def wire_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        """Encoded header fields with a content-length; computed once per response object,
        so fixed responses built at load time pay for it once."""
        fields = tuple((k.encode(), v.encode()) for k, v in self.headers)
        if not any(k.lower() == b"content-length" for k, _ in fields):
            fields += ((b"content-length", str(len(self.body)).encode()),)
        return fields


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_json(data: bytes | str) -> Any:
    """Strict JSON from untrusted bytes: ValueError for anything that is not plain JSON,
    including ``NaN``/``Infinity`` (strict parsers refuse them) and nesting deep enough to
    exhaust the stack."""
    try:
        return json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        if "integer string conversion" in str(exc):  # Python's bound on digits
            raise ValueError(f"a number of more than {sys.get_int_max_str_digits():,} "
                             "digits") from None
        raise


def encode_json(value: Any) -> bytes:
    """Compact JSON, as the original's JSONResponse sends it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(status: int, value: Any, headers: dict[str, str] | None = None,
                  step: str | None = None) -> MockResponse:
    return raw_json_response(status, encode_json(value), headers, step)


def raw_json_response(status: int, body: bytes, headers: dict[str, str] | None = None,
                      step: str | None = None) -> MockResponse:
    pairs = [("content-type", JSON_TYPE)]
    if headers:
        pairs = [(k, v) for k, v in headers.items()] + (
            [] if _has(headers, "content-type") else pairs)
    return MockResponse(status, tuple(pairs), body, step)


def error_response(status: int, detail: Any, headers: dict[str, str] | None = None,
                   extra: dict[str, Any] | None = None) -> MockResponse:
    return json_response(status, {**(extra or {}), "detail": detail}, headers)


def _has(headers: dict[str, str], name: str) -> bool:
    return any(k.lower() == name for k in headers)
