"""``callback``: accept with 202 and a request id, then deliver the payload (§4.5).

Delivery runs on the proxy's event loop (the blocking HTTP call in a worker
thread), after ``callback_delay_seconds``, with the session captured at
submit. Beyond the original: retries with backoff on connection errors and
5xx, a delivery log in the store, a host allow list (loopback by default, so
a mock cannot be aimed at arbitrary addresses), and 422 instead of 500 for a
non-object body or a non-string URL (B9).
"""

from __future__ import annotations

import asyncio
import http.client
import ipaddress
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..compiled import capture_values
from ..errors import RequestError
from ..lang.requestdata import data_of
from ..messages import MockResponse, RequestView, encode_json, json_response
from ..schema import CallbackDatapoint, CallbackEndpoint
from ..store import CallbackRequest, Store
from . import callback_faults
from .answers import fixed_reply, header_safe
from .common import BuildContext, Handler, json_object_body, resolve_payload

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = 0.5
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class CallbackShape:
    """What the callback request carries besides the payload: templated headers (say, a
    signature) and a templated body, rendered at delivery with the values captured at
    submit, the request id as ``id`` and the payload."""

    rendering: Any
    headers: tuple[tuple[str, Any], ...] = ()  # (name, Template or text)
    body: Any = None  # a CompiledValue, or None for the payload as stored


@dataclass(frozen=True)
class DeliveryJob:
    store: Store
    request: CallbackRequest
    retries: int
    delay: float
    shape: CallbackShape | None = None
    fault: Callable[[str, str, str | None], Any] | None = None  # the delivery's fault, if any

    async def run(self) -> None:
        r = self.request
        fault = self.fault(r.partner, r.datapoint, r.session_id) if self.fault else None
        if fault is not None:
            await callback_faults.run(self, fault, deliver)
            return
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        await deliver(self.store, self.request, self.retries, self.shape)
        callback_faults.delivered(self.request)


def callback_refusal(url: str, allow: Sequence[str]) -> str | None:
    """Why a callback URL may not be used, or None when it may.

    Loopback is always allowed; other hosts only when ``imnot_callback_allow`` names
    them (``host`` or ``*.suffix``), so a partner file or a client cannot aim the
    proxy at arbitrary addresses.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"callback URL {url!r} must be an absolute http(s) URL"
    host = parts.hostname.lower()
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    for allowed in allow:
        allowed = allowed.lower()
        if host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:])):
            return None
    return (f"callback host '{host}' is not allowed: only loopback and the hosts in "
            "imnot_callback_allow receive callbacks")


def factory(ctx: BuildContext, dp: CallbackDatapoint) -> Callable[[Any], Handler]:
    """Builds the handler of one endpoint of ``dp`` (or of one of its alternatives)."""
    return lambda ep: _endpoint(ctx, dp, ep)


def _endpoint(ctx: BuildContext, dp: CallbackDatapoint, ep: CallbackEndpoint):
    store, partner, name = ctx.store, ctx.partner, dp.name
    r = ep.response
    allowed: Callable[[str], str | None] = ctx.callback_allowed
    captures = ctx.compiled.get(ep.capture) if ep.capture and ctx.compiled else None
    shape = callback_shape(ctx, r)
    if ctx.callback_shapes is not None and shape is not None:
        ctx.callback_shapes.setdefault((partner, name), shape)  # for retriggers
    payload_name = ep.payload or ""
    # the immediate reply: {"request_id": id}, or the endpoint's ``body`` with {id} filled
    custom = r.body is not None or any("{id}" in v for v in r.headers.values())
    reply = fixed_reply(r.status, r.headers, r.body if r.body is not None
                        else {"request_id": "{id}"}, absent_body=None) if custom else None
    template = ctx.template(r)
    rendering = ctx.rendering

    def url_of(request: RequestView) -> str:
        if r.callback_url_field:
            body = json_object_body(request)
            url = body.get(r.callback_url_field)
            if url is None or url == "":
                raise RequestError(
                    400, f"Missing required field '{r.callback_url_field}' in request body")
            if not isinstance(url, str):
                raise RequestError(422, f"Field '{r.callback_url_field}' must be a URL string")
            return url
        url = request.headers.get(r.callback_url_header or "")
        if not url:
            raise RequestError(400, f"Missing required header '{r.callback_url_header}'")
        return url

    def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
        url = url_of(request)
        refusal = allowed(url)
        if refusal:
            raise RequestError(422, refusal)
        captured = capture_values(captures, data_of(request, params)) if captures else None
        record = store.add_callback(partner, name, request.session or None, url,
                                    r.callback_method, captured, payload_name)
        ctx.dispatch(DeliveryJob(store, record, r.callback_retries, r.callback_delay_seconds,
                                 shape, ctx.callback_fault))
        if reply is None:
            response = json_response(r.status, {"request_id": record.id}, r.headers or None)
        else:
            response = reply.render(record.id)
        if template is None:
            return response
        return rendering.answer(template, response, rendering.context(
            request, params, id=record.id, captured=captured))

    return handle


def callback_shape(ctx: BuildContext, r: Any) -> CallbackShape | None:
    """The templated parts of the callback request, or None when it sends the payload."""
    if not r.template or ctx.compiled is None or not (r.callback_headers or r.callback_body
                                                      is not None):
        return None
    headers = tuple((k, ctx.compiled.get((id(r), "callback_headers", k), v))
                    for k, v in r.callback_headers.items())
    body = ctx.compiled.get((id(r), "callback_body")) if r.callback_body is not None else None
    return CallbackShape(ctx.rendering, headers, body)


async def deliver(store: Store, request: CallbackRequest, retries: int,
                  shape: CallbackShape | None = None) -> bool:
    """Send the current payload (or the templated body) to the callback URL; True when it
    was accepted (2xx)."""
    try:
        body, headers = delivery_request(store, request, shape)
    except RequestError as exc:
        logger.warning("callback %s for %s/%s skipped: %s", request.id, request.partner,
                       request.datapoint, exc.detail)
        store.log_delivery(request.id, 0, None, f"skipped: {exc.detail}")
        return False
    for attempt in range(1, retries + 2):
        status, error = await asyncio.to_thread(_send, request, body, headers)
        store.log_delivery(request.id, attempt, status, error)
        if status is not None and status < 500:
            ok = 200 <= status < 300
            log = logger.info if ok else logger.warning
            log("callback %s delivered to %s: %s", request.id, request.url, status)
            return ok
        if attempt <= retries:
            await asyncio.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    logger.warning("callback %s to %s failed after %d attempts: %s", request.id, request.url,
                   retries + 1, error or status)
    return False


def delivery_request(store: Store, request: CallbackRequest, shape: CallbackShape | None
                     ) -> tuple[bytes, dict[str, str]]:
    """The body and headers a delivery sends: the current payload, or the templated body
    and headers (raises RequestError)."""
    payload = resolve_payload(store, request.partner, request.datapoint, request.session_id,
                              request.payload_name)
    body, headers = payload.body, {"Content-Type": payload.content_type}
    if shape is not None:
        body, headers = _shaped(shape, request, payload, headers)
    return body, headers


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _shaped(shape: CallbackShape, request: CallbackRequest, payload: Any,
            headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The callback body and headers with their templates rendered (raises RequestError)."""
    rendering = shape.rendering
    context = rendering.context(NO_REQUEST, None, id=request.id, captured=request.captured,
                                payload=payload)
    body = payload.body
    if shape.body is not None:
        value = rendering.value(shape.body, context, "callback_body")
        if isinstance(value, str):
            body = value.encode()
        else:
            body, headers = encode_json(value), {"Content-Type": "application/json"}
    for name, template in shape.headers:
        text = template if isinstance(template, str) else str(
            rendering.value(template, context, f"callback_headers {name}"))
        headers[name] = header_safe(text)
    return body, headers


# A callback is delivered after its request is gone: templates there read captured values.
NO_REQUEST = RequestView(method="", path="")


def _send(request: CallbackRequest, body: bytes,
          headers: dict[str, str] | None = None) -> tuple[int | None, str | None]:
    req = urllib.request.Request(request.url, data=body, method=request.method,
                                 headers=headers or {"Content-Type": "application/json"})
    try:
        with _opener.open(req, timeout=TIMEOUT_SECONDS) as resp:
            resp.read()
            return resp.status, None
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, str(reason)
