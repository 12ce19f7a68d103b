"""``paginated``: slice the uploaded JSON array in one of four styles (§4.6).

Fixed here: cursors are scoped to partner, datapoint and session (B6), and
``page_number_url`` links are built from the intercepted request's own scheme,
host and path (B12). With ``total_pages: N`` every page repeats the uploaded
array (the original's way to fake N pages from one page of data), and the
total reports N pages' worth of items.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from ..errors import RequestError
from ..messages import MockResponse, RequestView, clean_text, json_response
from ..schema import PaginatedDatapoint, PaginatedEndpoint, Pagination
from .common import BuildContext, Handler, int_status, resolve_payload, templated


def factory(ctx: BuildContext, dp: PaginatedDatapoint) -> Callable[[Any], Handler]:
    """Builds the handler of one endpoint of ``dp`` (or of one of its alternatives)."""
    return lambda ep: _endpoint(ctx, dp, ep)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _endpoint(ctx: BuildContext, dp: PaginatedDatapoint, ep: PaginatedEndpoint):
    store, partner, name = ctx.store, ctx.partner, dp.name
    cfg: Pagination = dp.pagination
    status, headers = int_status(ep.response.status), ep.response.headers or None
    default_limit = cfg.page_size or ctx.default_limit
    payload_name = getattr(ep, "payload", None) or ""
    parsed: dict[bytes, Any] = {}

    def items_of(request: RequestView) -> list:
        payload = resolve_payload(store, partner, name, request.session, payload_name)
        if not payload.is_json:
            raise RequestError(422, "Payload must be a JSON array for the paginated pattern")
        value = parsed.get(payload.body)
        if value is None:
            value = json.loads(payload.body)
            if len(parsed) > 64:
                parsed.clear()
            parsed[payload.body] = value
        if not isinstance(value, list):
            raise RequestError(422, "Payload must be a JSON array for the paginated pattern")
        return value

    def limit_of(raw: str | None) -> int:
        limit = _int(raw, default_limit)
        return limit if limit > 0 else default_limit

    def offset_limit(request: RequestView, items: list) -> dict:
        q = request.query
        offset = max(0, _int(q.get(cfg.offset_param), 0))
        limit = limit_of(q.get(cfg.limit_param))
        more = offset + limit < len(items)
        body: dict[str, Any] = {cfg.items_field: items[offset:offset + limit]}
        _put(body, cfg.total_field, len(items))
        _put(body, cfg.has_more_field, more)
        _put(body, cfg.next_offset_field, offset + limit if more else None)
        _put(body, cfg.offset_echo_field, offset)
        _put(body, cfg.limit_echo_field, limit)
        return body

    def cursor(request: RequestView, items: list) -> dict:
        q = request.query
        limit = limit_of(q.get(cfg.limit_param))
        token = (q.get(cfg.cursor_param) or "").strip()
        offset = 0
        if token:
            found = store.get_cursor(partner, name, request.session, token)
            if found is None:
                raise RequestError(400, "Cursor expired or not found")
            offset = found
        more = offset + limit < len(items)
        next_cursor = (store.add_cursor(partner, name, request.session, offset + limit,
                                        cfg.cursor_ttl_seconds) if more else None)
        body: dict[str, Any] = {cfg.items_field: items[offset:offset + limit]}
        body[cfg.cursor_field] = next_cursor  # type: ignore[index]
        _put(body, cfg.total_field, len(items))
        _put(body, cfg.has_more_field, more)
        return body

    def page_window(request: RequestView, items: list) -> tuple[int, int, list, bool, int]:
        q = request.query
        page = max(1, _int(q.get(cfg.page_param), 1))
        size = limit_of(q.get(cfg.size_param))
        if cfg.total_pages and cfg.style == "page_number_url":
            return page, size, items, page < cfg.total_pages, len(items) * cfg.total_pages
        start = (page - 1) * size
        return page, size, items[start:start + size], start + size < len(items), len(items)

    def page_number(request: RequestView, items: list) -> dict:
        _, _, window, more, total = page_window(request, items)
        body: dict[str, Any] = {cfg.items_field: window}
        _put(body, cfg.total_field, total)
        _put(body, cfg.has_more_field, more)
        return body

    def page_number_url(request: RequestView, items: list) -> dict:
        page, size, window, more, total = page_window(request, items)
        body: dict[str, Any] = {cfg.items_field: window}
        body[cfg.next_url_field] = _link(request, page + 1, size) if more else None  # type: ignore[index]
        body[cfg.previous_url_field] = (  # type: ignore[index]
            _link(request, page - 1, size) if page > 1 else None)
        _put(body, cfg.total_field, total)
        return body

    def _link(request: RequestView, page: int, size: int) -> str:
        params = dict(request.query)
        params[cfg.page_param] = str(page)
        params.setdefault(cfg.size_param, str(size))
        default_port = 443 if request.scheme == "https" else 80
        host = request.host if request.port == default_port else f"{request.host}:{request.port}"
        return f"{request.scheme}://{host}{clean_text(request.path)}?{urlencode(params)}"

    shape = {"offset_limit": offset_limit, "cursor": cursor, "page_number": page_number,
             "page_number_url": page_number_url}[cfg.style]

    def handle(request: RequestView, params: dict[str, str]) -> MockResponse:
        return json_response(status, shape(request, items_of(request)), headers)

    envelope = cfg.envelope

    def with_envelope(request: RequestView, params: dict[str, str]) -> MockResponse:
        return json_response(status, {**(envelope or {}), **shape(request, items_of(request))},
                             headers)

    return templated(ctx, ep.response, with_envelope if envelope else handle)


def _put(body: dict, key: str | None, value: Any) -> None:
    if key:
        body[key] = value
