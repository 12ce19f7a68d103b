"""The engine: compiled routes plus one handler per endpoint, built once per load.

``Engine.handle`` takes a ``RequestView`` and answers with an ``Outcome``:
``Mocked`` (a response and which route gave it), ``Unmatched`` (a partner host
or direct request with no route: the closest routes), or ``Passthrough``
(not ours). Everything per-request is a lookup; YAML, pydantic and JSON
encoding of fixed bodies all happen here, at build time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import RequestError
from ..loader import PartnerSource
from ..messages import MockResponse, RequestView, error_response
from ..routing import Match, Miss, Route, Router
from ..rules import route_entries
from ..schema import PAYLOAD_PATTERNS
from ..store import Store
from . import callback, fetch, oauth, paginated, polling, static
from .common import BuildContext
from .guards import rate_limited, validated

BUILDERS: dict[str, Callable[..., list]] = {
    "oauth": oauth.build,
    "static": static.build,
    "fetch": fetch.build,
    "polling": polling.build,
    "callback": callback.build,
    "paginated": paginated.build,
}



@dataclass(frozen=True)
class Mocked:
    route: Route
    response: MockResponse
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Unmatched:
    miss: Miss
    response: MockResponse


@dataclass(frozen=True)
class Passthrough:
    pass


PASSTHROUGH = Passthrough()
Outcome = Mocked | Unmatched | Passthrough


@dataclass
class EngineSettings:
    default_limit: int = 50
    dispatch: Callable[[Any], None] = lambda job: None
    callback_allowed: Callable[[str], str | None] = lambda url: None


class Engine:
    """Routes and handlers for one set of partners over one store."""

    def __init__(self, partners: list[PartnerSource], store: Store,
                 settings: EngineSettings | None = None):
        self.partners = partners
        self.store = store
        self.settings = settings or EngineSettings()
        self.router = Router()
        self.datapoints: dict[tuple[str, str], Any] = {}
        self.modes: dict[str, str | None] = {s.name: s.model.mode for s in partners}
        self._exact_hosts: dict[str, str] = {}
        self._wild_hosts: list[tuple[str, str]] = []
        for source in partners:
            self._add_partner(source)
            for host in source.model.hosts:
                if host.startswith("*."):
                    self._wild_hosts.append((host[1:], source.name))
                else:
                    self._exact_hosts.setdefault(host, source.name)

    def _add_partner(self, source: PartnerSource) -> None:
        model = source.model
        ctx = BuildContext(self.store, model.partner, self.settings.default_limit,
                           self.settings.dispatch, self.settings.callback_allowed)
        handlers: dict[tuple[int, int], Callable] = {}
        for i, dp in enumerate(model.datapoints):
            known = self.datapoints.get((model.partner, dp.name))
            if known is None or (known.pattern not in PAYLOAD_PATTERNS
                                 and dp.pattern in PAYLOAD_PATTERNS):
                self.datapoints[(model.partner, dp.name)] = dp
            for j, (ep, handler) in enumerate(zip(dp.endpoints, BUILDERS[dp.pattern](ctx, dp),
                                                  strict=True)):
                if ep.validation is not None:
                    handler = validated(ep.validation, handler)
                if ep.rate_limit is not None:
                    key = f"{model.partner}/{dp.name}/{ep.method} {ep.path}"
                    handler = rate_limited(self.store, key, ep.rate_limit, handler)
                handlers[(i, j)] = handler
        for route, loc in route_entries(model):
            target = handlers[(loc[1], loc[3])]
            self.router.add(_targeted(route, target))

    def handle(self, request: RequestView, *, answer_misses: bool) -> Outcome:
        """Answer a request; misses are answered only for partner hosts or direct requests."""
        found = self.router.resolve(request.host, request.method, request.path)
        if isinstance(found, Match):
            return Mocked(found.route, self.call(found, request), found.params)
        if not (answer_misses or found.host_known):
            return PASSTHROUGH
        return Unmatched(found, miss_response(found, request))

    def call(self, match: Match, request: RequestView) -> MockResponse:
        try:
            response = match.route.target(request, match.params)
        except RequestError as exc:
            response = error_response(exc.status, exc.detail, exc.headers or None)
        if request.method == "HEAD" and response.body:
            headers = response.headers + (("content-length", str(len(response.body))),)
            response = MockResponse(response.status, headers, b"", response.step)
        return response

    def host_owner(self, host: str) -> str | None:
        """The partner that names this host in its ``hosts:`` list."""
        owner = self._exact_hosts.get(host)
        if owner is None:
            owner = next((name for suffix, name in self._wild_hosts if host.endswith(suffix)),
                         None)
        return owner

    def hosts(self) -> list[str]:
        """Every host pattern the partners name (for TLS interception)."""
        return sorted({*self._exact_hosts, *("*" + s for s, _ in self._wild_hosts)})

    def payload_datapoint(self, partner: str, datapoint: str) -> Any | None:
        dp = self.datapoints.get((partner, datapoint))
        return dp if dp is not None and dp.pattern in PAYLOAD_PATTERNS else None


def miss_response(miss: Miss, request: RequestView) -> MockResponse:
    closest = [f"{r.label} ({r.owner})" for r in miss.closest]
    if miss.allowed:
        return error_response(405, "Method Not Allowed", {"Allow": ", ".join(miss.allowed)})
    detail = f"No imnot route for {request.method} {request.path}"
    response = error_response(404, detail)
    if closest:
        from ..messages import json_response

        response = json_response(404, {"detail": detail, "closest": closest})
    return response


def _targeted(route: Route, target: Callable) -> Route:
    return Route(route.host, route.method, route.path, route.partner, route.datapoint,
                 route.pattern, route.step, target)
