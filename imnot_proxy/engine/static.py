"""``static``: a fixed reply, encoded once at load (§4.2, B8 fixed)."""

from __future__ import annotations

from ..messages import MockResponse, RequestView
from ..schema import StaticDatapoint, StaticEndpoint
from .answers import fixed_response
from .common import BuildContext


def build(ctx: BuildContext, dp: StaticDatapoint) -> list:
    return [_endpoint(ctx, dp, ep) for ep in dp.endpoints]


def _endpoint(ctx: BuildContext, dp: StaticDatapoint, ep: StaticEndpoint):
    r = ep.response
    # An absent body is `{}` as in the original; explicit `[]`, `0`, `""` stay what they are.
    response = fixed_response(r.status, r.headers, r.body, absent_body=b"{}")

    def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
        return response

    return handle
