"""``fetch``: the uploaded payload, global or per session (§4.3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..messages import MockResponse, RequestView
from ..schema import FetchDatapoint, FetchEndpoint
from .common import BuildContext, Handler, int_status, payload_response, resolve_payload


def factory(ctx: BuildContext, dp: FetchDatapoint) -> Callable[[Any], Handler]:
    """Builds the handler of one endpoint of ``dp`` (or of one of its alternatives)."""
    return lambda ep: _endpoint(ctx, dp, ep)


def _endpoint(ctx: BuildContext, dp: FetchDatapoint, ep: FetchEndpoint):
    store, partner, name = ctx.store, ctx.partner, dp.name
    status, headers = int_status(ep.response.status), ep.response.headers or None
    payload_name = ep.payload or ""
    template = ctx.template(ep.response)
    rendering = ctx.rendering

    def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
        payload = resolve_payload(store, partner, name, request.session, payload_name)
        response = payload_response(status, payload, headers)
        if template is None:
            return response
        return rendering.answer(template, response,
                                rendering.context(request, params, payload=payload))

    return handle
