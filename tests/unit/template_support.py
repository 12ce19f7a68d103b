"""Builders shared by the template tests: a request, a context with a frozen clock, and
one-call compile-and-render helpers."""

from __future__ import annotations

from typing import Any

from imnot_proxy.lang.requestdata import RequestData
from imnot_proxy.lang.templates import (
    TemplateContext,
    TemplateRenderError,
    compile_text,
    compile_value,
)
from imnot_proxy.messages import CIHeaders, RequestView

# 2024-05-01T12:34:56.789Z, a Wednesday
NOW = 1714566896.789


def request(body: bytes | str = b"", *, method: str = "POST", path: str = "/r/42",
            query: str = "", headers: dict[str, str] | None = None,
            params: dict[str, str] | None = None) -> RequestData:
    if isinstance(body, str):
        body = body.encode()
    view = RequestView(method, path, query, CIHeaders(headers or {}), body)
    return RequestData(view, params if params is not None else {"id": "42"})


def context(body: bytes | str = b"", **kwargs: Any) -> TemplateContext:
    names = ("method", "path", "query", "headers", "params")
    request_args = {k: kwargs.pop(k) for k in names if k in kwargs}
    kwargs.setdefault("clock", lambda: NOW)
    return TemplateContext(request(body, **request_args), **kwargs)


def render(source: str, ctx: TemplateContext | None = None, *, markup: bool = False) -> str:
    return compile_text(source, markup=markup).render(ctx or context())


def value(source: Any, ctx: TemplateContext | None = None) -> Any:
    return compile_value(source).render(ctx or context())


def render_error(source: str, ctx: TemplateContext | None = None) -> TemplateRenderError:
    try:
        render(source, ctx)
    except TemplateRenderError as e:
        return e
    raise AssertionError(f"{source!r} rendered")
