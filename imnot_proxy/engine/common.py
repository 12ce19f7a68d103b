"""Pieces every pattern shares: the build context, payload lookup, fixed answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import RequestError
from ..messages import JSON_TYPE, MockResponse, RequestView, encode_json
from ..schema import Answer
from ..store import Payload, Store


class Handler(Protocol):
    def __call__(self, request: RequestView, params: dict[str, str]) -> MockResponse: ...


@dataclass
class BuildContext:
    """What a pattern needs to build its handlers once per load."""

    store: Store
    partner: str
    default_limit: int = 50
    dispatch: Callable[[Any], None] = field(default=lambda job: None)  # runs async callbacks
    callback_allowed: Callable[[str], str | None] = field(default=lambda url: None)


def resolve_payload(store: Store, partner: str, datapoint: str, session: str | None) -> Payload:
    """Session payload when a session is given (no fallback), else the global one (§3.3)."""
    if session:
        payload = store.session_payload(session, partner, datapoint)
        if payload is None:
            raise RequestError(404, f"No session payload found for session '{session}'")
        return payload
    payload = store.get_global(partner, datapoint)
    if payload is None:
        raise RequestError(404, f"No global payload found for {partner}/{datapoint}")
    return payload


NO_BODY_STATUSES = frozenset({204, 304}) | frozenset(range(100, 200))


def fixed_response(status: int, headers: dict[str, str], body: Any, *,
                   absent_body: bytes | None, step: str | None = None) -> MockResponse:
    """A response fixed at load time: the body is encoded here, once.

    A string body is sent as JSON when it parses as JSON, as raw text when the
    headers give a non-JSON content type, else as a JSON string. ``absent_body``
    is what a missing body becomes (``b"{}"`` for static, nothing for polling).
    """
    pairs = list(headers.items())
    has_type = any(k.lower() == "content-type" for k, _ in pairs)
    if status in NO_BODY_STATUSES:
        return MockResponse(status, tuple(pairs), b"", step)
    if body is None or (body == "" and absent_body is None):
        if absent_body is None:
            return MockResponse(status, tuple(pairs), b"", step)
        data = absent_body
    elif isinstance(body, str) and has_type and not _is_json_type(headers):
        data = body.encode()
    elif isinstance(body, str):
        try:
            data = encode_json(json.loads(body))
        except ValueError:
            data = encode_json(body)
    else:
        data = encode_json(body)
    if not has_type:
        pairs.append(("content-type", JSON_TYPE))
    return MockResponse(status, tuple(pairs), data, step)


def answer_response(answer: Answer, step: str | None = None) -> MockResponse:
    return fixed_response(answer.status, answer.headers, answer.body, absent_body=None, step=step)


def with_id(response: MockResponse, id: str) -> MockResponse:
    """Replace ``{id}`` in header values and body of an extension answer."""
    if "{id}" not in repr(response.headers) and b"{id}" not in response.body:
        return response
    headers = tuple((k, v.replace("{id}", id)) for k, v in response.headers)
    return MockResponse(response.status, headers,
                        response.body.replace(b"{id}", id.encode()), response.step)


def _is_json_type(headers: dict[str, str]) -> bool:
    for key, value in headers.items():
        if key.lower() == "content-type":
            return "json" in value.lower()
    return True


def json_object_body(request: RequestView) -> dict:
    """The request body as a JSON object, or a 400/422 explaining why not."""
    try:
        value = request.json_body()
    except ValueError:
        raise RequestError(400, "Invalid JSON body") from None
    if not isinstance(value, dict):
        raise RequestError(422, "Request body must be a JSON object")
    return value
