"""``oauth``: a fixed bearer token for any client (§4.1)."""

from __future__ import annotations

from ..messages import MockResponse, RequestView, json_response
from ..schema import OAuthDatapoint, OAuthEndpoint
from .common import BuildContext

# JWT-shaped, never checked: the original hands every client the same constant.
TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJpbW5vdCIsImlhdCI6MH0."
    "aW1ub3QtcHJveHktbW9jay10b2tlbi1zaWduYXR1cmU"
)


def build(ctx: BuildContext, dp: OAuthDatapoint) -> list:
    return [_endpoint(ctx, dp, ep) for ep in dp.endpoints]


def _endpoint(ctx: BuildContext, dp: OAuthDatapoint, ep: OAuthEndpoint):
    r = ep.response
    response = json_response(
        r.status,
        {"access_token": r.access_token or TOKEN, "token_type": r.token_type,
         "expires_in": r.expires_in},
        r.headers or None,
    )

    def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
        return response

    return handle
