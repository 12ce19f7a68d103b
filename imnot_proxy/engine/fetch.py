"""``fetch``: the uploaded payload, global or per session (§4.3)."""

from __future__ import annotations

from ..messages import MockResponse, RequestView
from ..schema import FetchDatapoint, FetchEndpoint
from .common import BuildContext, payload_response, resolve_payload


def build(ctx: BuildContext, dp: FetchDatapoint) -> list:
    return [_endpoint(ctx, dp, ep) for ep in dp.endpoints]


def _endpoint(ctx: BuildContext, dp: FetchDatapoint, ep: FetchEndpoint):
    store, partner, name = ctx.store, ctx.partner, dp.name
    status, headers = ep.response.status, ep.response.headers or None
    payload_name = getattr(ep, "payload", None) or ""

    def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
        payload = resolve_payload(store, partner, name, request.session, payload_name)
        return payload_response(status, payload, headers)

    return handle
