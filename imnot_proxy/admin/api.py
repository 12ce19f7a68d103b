"""The admin API over HTTP: a route table, bearer-key auth, and JSON replies.

A pure dispatcher, ``RequestView`` in, ``MockResponse`` out. Routes are matched
with the same ``Router`` as partner routes; each route calls one ``AdminService``
method. The addon serves this at the admin host and directly on the proxy port.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from .. import __version__
from ..errors import RequestError
from ..messages import MockResponse, RequestView, error_response, json_response
from ..postman import collection
from ..routing import ANY_HOST, Match, Route, Router
from .service import AdminService
from .views import check_size

OPEN_PATHS = frozenset({"/healthz", "/imnot/docs", "/imnot/docs/partners"})  # no key needed
SESSIONS_PAGE = 100
TEXT_TYPE = "text/plain; charset=utf-8"

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


@route("GET", "/imnot/docs")
def _docs(svc, request, params):
    """This README as plain text, as the original serves its own (no key needed)."""
    return reference("README.md")


@route("GET", "/imnot/docs/partners")
def _docs_partners(svc, request, params):
    """The partner file reference as plain text (no key needed)."""
    return reference("partners.md")


def reference(name: str) -> MockResponse:
    try:
        text = (resources.files("imnot_proxy") / "reference" / name).read_bytes()
    except OSError:
        return MockResponse(404, (("content-type", TEXT_TYPE),), f"{name} not found.".encode())
    return MockResponse(200, (("content-type", TEXT_TYPE),), text)


@route("GET", "/imnot/admin/partners")
def _partners(svc, request, params):
    return svc.partners()


@route("GET", "/imnot/admin/sessions")
def _sessions(svc, request, params):
    """A JSON list, newest first, a page at a time: ``?limit=`` (default 100, at most 1000)
    and ``?after=<session id>``; ``Link: <...>; rel="next"`` names the next page and
    ``X-Total-Count`` the number of sessions."""
    limit = _int_param(request, "limit", SESSIONS_PAGE, 1, 1000)
    after = request.query.get("after") or None
    page = svc.list_sessions(limit, after)
    headers = {"X-Total-Count": str(svc.count_sessions())}
    if len(page) == limit:
        query = urlencode({"limit": limit, "after": page[-1]["session_id"]})
        headers["Link"] = f'</imnot/admin/sessions?{query}>; rel="next"'
    return json_response(200, page, headers)


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
    check_size(request.body, svc.definitions.limits.max_bytes, "partner file",
               "imnot_max_partner_bytes")
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = request.body[:exc.start].count(b"\n") + 1
        raise RequestError(400, f"Partner file must be UTF-8 YAML: byte "
                                f"0x{request.body[exc.start]:02x} at offset {exc.start} "
                                f"(line {line})") from None
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
    return svc.journal_entries(_int_param(request, "limit", 100, 1, 1000))


def _int_param(request: RequestView, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 9:
        raise RequestError(400, f"{name} must be an integer from {low} to {high}")
    return max(low, min(high, int(raw)))


@route("GET", "/imnot/admin/postman")
def _postman(svc, request, params):
    return collection([s.model for s in svc.engine().partners],
                      admin_base=f"{request.scheme}://{request.host}"
                      + (f":{request.port}" if request.port not in (80, 443) else ""))


@route("POST", "/imnot/admin/faults")
def _fault_add(svc, request, params):
    """Add a fault (JSON: kind, partner, datapoint, endpoint, session, when, expires_in, and
    the kind's parameters); 201 with the stored fault and its ``id``."""
    return json_response(201, svc.faults.add(request.body))


@route("GET", "/imnot/admin/faults")
def _fault_list(svc, request, params):
    return svc.faults.list(request.query.get("session") or None)


@route("DELETE", "/imnot/admin/faults")
def _fault_clear(svc, request, params):
    return svc.faults.clear(request.query.get("session") or None)


@route("DELETE", "/imnot/admin/faults/{fault_id}")
def _fault_delete(svc, request, params):
    return svc.faults.delete(params["fault_id"])


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
            self.router.add(Route(host=ANY_HOST, method=method, path=path, partner="imnot",
                                  datapoint="admin", pattern="admin", target=action))

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
        """``Authorization: Bearer <key>``: the scheme in any case (RFC 7235), the key
        exact and compared in constant time; header bytes that are not UTF-8 never match."""
        key = self.service.admin_key()
        if not key:
            return True
        scheme, _, token = (request.headers.get("authorization") or "").strip().partition(" ")
        given = token.strip().encode("utf-8", "surrogateescape")
        expected = key.encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, expected) and scheme.lower() == "bearer"
