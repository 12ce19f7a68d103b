"""``oauth``: a fixed bearer token for any client (§4.1), with the token answer's other
keys (``scope``, ...) from ``body``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
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
              "expires_in": r.expires_in, **(r.body or {})}
    response = json_response(r.status, fields, r.headers or None)
    token = ctx.compiled.get((id(r), "access_token")) if r.template and ctx.compiled else None
    template = ctx.template(r)
    extra = template.body if template is not None else None
    if (token is None or not token.templated) and extra is None:
        return templated(ctx, r, lambda request, params: response)
    rendering = ctx.rendering
    # the templated ``body`` keys are added to the token fields, not sent instead of them
    around = replace(template, body=None, body_kind="none") if template is not None else None

    def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
        context = rendering.context(request, params)
        answer = dict(fields)
        if token is not None and token.templated:
            answer["access_token"] = str(rendering.value(token, context, "access_token"))
        if extra is not None:
            answer.update(rendering.value(extra, context, "body"))
        base = json_response(r.status, answer, r.headers or None)
        return rendering.answer(around, base, context) if around is not None else base

    return handle
