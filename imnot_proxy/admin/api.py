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
from ..engine import store_unavailable
from ..errors import RequestError, StoreError
from ..messages import MockResponse, RequestView, error_response, json_response
from ..postman import collection
from ..routing import ANY_HOST, Match, Route, Router
from .service import AdminService
from .ui import UiPages
from .views import check_size, payload_name

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
    """The original's answer while the store answers; 503 ``degraded`` while it does not, so
    that a load balancer sends traffic to replicas that can serve it."""
    problem = svc.store.health()
    if problem is None:
        return {"status": "ok", "version": __version__}
    return json_response(503, {"status": "degraded", "store": problem.store or svc.store.name,
                               "detail": str(problem)}, {"Retry-After": "1"})


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


@route("POST", "/imnot/admin/sessions")
def _session_open(svc, request, params):
    """An empty session for payloads of any datapoint: JSON ``{"session_id": "name"}`` names
    it (else a new id); 201, or 409 when the name is taken."""
    try:
        body = request.json_body() if request.body.strip() else {}
    except ValueError:
        raise RequestError(400, "Invalid JSON body") from None
    if not isinstance(body, dict):
        raise RequestError(422, "Request body must be a JSON object")
    name = body.get("session_id")
    if name is not None and not isinstance(name, str):
        raise RequestError(422, "session_id must be a string")
    return json_response(201, svc.open_session(name))


@route("DELETE", "/imnot/admin/sessions")
def _sessions_clear(svc, request, params):
    return svc.clear_sessions()


@route("DELETE", "/imnot/admin/sessions/{session_id}")
def _session_delete(svc, request, params):
    return svc.delete_session(params["session_id"])


@route("POST", "/imnot/admin/{partner}/{datapoint}/payload")
def _payload_set(svc, request, params):
    return svc.set_payload(params["partner"], params["datapoint"], request.body,
                           _outcome(request), name=payload_name(request.query.get("name")),
                           content_type=request.headers.get("content-type"))


@route("GET", "/imnot/admin/{partner}/{datapoint}/payload")
def _payload_get(svc, request, params):
    payload = svc.get_payload(params["partner"], params["datapoint"],
                              payload_name(request.query.get("name")))
    if request.query.get("raw", "").lower() == "true":  # the stored bytes, as served
        stored = svc.store.get_global(params["partner"], params["datapoint"],
                                      payload.get("name", ""))
        return MockResponse(200, (("content-type", stored.content_type),), stored.body)
    return payload


@route("GET", "/imnot/admin/{partner}/{datapoint}/payloads")
def _payloads(svc, request, params):
    return svc.list_payloads(params["partner"], params["datapoint"])


@route("POST", "/imnot/admin/{partner}/{datapoint}/payload/session")
def _session_new(svc, request, params):
    return svc.new_session(params["partner"], params["datapoint"], request.body,
                           _outcome(request), name=payload_name(request.query.get("name")),
                           content_type=request.headers.get("content-type"),
                           session=request.query.get("session") or None)


@route("GET", "/imnot/admin/{partner}/{datapoint}/payload/session/{session_id}")
def _session_get(svc, request, params):
    return svc.get_session(params["partner"], params["datapoint"], params["session_id"],
                           payload_name(request.query.get("name")))


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
    """Newest first; ``?session=``, ``?partner=`` and ``?kind=`` (comma-separated) filter."""
    kinds = request.query.get("kind")
    return svc.journal_entries(
        _int_param(request, "limit", 100, 1, 1000), session=request.query.get("session"),
        partner=request.query.get("partner"),
        kinds=frozenset(k.strip() for k in kinds.split(",") if k.strip()) if kinds else None)


@route("GET", "/imnot/admin/callbacks")
def _callbacks(svc, request, params):
    """The callbacks of one session (``?session=``, required), with their deliveries."""
    session = request.query.get("session")
    if not session:
        raise RequestError(400, "session is required: /imnot/admin/callbacks?session=<id>")
    return svc.session_callbacks(session)


def _int_param(request: RequestView, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 9:
        raise RequestError(400, f"{name} must be an integer from {low} to {high}")
    return max(low, min(high, int(raw)))


@route("POST", "/imnot/admin/try")
def _try(svc, request, params):
    """The flow tester: one request answered by the serving engine (see ``trial.run``)."""
    return svc.try_request(request.body)


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


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cross_site_refusal(request: RequestView) -> str | None:
    """Why a browser's cross-site change is refused, or None.

    A page on any site, opened in a browser that uses this proxy, can send a form or a
    ``fetch`` to the admin host; without an admin key nothing else would stop it. Browsers
    name the page's origin in ``Origin`` (and say ``Sec-Fetch-Site: cross-site``), so a
    change whose origin is not the host it was sent to is refused. Reads are left alone:
    the browser does not let the other site see the answer. Clients that are not browsers
    send neither header."""
    if request.method in SAFE_METHODS:
        return None
    origin = request.headers.get("origin")
    host = (request.headers.get("host") or request.host).strip().lower()
    if origin is None:
        if (request.headers.get("sec-fetch-site") or "").lower() == "cross-site":
            return f"a cross-site request to {host} cannot change the admin state"
        return None
    _, _, netloc = origin.strip().lower().partition("://")
    if netloc != host:
        return (f"a request from the page at {origin[:200]!r} cannot change the admin state "
                f"of {host}: only pages served by {host} (or clients that send no Origin) can")
    return None


class AdminApi:
    """HTTP front of ``AdminService`` with bearer-key auth."""

    def __init__(self, service: AdminService, ui: UiPages | None = None):
        self.service = service
        self.ui = ui or UiPages()  # the web page: open, like the docs
        self.router = Router()
        for method, path, action in ROUTES:
            self.router.add(Route(host=ANY_HOST, method=method, path=path, partner="imnot",
                                  datapoint="admin", pattern="admin", target=action))

    def handle(self, request: RequestView) -> MockResponse:
        if self.ui.owns(request.path):
            return self.ui.handle(request)
        refusal = cross_site_refusal(request)
        if refusal:
            return error_response(403, refusal)
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
        except StoreError as exc:
            return store_unavailable(exc)
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
