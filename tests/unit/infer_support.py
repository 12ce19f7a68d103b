"""Exchanges built by hand for the inference tests, and lookups into what was inferred."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from imnot_proxy.recording.exchange import Exchange
from imnot_proxy.recording.infer import Inference

BASE = "https://api.partner.example"
JSON = (("Content-Type", "application/json"),)


def ex(method: str, path: str, status: int | None = 200, body: Any = b"", *,
       headers: Sequence[tuple[str, str]] = (), request: Any = b"",
       request_headers: Sequence[tuple[str, str]] = (), base: str = BASE,
       error: str | None = None) -> Exchange:
    """One exchange; a non-bytes body or request is sent as JSON."""
    response_headers = tuple(headers)
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
        response_headers = JSON + response_headers
    request_pairs = tuple(request_headers)
    if not isinstance(request, bytes):
        request = json.dumps(request).encode()
        request_pairs = JSON + request_pairs
    return Exchange(0.0, method, base + path, request_pairs, request, status, response_headers,
                    body, error)


def job_flow(job: str, *, location: str | None = None, statuses: Sequence[str] = (
        "PENDING", "PENDING", "COMPLETED")) -> list[Exchange]:
    flows = [ex("POST", "/jobs", 202, b"", headers=[("Location", location or f"/jobs/{job}")],
                request={"report": "daily"})]
    flows += [ex("GET", f"/jobs/{job}/status", 200, {"jobId": job, "status": s})
              for s in statuses]
    flows.append(ex("GET", f"/jobs/{job}/result", 200, {"jobId": job, "rows": [1, 2]}))
    return flows


def datapoint(result: Inference, name: str) -> dict[str, Any]:
    found = [dp for dp in result.datapoints if dp.name == name]
    assert found, [dp.name for dp in result.datapoints]
    return found[0].data


def endpoint(result: Inference, name: str, index: int = 0) -> dict[str, Any]:
    return datapoint(result, name)["endpoints"][index]


def payload(result: Inference, name: str) -> Any:
    dp = next(dp for dp in result.datapoints if dp.name == name)
    assert dp.has_payload
    return dp.payload


def offset_pages(items: list[Any], limit: int = 2, order: Sequence[int] = ()) -> list[Exchange]:
    offsets = list(order) or list(range(0, len(items), limit))
    out = []
    for offset in offsets:
        more = offset + limit < len(items)
        out.append(ex("GET", f"/items?offset={offset}&limit={limit}", 200, {
            "items": items[offset:offset + limit], "total": len(items), "hasMore": more,
            "nextOffset": offset + limit if more else None, "offset": offset, "limit": limit}))
    return out
