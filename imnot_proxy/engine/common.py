"""Pieces every pattern shares: the build context, payload lookup, request bodies."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..clock import Clock
from ..errors import RequestError
from ..messages import MockResponse, RequestView
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
    clock: Clock = time.time
    callback_fault: Callable[[str, str, str | None], Any] = field(default=lambda p, d, s: None)


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


def json_object_body(request: RequestView) -> dict:
    """The request body as a JSON object, or a 400/422 explaining why not."""
    try:
        value = request.json_body()
    except ValueError:
        raise RequestError(400, "Invalid JSON body") from None
    if not isinstance(value, dict):
        raise RequestError(422, "Request body must be a JSON object")
    return value
