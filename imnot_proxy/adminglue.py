"""Admin requests through the proxy: a read is answered at once, a change (which may parse
a large file or build a new engine) in a worker thread with a time limit, so that serving
never waits for it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from mitmproxy import http

from . import flows
from .admin import AdminApi
from .messages import RequestView, error_response

ADMIN_TIMEOUT = 30.0  # seconds an admin change may take before its client gets a 503


def answer(flow: http.HTTPFlow, admin: AdminApi,
           view: RequestView) -> Coroutine[Any, Any, None] | None:
    """Answer now, or return the coroutine that will (for mitmproxy to await)."""
    if view.method not in ("GET", "HEAD"):
        return _in_thread(flow, admin, view)
    flows.answer(flow, admin.handle(view), {"admin": True})
    flow.comment = f"imnot admin {view.method} {view.path}"
    return None


async def _in_thread(flow: http.HTTPFlow, admin: AdminApi, view: RequestView) -> None:
    try:
        response = await asyncio.wait_for(asyncio.to_thread(admin.handle, view), ADMIN_TIMEOUT)
    except TimeoutError:
        response = error_response(503, f"the admin request took longer than "
                                       f"{ADMIN_TIMEOUT:g} s; it may still complete")
    except Exception as exc:  # noqa: BLE001 - fail closed, as the request hook does
        flows.fail_closed(flow, exc)
        return
    flows.answer(flow, response, {"admin": True})
    flow.comment = f"imnot admin {view.method} {view.path}"
