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
    compiled: Any = None  # the partner's compiled conditions and templates (compiled.py)
    rendering: Any = None  # renders this datapoint's templated answers (rendering.py)
    callback_shapes: dict | None = None  # the engine's: (partner, datapoint) -> CallbackShape
    # the fault of one callback delivery: (partner, datapoint, session) -> Injection | None
    callback_fault: Callable[[str, str, str | None], Any] = field(default=lambda p, d, s: None)

    def template(self, model: Any) -> Any:
        """The compiled templates of an answer model, or None when it has none."""
        return self.compiled.get(model) if self.compiled is not None else None


def resolve_payload(store: Store, partner: str, datapoint: str, session: str | None,
                    name: str = "") -> Payload:
    """Session payload when a session is given (no fallback), else the global one (§3.3);
    ``name`` picks one of a datapoint's named payloads ("" is the default one)."""
    which = f" '{name}'" if name else ""
    if session:
        payload = store.session_payload(session, partner, datapoint, name)
        if payload is None:
            raise RequestError(404, f"No session payload{which} found for session '{session}'")
        return payload
    payload = store.get_global(partner, datapoint, name)
    if payload is None:
        raise RequestError(404, f"No global payload{which} found for {partner}/{datapoint}")
    return payload


def payload_response(status: int, payload: Payload, headers: dict[str, str] | None,
                     step: str | None = None) -> MockResponse:
    """The stored payload as it was uploaded, with its own content type unless the endpoint
    names one."""
    pairs = list((headers or {}).items())
    if not any(k.lower() == "content-type" for k, _ in pairs):
        pairs.append(("content-type", payload.content_type))
    return MockResponse(status, tuple(pairs), payload.body, step)


def templated(ctx: BuildContext, model: Any, inner: Handler) -> Handler:
    """``inner``, with the templated parts of its answer (``template: true``) rendered over
    what it answers; ``inner`` itself when the answer has no templates."""
    template = ctx.template(model)
    if template is None:
        return inner
    rendering = ctx.rendering

    def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
        return rendering.answer(template, inner(request, params),
                                rendering.context(request, params))

    return handle


def int_status(status: Any, default: int = 200) -> int:
    """The status written in the file; a templated one is rendered per request."""
    return status if isinstance(status, int) else default


def json_object_body(request: RequestView) -> dict:
    """The request body as a JSON object, or a 400/422 explaining why not."""
    try:
        value = request.json_body()
    except ValueError:
        raise RequestError(400, "Invalid JSON body") from None
    if not isinstance(value, dict):
        raise RequestError(422, "Request body must be a JSON object")
    return value
