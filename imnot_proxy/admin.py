"""The admin API as a pure dispatcher: ``RequestView`` in, ``MockResponse`` out.

Routes live in one table and are matched with the same ``Router`` as partner
routes. Views (the JSON shapes) are built here from engine and store records,
never by dumping schema models. The addon serves this at the admin host and
directly on the proxy port; the CLI and mitmproxy commands call the same
``AdminService`` methods.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import __version__
from .engine import Engine
from .errors import RequestError
from .messages import MockResponse, RequestView, encode_json, error_response, json_response
from .routing import ANY_HOST, Match, Route, Router
from .store import SessionRecord, Store

OPEN_PATHS = frozenset({"/healthz"})


@dataclass
class AdminService:
    """Admin actions over the live engine and the store."""

    engine: Callable[[], Engine]
    store: Store
    admin_key: Callable[[], str | None] = lambda: None

    # --- payloads -------------------------------------------------------------

    def _datapoint(self, partner: str, datapoint: str) -> Any:
        dp = self.engine().payload_datapoint(partner, datapoint)
        if dp is None:
            raise RequestError(404, f"No payload datapoint {partner}/{datapoint}")
        return dp

    def set_payload(self, partner: str, datapoint: str, body: bytes,
                    outcome: str | None = None) -> dict:
        self._datapoint(partner, datapoint)
        self.store.put_global(partner, datapoint, parse_payload(body), outcome)
        return {"status": "ok", "partner": partner, "datapoint": datapoint}

    def get_payload(self, partner: str, datapoint: str) -> dict:
        self._datapoint(partner, datapoint)
        payload = self.store.get_global(partner, datapoint)
        if payload is None:
            raise RequestError(404, f"No global payload set for {partner}/{datapoint}")
        view = {"payload": json.loads(payload.body), "updated_at": payload.updated_at}
        if payload.outcome:
            view["outcome"] = payload.outcome
        return view

    def new_session(self, partner: str, datapoint: str, body: bytes,
                    outcome: str | None = None) -> dict:
        self._datapoint(partner, datapoint)
        session_id = self.store.create_session(partner, datapoint, parse_payload(body), outcome)
        return {"session_id": session_id}

    def get_session(self, partner: str, datapoint: str, session_id: str) -> dict:
        record = self.store.get_session(session_id)
        if record is None or (record.partner, record.datapoint) != (partner, datapoint):
            raise RequestError(404, f"Session '{session_id}' not found")
        return {**session_view(record), "payload": json.loads(record.body)}

    def list_sessions(self) -> list[dict]:
        return [session_view(r) for r in self.store.list_sessions()]

    def delete_session(self, session_id: str) -> dict:
        if not self.store.delete_session(session_id):
            raise RequestError(404, "Session not found")
        return {"status": "ok", "session_id": session_id}

    def clear_sessions(self) -> dict:
        return {"status": "ok", "deleted": self.store.clear_sessions()}

    # --- partners -------------------------------------------------------------

    def partners(self) -> list[dict]:
        return [partner_view(source.model) for source in self.engine().partners]


def parse_payload(body: bytes) -> bytes:
    """Validate an uploaded payload and encode it once, compactly (B7: no null)."""
    try:
        value = json.loads(body) if body.strip() else None
    except ValueError:
        raise RequestError(400, "Invalid JSON body") from None
    if value is None:
        raise RequestError(422, "Payload must not be null or empty")
    return encode_json(value)


def session_view(record: SessionRecord) -> dict:
    view = {"session_id": record.session_id, "partner": record.partner,
            "datapoint": record.datapoint, "created_at": record.created_at,
            "last_used": record.last_used}
    if record.outcome:
        view["outcome"] = record.outcome
    return view


def partner_view(model: Any) -> dict:
    datapoints = []
    for dp in model.datapoints:
        callback_cfg = dp.endpoints[0].response if dp.pattern == "callback" else None
        datapoints.append({
            "name": dp.name,
            "description": dp.description,
            "pattern": dp.pattern,
            "endpoints": [
                {"method": ep.method, "path": ep.path, "step": ep.step,
                 "requests_per_minute": ep.rate_limit.requests_per_minute
                 if ep.rate_limit else None}
                for ep in dp.endpoints
            ],
            "callback_delay_seconds": callback_cfg.callback_delay_seconds if callback_cfg else None,
            "callback_url_field": callback_cfg.callback_url_field if callback_cfg else None,
            "callback_url_header": callback_cfg.callback_url_header if callback_cfg else None,
            "pagination": dp.pagination.model_dump(exclude_defaults=True)
            if dp.pattern == "paginated" else None,
        })
    return {"partner": model.partner, "description": model.description,
            "hosts": list(model.hosts), "datapoints": datapoints}


# --- HTTP dispatch -------------------------------------------------------------

Action = Callable[[AdminService, RequestView, dict[str, str]], Any]
ROUTES: list[tuple[str, str, Action]] = []


def route(method: str, path: str) -> Callable[[Action], Action]:
    def register(action: Action) -> Action:
        ROUTES.append((method, path, action))
        return action
    return register


def _outcome(request: RequestView) -> str | None:
    return request.query.get("outcome") or None


@route("GET", "/healthz")
def _healthz(svc, request, params):
    return {"status": "ok", "version": __version__}


@route("GET", "/imnot/admin/partners")
def _partners(svc, request, params):
    return svc.partners()


@route("GET", "/imnot/admin/sessions")
def _sessions(svc, request, params):
    return svc.list_sessions()


@route("DELETE", "/imnot/admin/sessions")
def _sessions_clear(svc, request, params):
    return svc.clear_sessions()


@route("DELETE", "/imnot/admin/sessions/{session_id}")
def _session_delete(svc, request, params):
    return svc.delete_session(params["session_id"])


@route("POST", "/imnot/admin/{partner}/{datapoint}/payload")
def _payload_set(svc, request, params):
    return svc.set_payload(params["partner"], params["datapoint"], request.body, _outcome(request))


@route("GET", "/imnot/admin/{partner}/{datapoint}/payload")
def _payload_get(svc, request, params):
    return svc.get_payload(params["partner"], params["datapoint"])


@route("POST", "/imnot/admin/{partner}/{datapoint}/payload/session")
def _session_new(svc, request, params):
    return svc.new_session(params["partner"], params["datapoint"], request.body,
                           _outcome(request))


@route("GET", "/imnot/admin/{partner}/{datapoint}/payload/session/{session_id}")
def _session_get(svc, request, params):
    return svc.get_session(params["partner"], params["datapoint"], params["session_id"])


class AdminApi:
    """HTTP front of ``AdminService`` with bearer-key auth."""

    def __init__(self, service: AdminService):
        self.service = service
        self.router = Router()
        for method, path, action in ROUTES:
            self.router.add(Route(ANY_HOST, method, path, "imnot", "admin", "admin",
                                  target=action))

    def handle(self, request: RequestView) -> MockResponse:
        found = self.router.resolve("", request.method, request.path)
        if not isinstance(found, Match):
            if found.allowed:
                return error_response(405, "Method Not Allowed")
            return error_response(404, "Not Found")
        if request.path not in OPEN_PATHS and not self._authorized(request):
            return error_response(401, "Unauthorized", {"WWW-Authenticate": "Bearer"})
        try:
            result = found.route.target(self.service, request, found.params)
        except RequestError as exc:
            return error_response(exc.status, exc.detail, exc.headers or None)
        if isinstance(result, MockResponse):
            return result
        return json_response(200, result)

    def _authorized(self, request: RequestView) -> bool:
        key = self.service.admin_key()
        if not key:
            return True
        given = request.headers.get("authorization") or ""
        return hmac.compare_digest(given.encode(), f"Bearer {key}".encode())
