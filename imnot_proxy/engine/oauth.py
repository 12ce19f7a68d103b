"""``oauth``: a fixed bearer token for any client (§4.1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..messages import MockResponse, RequestView, json_response
from ..schema import OAuthDatapoint, OAuthEndpoint
from .common import BuildContext, Handler, templated

# JWT-shaped, never checked: the original hands every client the same constant.
TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJpbW5vdCIsImlhdCI6MH0."
    "aW1ub3QtcHJveHktbW9jay10b2tlbi1zaWduYXR1cmU"
)


def factory(ctx: BuildContext, dp: OAuthDatapoint) -> Callable[[Any], Handler]:
    """Builds the handler of one endpoint of ``dp`` (or of one of its alternatives)."""
    return lambda ep: _endpoint(ctx, dp, ep)


def _endpoint(ctx: BuildContext, dp: OAuthDatapoint, ep: OAuthEndpoint):
    r = ep.response
    fields = {"access_token": r.access_token or TOKEN, "token_type": r.token_type,
              "expires_in": r.expires_in}
    response = json_response(r.status, fields, r.headers or None)
    token = ctx.compiled.get((id(r), "access_token")) if r.template and ctx.compiled else None
    if token is None or not token.templated:
        return templated(ctx, r, lambda request, params: response)
    rendering = ctx.rendering

    def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
        value = rendering.value(token, rendering.context(request, params), token)
        return json_response(r.status, {**fields, "access_token": str(value)},
                             r.headers or None)

    return templated(ctx, r, handle)
