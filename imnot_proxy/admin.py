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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import __version__, registry
from .engine import Engine
from .engine.callback import DeliveryJob
from .errors import RequestError
from .loader import PartnerSource
from .messages import MockResponse, RequestView, encode_json, error_response, json_response
from .routing import ANY_HOST, Match, Route, Router
from .schema import PAYLOAD_PATTERNS
from .store import SessionRecord, Store

OPEN_PATHS = frozenset({"/healthz"})


class Runtime(Protocol):
    """What the admin API needs from the running proxy (the addon implements it)."""

    def current_engine(self) -> Engine: ...
    def reload(self) -> ReloadReport: ...
    def apply(self, partners: list[PartnerSource]) -> ReloadReport: ...
    def partners_dirs(self) -> list[Path]: ...
    def journal(self, limit: int) -> list[dict]: ...
    def dispatch(self, job: Any) -> None: ...
    def admin_key(self) -> str | None: ...
    def last_report(self) -> ReloadReport | None: ...


@dataclass
class ReloadReport:
    ok: bool
    partners: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    at: str = ""

    def view(self) -> dict:
        return {"status": "ok" if self.ok else "error", "partners": self.partners,
                "added": self.added, "removed": self.removed, "problems": self.problems,
                "at": self.at}


def diff_routes(old: Engine | None, new: Engine) -> tuple[list[str], list[str]]:
    def labels(engine: Engine | None) -> set[str]:
        if engine is None:
            return set()
        return {f"{r.host} {r.method} {r.path} ({r.owner})" for r in engine.router.routes}

    before, after = labels(old), labels(new)
    return sorted(after - before), sorted(before - after)


@dataclass
class AdminService:
    """Admin actions over the running proxy and the store."""

    runtime: Runtime
    store: Store

    def engine(self) -> Engine:
        return self.runtime.current_engine()

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

    # --- callbacks --------------------------------------------------------------

    def _callback(self, partner: str, datapoint: str, request_id: str) -> Any:
        dp = self._datapoint(partner, datapoint)
        record = self.store.get_callback(partner, datapoint, request_id) \
            if dp.pattern == "callback" else None
        if record is None:
            raise RequestError(404, f"Unknown request_id: {request_id}")
        return dp, record

    def retrigger(self, partner: str, datapoint: str, request_id: str) -> dict:
        dp, record = self._callback(partner, datapoint, request_id)
        retries = dp.endpoints[0].response.callback_retries
        self.runtime.dispatch(DeliveryJob(self.store, record, retries, 0.0))
        return {"status": "dispatched", "request_id": request_id}

    def callback_log(self, partner: str, datapoint: str, request_id: str) -> dict:
        _, record = self._callback(partner, datapoint, request_id)
        return {"request_id": record.id, "url": record.url, "method": record.method,
                "session_id": record.session_id, "created_at": record.created_at,
                "deliveries": [{"attempt": d.attempt, "at": d.at, "status": d.status,
                                "error": d.error} for d in self.store.deliveries(record.id)]}

    # --- partners and definitions -------------------------------------------------

    def partners(self) -> list[dict]:
        return [partner_view(source.model) for source in self.engine().partners]

    def _partners_dir(self) -> Path:
        dirs = self.runtime.partners_dirs()
        if not dirs:
            raise RequestError(400, "No partners directory configured")
        return dirs[0]

    def register(self, text: str, *, force: bool = False, dry_run: bool = False) -> tuple[int, dict]:
        result, partners = registry.register(text, self._partners_dir(),
                                             list(self.engine().partners), force=force,
                                             dry_run=dry_run)
        report = self.runtime.apply(partners) if not dry_run else None
        model = result.source.model
        base = self._partners_dir().absolute().parent
        file = result.file.absolute()
        shown = file.relative_to(base) if file.is_relative_to(base) else Path(file.name)
        view = {
            "status": "ok", "partner": model.partner, "description": model.description,
            "directory": str(shown.parent), "file": str(shown),
            "created": result.created and not dry_run,
            "dry_run": dry_run,
            "datapoints": [{"name": dp.name, "pattern": dp.pattern,
                            "endpoints": [{"method": ep.method, "path": ep.path}
                                          for ep in dp.endpoints],
                            "admin_routes": dp.pattern in PAYLOAD_PATTERNS}
                           for dp in model.datapoints],
            "routes_added": report.added if report else [],
            "routes_removed": report.removed if report else [],
            "routes_conflicts": [],
            "warnings": result.warnings,
        }
        return (201 if result.created else 200), view

    def delete_partner(self, name: str) -> dict:
        partners = registry.unregister(name, self.runtime.partners_dirs(),
                                       list(self.engine().partners))
        report = self.runtime.apply(partners)
        return {"status": "ok", "partner": name, "routes_removed": report.removed}

    def reload(self) -> tuple[int, dict]:
        report = self.runtime.reload()
        return (200 if report.ok else 422), report.view()

    def status(self) -> dict:
        engine = self.engine()
        return {"version": __version__, "partners": [s.name for s in engine.partners],
                "routes": len(engine.router), "sessions": len(self.store.list_sessions()),
                "last_reload": report.view() if (report := self.runtime.last_report()) else None}


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


@route("GET", "/imnot/admin/status")
def _status(svc, request, params):
    return svc.status()


@route("POST", "/imnot/admin/partners")
def _register(svc, request, params):
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError(400, "Partner file must be UTF-8 YAML") from None
    force = request.query.get("force", "").lower() == "true"
    dry_run = request.query.get("dry_run", "").lower() == "true"
    status, view = svc.register(text, force=force, dry_run=dry_run)
    return json_response(status, view)


@route("DELETE", "/imnot/admin/partners/{name}")
def _delete_partner(svc, request, params):
    return svc.delete_partner(params["name"])


@route("POST", "/imnot/admin/reload")
def _reload(svc, request, params):
    status, view = svc.reload()
    return json_response(status, view)


@route("GET", "/imnot/admin/journal")
def _journal(svc, request, params):
    try:
        limit = max(1, min(1000, int(request.query.get("limit", "100"))))
    except ValueError:
        raise RequestError(400, "limit must be an integer") from None
    return svc.runtime.journal(limit)


@route("GET", "/imnot/admin/postman")
def _postman(svc, request, params):
    from .postman import collection

    return collection([s.model for s in svc.engine().partners],
                      admin_base=f"{request.scheme}://{request.host}"
                      + (f":{request.port}" if request.port not in (80, 443) else ""))


@route("POST", "/imnot/admin/{partner}/{datapoint}/callback/{request_id}/retrigger")
def _retrigger(svc, request, params):
    return svc.retrigger(params["partner"], params["datapoint"], params["request_id"])


@route("GET", "/imnot/admin/{partner}/{datapoint}/callback/{request_id}")
def _callback_log(svc, request, params):
    return svc.callback_log(params["partner"], params["datapoint"], params["request_id"])


class AdminApi:
    """HTTP front of ``AdminService`` with bearer-key auth."""

    def __init__(self, service: AdminService):
        self.service = service
        self.router = Router()
        for method, path, action in ROUTES:
            self.router.add(Route(ANY_HOST, method, path, "imnot", "admin", "admin",
                                  target=action))

    def handle(self, request: RequestView) -> MockResponse:
        # Auth comes first, so that nothing (not even which paths exist) leaks without the key.
        if request.path not in OPEN_PATHS and not self._authorized(request):
            return error_response(401, "Unauthorized", {"WWW-Authenticate": "Bearer"})
        found = self.router.resolve("", request.method, request.path)
        if not isinstance(found, Match):
            if found.allowed:
                return error_response(405, "Method Not Allowed")
            return error_response(404, "Not Found")
        try:
            result = found.route.target(self.service, request, found.params)
        except RequestError as exc:
            return error_response(exc.status, exc.detail, exc.headers or None, exc.extra)
        if isinstance(result, MockResponse):
            return result
        return json_response(200, result)

    def _authorized(self, request: RequestView) -> bool:
        key = self.service.runtime.admin_key()
        if not key:
            return True
        given = request.headers.get("authorization") or ""
        return hmac.compare_digest(given.encode(), f"Bearer {key}".encode())
