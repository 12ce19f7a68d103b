"""Turning one loaded partner into routes, each with its handler, once per load.

A handler is the pattern's (``FACTORIES``), or a chooser over the endpoint's
``alternatives`` (each built by the same pattern from the endpoint with the
alternative's response and payload), wrapped by ``validate`` and then
``rate_limit``. The route carries the endpoint's ``when:`` condition and the
datapoint's ``errors:`` language; everything compiled comes from the loader
(``source.compiled``), so nothing here parses YAML or templates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from ..loader import PartnerSource
from ..routing import Route
from ..rules import route_entries
from . import callback, fetch, oauth, paginated, polling, static
from .choice import Choice, chooser, label_of
from .common import BuildContext
from .guards import rate_limited, validated
from .rendering import Rendering

FACTORIES: dict[str, Callable[..., Callable[[Any], Callable]]] = {
    "oauth": oauth.factory,
    "static": static.factory,
    "fetch": fetch.factory,
    "polling": polling.factory,
    "callback": callback.factory,
    "paginated": paginated.factory,
}


def partner_routes(source: PartnerSource, store: Any, settings: Any,
                   callback_shapes: dict | None = None,
                   callback_fault: Callable[..., Any] | None = None) -> Iterator[Route]:
    """Every route of one partner, with its handler, condition and error language;
    ``callback_fault`` decides the fault of each callback delivery (``FaultPlans``)."""
    model, compiled = source.model, source.compiled
    handlers: list[list[Callable]] = []
    for dp in model.datapoints:
        rendering = Rendering(model.partner, dp.name, store, settings.clock, compiled.keys)
        ctx = BuildContext(store, model.partner, settings.default_limit, settings.dispatch,
                           settings.callback_allowed, settings.clock, compiled, rendering,
                           callback_shapes)
        if callback_fault is not None:
            ctx.callback_fault = callback_fault
        make = FACTORIES[dp.pattern](ctx, dp)
        built = []
        for ep in dp.endpoints:
            handler = _answers(make, dp, ep, compiled)
            if ep.validation is not None:
                handler = validated(ep.validation, handler, compiled)
            if ep.rate_limit is not None:
                key = f"{model.partner}/{dp.name}/{ep.method} {ep.path}"
                handler = rate_limited(store, key, ep.rate_limit, handler)
            built.append(handler)
        handlers.append(built)
    for entry in route_entries(model):
        dp = model.datapoints[entry.datapoint]
        ep = dp.endpoints[entry.endpoint]
        yield replace(entry.route, target=handlers[entry.datapoint][entry.endpoint],
                      condition=compiled.get(ep), errors=dp.errors)


def _answers(make: Callable[[Any], Callable], dp: Any, ep: Any, compiled: Any) -> Callable:
    if not ep.alternatives:
        return make(ep)
    choices = []
    for k, alt in enumerate(ep.alternatives, start=1):
        condition = compiled.get(alt)
        choices.append(Choice(label_of(k, condition), condition, make(variant(dp, ep, alt))))
    return chooser(choices)


def variant(dp: Any, ep: Any, alt: Any) -> Any:
    """The endpoint as one alternative answers: its response and payload, the rest the
    endpoint's. A polling step keeps its role (submit, status or result) whatever the
    alternative's response says."""
    response = alt.response if alt.response is not None else ep.response
    if dp.pattern == "polling" and response is not ep.response:
        response = response.model_copy(update={
            "generates_id": ep.response.generates_id,
            "returns_payload": ep.response.returns_payload})
    payload = alt.payload if alt.payload is not None else ep.payload
    return ep.model_copy(update={"response": response, "payload": payload,
                                 "alternatives": None})
