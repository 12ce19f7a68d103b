"""A small client for the admin API of a running proxy, used by the CLI.

It talks to the proxy port directly (no proxy in between: environment proxy
settings are ignored on purpose) and returns the decoded JSON.
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8080"


class AdminCallError(Exception):
    def __init__(self, status: int | None, detail: Any):
        self.status = status
        self.detail = detail
        super().__init__(f"{status}: {detail}" if status else str(detail))


@dataclass
class AdminClient:
    base_url: str = DEFAULT_URL
    key: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_env(cls, url: str | None = None, key: str | None = None) -> AdminClient:
        return cls((url or os.environ.get("IMNOT_URL") or DEFAULT_URL).rstrip("/"),
                   key or os.environ.get("IMNOT_ADMIN_KEY"))

    def call(self, method: str, path: str, body: bytes | None = None,
             content_type: str = "application/json") -> Any:
        try:
            request = urllib.request.Request(self.base_url + path, data=body, method=method)
        except ValueError as exc:  # a base URL that is not one
            raise AdminCallError(None, f"not a URL: {self.base_url + path!r} ({exc})") from None
        if self.key:
            request.add_header("Authorization", f"Bearer {self.key}")
        if body is not None:
            request.add_header("Content-Type", content_type)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=self.timeout) as response:
                return _decode(response.read())
        except urllib.error.HTTPError as exc:
            payload = _decode(exc.read())
            exc.close()
            detail = payload.get("detail", payload) if isinstance(payload, dict) else payload
            if isinstance(payload, dict) and isinstance(payload.get("problem"), str):
                detail = f"{detail}: {payload['problem']}"  # where a body went wrong
            raise AdminCallError(exc.code, detail) from None
        except (urllib.error.URLError, OSError, http.client.InvalidURL) as exc:
            reason = getattr(exc, "reason", exc)
            raise AdminCallError(None, f"cannot reach {self.base_url}: {reason}") from None


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return data.decode("utf-8", "replace")
