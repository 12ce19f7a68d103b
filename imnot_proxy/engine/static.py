"""``static``: a fixed reply, encoded once at load (§4.2, B8 fixed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..messages import MockResponse, RequestView
from ..schema import StaticDatapoint, StaticEndpoint
from .answers import fixed_response
from .common import BuildContext, Handler, int_status, templated


def factory(ctx: BuildContext, dp: StaticDatapoint) -> Callable[[Any], Handler]:
    """Builds the handler of one endpoint of ``dp`` (or of one of its alternatives)."""
    return lambda ep: _endpoint(ctx, dp, ep)


def _endpoint(ctx: BuildContext, dp: StaticDatapoint, ep: StaticEndpoint):
    r = ep.response
    # An absent body is `{}` as in the original; explicit `[]`, `0`, `""` stay what they are.
    response = fixed_response(int_status(r.status), r.headers, r.body, absent_body=b"{}")

    def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
        return response

    return templated(ctx, r, handle)
