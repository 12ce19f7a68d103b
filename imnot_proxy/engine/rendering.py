"""Answers with ``template: true``: rendered per request from the parts compiled at load.

An answer is first built as it is written (encoded once, as every fixed answer); the
parts that are templates are then rendered over it: status, header values, body. A
JSON body is rendered as values and encoded after, so echoed request values can never
break its shape; an XML or HTML body is rendered with every echoed value escaped.
``{id}`` keeps its meaning. A template that fails is a ``RenderFailure`` (a 500 with
a body naming the partner, the datapoint and the part: status, a header, the body and
where in it), logged once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..compiled import AnswerTemplate
from ..errors import RequestError
from ..lang.requestdata import data_of
from ..lang.templates import TemplateContext, TemplateRenderError
from ..messages import MockResponse, RequestView, encode_json
from .answers import fill, header_safe

logger = logging.getLogger("imnot_proxy")


class RenderFailure(RequestError):
    """A template failed while answering: a 500 naming where."""

    def __init__(self, partner: str, datapoint: str, error: TemplateRenderError,
                 part: str = "template"):
        where = part + "".join(f".{p}" for p in error.path)
        if error.line and error.line > 1:
            where += f", line {error.line}"
        super().__init__(500, f"template error in {partner}/{datapoint}, {where}: "
                              f"{error.message}")


@dataclass
class Rendering:
    """What renders the templated answers of one datapoint (built once per load)."""

    partner: str
    datapoint: str
    store: Any
    clock: Any
    keys: dict[str, bytes] = field(default_factory=dict)
    _logged: set[int] = field(default_factory=set)

    def context(self, request: RequestView, params: dict[str, str] | None = None, *,
                id: str | None = None, captured: dict[str, Any] | None = None,
                payload: Any = None) -> TemplateContext:
        return TemplateContext(
            request=data_of(request, params), id=id, captured=captured or {},
            payload=payload.body if payload is not None else None,
            payload_type=payload.content_type if payload is not None else None,
            clock=self.clock, sequence=self._sequence, keys=self.keys,
            partner=self.partner, datapoint=self.datapoint)

    def _sequence(self, name: str) -> int:
        return self.store.next_sequence(f"{self.partner}/{self.datapoint}/{name}")

    def answer(self, template: AnswerTemplate, base: MockResponse,
               context: TemplateContext) -> MockResponse:
        """``base`` with the templated parts rendered (raises ``RenderFailure``)."""
        part = "status"
        try:
            status = base.status
            if template.status is not None:
                status = _status(template.status.render(context))
            headers = list(base.headers)
            for name, value in template.headers:
                if not isinstance(value, str):
                    part = f"header {name}"
                    rendered = header_safe(str(value.render(context)))
                    headers = [(k, rendered if k == name else v) for k, v in headers]
            body = base.body
            if template.body is not None:
                part = "body"
                body = _body(template, context)
        except TemplateRenderError as exc:
            self._log_once(template, exc)
            raise RenderFailure(self.partner, self.datapoint, exc, part) from None
        if context.id is not None:
            headers = [(k, v.replace("{id}", header_safe(context.id))) for k, v in headers]
        return MockResponse(status, tuple(headers), body, base.step)

    def value(self, compiled: Any, context: TemplateContext, part: str) -> Any:
        """One templated value (a callback body, an access token); ``part`` names it."""
        try:
            return compiled.render(context)
        except TemplateRenderError as exc:
            self._log_once(compiled, exc)
            raise RenderFailure(self.partner, self.datapoint, exc, part) from None

    def _log_once(self, template: object, exc: TemplateRenderError) -> None:
        if id(template) not in self._logged:
            self._logged.add(id(template))
            logger.warning("imnot_proxy: template error in %s/%s: %s (logged once)",
                           self.partner, self.datapoint, exc)


def _status(value: Any) -> int:
    try:
        status = int(str(value).strip())
    except ValueError:
        raise TemplateRenderError(None, f"status rendered as {value!r}, not a number") from None
    if not 100 <= status <= 599:
        raise TemplateRenderError(None, f"status rendered as {status}, not 100-599")
    return status


def _body(template: AnswerTemplate, context: TemplateContext) -> bytes:
    value = template.body.render(context)
    if template.body_kind == "json":
        if context.id is not None:
            value = fill(value, context.id)
        return encode_json(value)
    text = "" if value is None else str(value)
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace").encode()

