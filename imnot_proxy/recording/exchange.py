"""One recorded request/response, independent of where it came from (proxy, HAR, flow file)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Exchange:
    started: float  # epoch seconds
    method: str
    url: str
    request_headers: Pairs = ()
    request_body: bytes = b""
    status: int | None = None  # None: no response (the upstream failed)
    response_headers: Pairs = ()
    response_body: bytes = b""
    error: str | None = None
    partner: str | None = None
    duration_ms: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    def request_header(self, name: str) -> str | None:
        return _header(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        return _header(self.response_headers, name)

    def response_json(self) -> Any:
        """The response body as JSON, or None when it is not JSON."""
        return _json(self.response_body)

    def request_json(self) -> Any:
        return _json(self.request_body)


def _header(pairs: Pairs, name: str) -> str | None:
    name = name.lower()
    for key, value in pairs:
        if key.lower() == name:
            return value
    return None


def _json(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None
