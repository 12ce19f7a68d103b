"""The admin API through a real mitmdump, reached both ways a client can reach it.

Every test that takes ``admin`` runs twice: through the proxy at the virtual host
``http://imnot.proxy`` and straight to the proxy port. The proxy has an admin key,
so the key is sent unless a test is about leaving it out. Status codes and bodies
are the original's (imnot-behaviour §5.2–5.6) except where we fix its bugs: bad
YAML is a 422, a conflicting partner is refused before anything is written, and
replacing or deleting a partner changes its routes in the same call.
"""

from __future__ import annotations

import datetime
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from imnot_proxy import __version__
from imnot_proxy.admin import ROUTES

from .conftest import Body, Imnot, StartImnot
from .harness import CallbackReceiver, Reply, wait_until

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

# Warnings are errors; a socket closed late by the interpreter (unraisable) is not.
pytestmark = pytest.mark.filterwarnings("error", "ignore::pytest.PytestUnraisableExceptionWarning")

DATA = Path(__file__).resolve().parents[1] / "data" / "admin"
KEY = f"admin-{uuid.uuid4().hex}"
BEARER = f"Bearer {KEY}"
ADMIN_HOST = "http://imnot.proxy"
ADMINCO = "http://api.adminco.example"
NEWCO = "http://api.newco.example"
VIAS = ("proxy", "direct")

BAD_AUTH = {
    "missing": None,
    "wrong-key": "Bearer not-the-key",
    "longer-key": f"Bearer {KEY}x",
    "bare-key": KEY,
    "scheme-only": "Bearer",
    "basic": f"Basic {KEY}",
}

# Every admin route (the original's plus ours); a new route must be added here.
GATED = [
    ("GET", "/imnot/admin/partners"),
    ("GET", "/imnot/admin/sessions"),
    ("POST", "/imnot/admin/sessions"),
    ("DELETE", "/imnot/admin/sessions"),
    ("DELETE", "/imnot/admin/sessions/{session_id}"),
    ("POST", "/imnot/admin/{partner}/{datapoint}/payload"),
    ("GET", "/imnot/admin/{partner}/{datapoint}/payload"),
    ("GET", "/imnot/admin/{partner}/{datapoint}/payloads"),
    ("POST", "/imnot/admin/{partner}/{datapoint}/payload/session"),
    ("GET", "/imnot/admin/{partner}/{datapoint}/payload/session/{session_id}"),
    ("GET", "/imnot/admin/status"),
    ("POST", "/imnot/admin/partners"),
    ("DELETE", "/imnot/admin/partners/{name}"),
    ("POST", "/imnot/admin/reload"),
    ("GET", "/imnot/admin/journal"),
    ("GET", "/imnot/admin/callbacks"),
    ("POST", "/imnot/admin/try"),
    ("GET", "/imnot/admin/postman"),
    ("POST", "/imnot/admin/{partner}/{datapoint}/callback/{request_id}/retrigger"),
    ("GET", "/imnot/admin/{partner}/{datapoint}/callback/{request_id}"),
    ("POST", "/imnot/admin/faults"),
    ("GET", "/imnot/admin/faults"),
    ("DELETE", "/imnot/admin/faults"),
    ("DELETE", "/imnot/admin/faults/{fault_id}"),
]
OPEN = [("GET", "/healthz"), ("GET", "/imnot/docs"), ("GET", "/imnot/docs/partners")]


class Admin:
    """Admin calls over one of the two ways in, with the key unless told otherwise."""

    def __init__(self, imnot: Imnot, via: str) -> None:
        self.imnot = imnot
        self.via = via

    def call(self, method: str, path: str, body: Body = None, *,
             auth: str | None = BEARER, headers: dict[str, str] | None = None) -> Reply:
        sent = dict(headers or {})
        if auth is not None:
            sent["Authorization"] = auth
        if self.via == "proxy":
            return self.imnot.request(method, ADMIN_HOST + path, body, headers=sent)
        return self.imnot.direct(method, path, body, headers=sent)

    def ok(self, method: str, path: str, body: Body = None, status: int = 200) -> Any:
        reply = self.call(method, path, body)
        assert reply.status == status, f"{method} {path}: {reply.status} {reply.text}"
        assert reply.headers["Content-Type"] == "application/json"
        return reply.json()

    @property
    def base(self) -> str:
        """The admin base URL as this client sees it."""
        return ADMIN_HOST if self.via == "proxy" else self.imnot.url


def concrete(template: str) -> str:
    return (template.replace("{partner}", "adminco").replace("{datapoint}", "export")
            .replace("{session_id}", str(uuid.uuid4())).replace("{request_id}", "r-1")
            .replace("{name}", "newco"))


def iso_utc(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == datetime.timedelta(0), value
    return parsed


@pytest.fixture(scope="module")
def partners_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private partners directory: registration writes into it."""
    target = tmp_path_factory.mktemp("admin-partners") / "partners"
    shutil.copytree(DATA / "partners", target)
    return target


@pytest.fixture(scope="module")
def imnot(start_imnot: StartImnot, partners_dir: Path) -> Imnot:
    return start_imnot(partners_dir, name="admin", imnot_admin_key=KEY)


@pytest.fixture(params=VIAS)
def admin(request: pytest.FixtureRequest, imnot: Imnot) -> Admin:
    return Admin(imnot, request.param)


@pytest.fixture
def newco_cleanup(imnot: Imnot, partners_dir: Path) -> Iterator[None]:
    """Leave no registered newco behind, whatever the test did."""
    yield
    Admin(imnot, "direct").call("DELETE", "/imnot/admin/partners/newco")
    assert not (partners_dir / "newco").exists()


def newco_text(replace: dict[str, str] | None = None) -> str:
    """The newco fixture, with each key of ``replace`` replaced by its value."""
    text = (DATA / "newco.yaml").read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    return text


# --------------------------------------------------------------------------- auth


def test_gated_table_covers_every_admin_route() -> None:
    assert sorted(GATED + OPEN) == sorted((method, path) for method, path, _ in ROUTES)


@pytest.mark.parametrize("method,template", GATED, ids=[f"{m} {p}" for m, p in GATED])
@pytest.mark.parametrize("via", VIAS)
def test_every_admin_route_needs_the_key(imnot: Imnot, via: str, method: str,
                                         template: str) -> None:
    client = Admin(imnot, via)
    path = concrete(template)
    for name, auth in BAD_AUTH.items():
        reply = client.call(method, path, b"{}", auth=auth)
        assert reply.status == 401, f"{name}: {reply.status} {reply.text}"
        assert reply.json() == {"detail": "Unauthorized"}, name
        assert reply.headers["WWW-Authenticate"] == "Bearer", name
    authorized = client.call(method, path, b"{}")
    assert authorized.status != 401, authorized.text


def test_admin_over_https_at_the_virtual_host(imnot: Imnot) -> None:
    url = "https://imnot.proxy/imnot/admin/status"
    refused = imnot.request("GET", url)
    assert (refused.status, refused.json()) == (401, {"detail": "Unauthorized"})
    allowed = imnot.request("GET", url, headers={"Authorization": BEARER})
    assert allowed.status == 200
    assert allowed.json()["partners"] == ["adminco"]
    assert imnot.request("GET", "https://imnot.proxy/healthz").status == 200


def test_healthz_is_always_open(admin: Admin) -> None:
    for auth in (None, "Bearer wrong", BEARER):
        reply = admin.call("GET", "/healthz", auth=auth)
        assert reply.status == 200
        assert reply.json() == {"status": "ok", "version": __version__}


def test_partner_routes_are_never_gated(imnot: Imnot) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        proxied = imnot.request("GET", f"{ADMINCO}/adminco/greeting", headers=headers)
        direct = imnot.direct("GET", "/adminco/greeting", headers=headers)
        for reply in (proxied, direct):
            assert (reply.status, reply.json()) == (200, {"hello": "adminco"})


def test_refused_calls_change_nothing(imnot: Imnot, partners_dir: Path) -> None:
    admin = Admin(imnot, "direct")
    admin.ok("POST", "/imnot/admin/adminco/orders/payload", {"kept": True})
    session = admin.ok("POST", "/imnot/admin/adminco/orders/payload/session", {"s": 1})
    before = admin.ok("GET", "/imnot/admin/partners")
    attempts = [
        ("POST", "/imnot/admin/adminco/orders/payload", {"kept": False}),
        ("DELETE", "/imnot/admin/sessions", None),
        ("DELETE", f"/imnot/admin/sessions/{session['session_id']}", None),
        ("POST", "/imnot/admin/partners?force=true", newco_text()),
        ("DELETE", "/imnot/admin/partners/adminco", None),
        ("POST", "/imnot/admin/reload", None),
    ]
    for via in VIAS:
        for method, path, body in attempts:
            assert Admin(imnot, via).call(method, path, body, auth=None).status == 401
    assert admin.ok("GET", "/imnot/admin/adminco/orders/payload")["payload"] == {"kept": True}
    listed = [s["session_id"] for s in admin.ok("GET", "/imnot/admin/sessions")]
    assert session["session_id"] in listed
    assert admin.ok("GET", "/imnot/admin/partners") == before
    assert sorted(p.name for p in partners_dir.iterdir()) == ["adminco"]
    assert imnot.request("GET", f"{ADMINCO}/adminco/greeting").status == 200


def test_unknown_admin_path_without_key_is_401(admin: Admin) -> None:
    for method, path in (("GET", "/imnot/admin/nothing-here"), ("PUT", "/imnot/admin/status")):
        reply = admin.call(method, path, auth=None)
        assert reply.status == 401, f"{method} {path}: {reply.status}"


def test_unknown_admin_path_and_wrong_method(admin: Admin) -> None:
    missing = admin.call("GET", "/imnot/admin/nothing-here")
    assert (missing.status, missing.json()) == (404, {"detail": "Not Found"})
    wrong = admin.call("PUT", "/imnot/admin/status")
    assert (wrong.status, wrong.json()) == (405, {"detail": "Method Not Allowed"})


# --------------------------------------------------------------------------- payloads


def test_global_payload_404_before_upload(admin: Admin) -> None:
    reply = admin.call("GET", "/imnot/admin/adminco/notes/payload")
    assert (reply.status, reply.json()) == (
        404, {"detail": "No global payload set for adminco/notes"})


def test_global_payload_set_get_and_served(admin: Admin, imnot: Imnot) -> None:
    payload = {"orders": [{"id": 1}], "via": admin.via}
    assert admin.ok("POST", "/imnot/admin/adminco/orders/payload", payload) == {
        "status": "ok", "partner": "adminco", "datapoint": "orders"}
    got = admin.ok("GET", "/imnot/admin/adminco/orders/payload")
    assert set(got) == {"payload", "updated_at"}
    assert got["payload"] == payload
    iso_utc(got["updated_at"])
    for reply in (imnot.request("GET", f"{ADMINCO}/adminco/orders"),
                  imnot.direct("GET", "/adminco/orders")):
        assert (reply.status, reply.json()) == (200, payload)


def test_a_text_payload_is_kept_as_text(admin: Admin, imnot) -> None:
    reply = admin.call("POST", "/imnot/admin/adminco/orders/payload", b'{"as": "text"}',
                       headers={"Content-Type": "text/plain"})
    assert reply.status == 200, reply.text
    view = admin.ok("GET", "/imnot/admin/adminco/orders/payload")
    assert (view["payload"], view["content_type"]) == ('{"as": "text"}', "text/plain")
    served = imnot.request("GET", f"{ADMINCO}/adminco/orders")
    assert (served.body, served.headers["Content-Type"]) == (b'{"as": "text"}', "text/plain")


@pytest.mark.parametrize("suffix", ["payload", "payload/session"])
def test_invalid_json_payload_is_400(admin: Admin, suffix: str) -> None:
    reply = admin.call("POST", f"/imnot/admin/adminco/orders/{suffix}", b"{not json")
    assert (reply.status, reply.json()["detail"]) == (400, "Invalid JSON body")  # imnot's words
    assert reply.json()["problem"] == (
        "Expecting property name enclosed in double quotes at line 1, column 2")


@pytest.mark.parametrize("suffix", ["payload", "payload/session"])
def test_null_or_empty_payload_is_refused(admin: Admin, suffix: str) -> None:
    """B7: the original stored null and then answered 404 to consumers."""
    for body in (b"null", b"", b"  "):
        reply = admin.call("POST", f"/imnot/admin/adminco/notes/{suffix}", body)
        assert reply.status == 422, f"{body!r}: {reply.text}"
    assert admin.call("GET", "/imnot/admin/adminco/notes/payload").status == 404


@pytest.mark.parametrize("target", ["adminco/greeting", "adminco/nothing", "nobody/orders"])
def test_no_payload_routes_for_static_or_unknown_datapoints(admin: Admin, target: str) -> None:
    for method, suffix in (("POST", "payload"), ("GET", "payload"),
                           ("POST", "payload/session")):
        reply = admin.call(method, f"/imnot/admin/{target}/{suffix}", {"x": 1})
        assert reply.status == 404, f"{method} {suffix}: {reply.text}"


def test_session_payload_is_isolated_and_readable(admin: Admin, imnot: Imnot) -> None:
    admin.ok("POST", "/imnot/admin/adminco/orders/payload", {"scope": "global"})
    first = admin.ok("POST", "/imnot/admin/adminco/orders/payload/session", {"scope": "s1"})
    second = admin.ok("POST", "/imnot/admin/adminco/orders/payload/session", {"scope": "s1"})
    assert set(first) == {"session_id"}
    assert uuid.UUID(first["session_id"]).version == 4
    assert first["session_id"] != second["session_id"], "each upload makes a new session"

    sid = first["session_id"]
    got = admin.ok("GET", f"/imnot/admin/adminco/orders/payload/session/{sid}")
    assert {k: got[k] for k in ("session_id", "partner", "datapoint", "payload")} == {
        "session_id": sid, "partner": "adminco", "datapoint": "orders",
        "payload": {"scope": "s1"}}
    iso_utc(got["created_at"])

    served = imnot.request("GET", f"{ADMINCO}/adminco/orders", session=sid)
    assert (served.status, served.json()) == (200, {"scope": "s1"})
    plain = imnot.request("GET", f"{ADMINCO}/adminco/orders")
    assert plain.json() == {"scope": "global"}

    # B6: a session is read through its own datapoint's route only.
    elsewhere = admin.call("GET", f"/imnot/admin/adminco/export/payload/session/{sid}")
    assert (elsewhere.status, elsewhere.json()) == (404, {"detail": f"Session '{sid}' not found"})

    unknown = str(uuid.uuid4())
    reply = admin.call("GET", f"/imnot/admin/adminco/orders/payload/session/{unknown}")
    assert (reply.status, reply.json()) == (404, {"detail": f"Session '{unknown}' not found"})


# --------------------------------------------------------------------------- sessions


def test_sessions_list_delete_clear(admin: Admin, imnot: Imnot) -> None:
    older = admin.ok("POST", "/imnot/admin/adminco/orders/payload/session", {"n": 1})
    newer = admin.ok("POST", "/imnot/admin/adminco/orders/payload/session", {"n": 2})
    listed = admin.ok("GET", "/imnot/admin/sessions")
    ids = [row["session_id"] for row in listed]
    assert ids.index(newer["session_id"]) < ids.index(older["session_id"]), "newest first"
    row = next(r for r in listed if r["session_id"] == newer["session_id"])
    assert {k: row[k] for k in ("partner", "datapoint", "last_used")} == {
        "partner": "adminco", "datapoint": "orders", "last_used": None}
    iso_utc(row["created_at"])

    assert imnot.request("GET", f"{ADMINCO}/adminco/orders",
                         session=newer["session_id"]).status == 200
    used = {r["session_id"]: r for r in admin.ok("GET", "/imnot/admin/sessions")}
    iso_utc(used[newer["session_id"]]["last_used"])

    path = f"/imnot/admin/sessions/{older['session_id']}"
    assert admin.ok("DELETE", path) == {"status": "ok", "session_id": older["session_id"]}
    again = admin.call("DELETE", path)
    assert (again.status, again.json()) == (404, {"detail": "Session not found"})
    gone = imnot.request("GET", f"{ADMINCO}/adminco/orders", session=older["session_id"])
    assert gone.status == 404

    remaining = len(admin.ok("GET", "/imnot/admin/sessions"))
    assert remaining >= 1
    assert admin.ok("DELETE", "/imnot/admin/sessions") == {"status": "ok", "deleted": remaining}
    assert admin.ok("GET", "/imnot/admin/sessions") == []


# --------------------------------------------------------------------------- partners


def test_partners_list_shape(admin: Admin) -> None:
    listed = admin.ok("GET", "/imnot/admin/partners")
    assert [p["partner"] for p in listed] == ["adminco"]
    adminco = listed[0]
    assert adminco["description"] == "Admin API end-to-end fixture"
    by_name = {dp["name"]: dp for dp in adminco["datapoints"]}
    assert list(by_name) == ["greeting", "orders", "notes", "export"]
    for dp in by_name.values():
        assert {"name", "pattern", "endpoints", "callback_delay_seconds", "callback_url_field",
                "callback_url_header", "pagination"} <= set(dp)
    assert by_name["greeting"]["endpoints"] == [
        {"method": "GET", "path": "/adminco/greeting", "step": None,
         "requests_per_minute": None}]
    assert by_name["orders"]["callback_delay_seconds"] is None
    assert by_name["export"]["callback_delay_seconds"] == 0
    assert by_name["export"]["callback_url_field"] == "callbackUrl"
    assert by_name["export"]["pagination"] is None


def test_register_is_live_at_once_then_delete_removes_it(
        admin: Admin, imnot: Imnot, partners_dir: Path, newco_cleanup: None) -> None:
    assert imnot.direct("GET", "/newco/ping").status == 404

    created = admin.ok("POST", "/imnot/admin/partners", newco_text(), status=201)
    assert {k: created[k] for k in ("status", "partner", "description", "created")} == {
        "status": "ok", "partner": "newco", "description": "Registered at runtime",
        "created": True}
    assert created["datapoints"] == [
        {"name": "ping", "pattern": "static",
         "endpoints": [{"method": "GET", "path": "/newco/ping"}], "admin_routes": False},
        {"name": "items", "pattern": "fetch",
         "endpoints": [{"method": "GET", "path": "/newco/items"}], "admin_routes": True},
    ]
    assert any("/newco/ping" in r for r in created["routes_added"])
    assert created["routes_conflicts"] == []
    written = partners_dir / "newco" / "partner.yaml"
    assert written.read_text(encoding="utf-8") == newco_text()
    assert Path(created["file"]).name == "partner.yaml"

    for reply in (imnot.request("GET", f"{NEWCO}/newco/ping"),
                  imnot.direct("GET", "/newco/ping")):
        assert (reply.status, reply.json()) == (200, {"pong": 1})
    admin.ok("POST", "/imnot/admin/newco/items/payload", ["a"])
    assert imnot.request("GET", f"{NEWCO}/newco/items").json() == ["a"]
    assert "newco" in [p["partner"] for p in admin.ok("GET", "/imnot/admin/partners")]

    deleted = admin.ok("DELETE", "/imnot/admin/partners/newco")
    assert deleted == {"status": "ok", "partner": "newco"}  # the original's answer
    assert not (partners_dir / "newco").exists()
    for path in ("/newco/ping", "/newco/items"):
        assert imnot.direct("GET", path).status == 404
    last = admin.ok("GET", "/imnot/admin/status")["last_reload"]
    assert sorted(last["routes_removed"]) == sorted(created["routes_added"])
    assert admin.call("GET", "/imnot/admin/newco/items/payload").status == 404
    assert [p["partner"] for p in admin.ok("GET", "/imnot/admin/partners")] == ["adminco"]

    again = admin.call("DELETE", "/imnot/admin/partners/newco")
    assert (again.status, again.json()) == (404, {"detail": "Partner 'newco' not found"})


def test_register_body_names_directory_and_file_like_the_original(
        imnot: Imnot, partners_dir: Path, newco_cleanup: None) -> None:
    created = Admin(imnot, "direct").ok("POST", "/imnot/admin/partners", newco_text(),
                                        status=201)
    assert created["directory"] == f"{partners_dir.name}/newco"
    assert created["file"] == f"{partners_dir.name}/newco/partner.yaml"


def test_existing_partner_409_then_force_replaces_routes_at_once(
        admin: Admin, imnot: Imnot, partners_dir: Path, newco_cleanup: None) -> None:
    admin.ok("POST", "/imnot/admin/partners", newco_text(), status=201)

    replacement = newco_text({"/newco/ping": "/newco/pong", "pong: 1": "pong: 2"})
    refused = admin.call("POST", "/imnot/admin/partners", replacement)
    assert refused.status == 409
    assert "already exists" in refused.json()["detail"]
    assert (partners_dir / "newco" / "partner.yaml").read_text("utf-8") == newco_text()
    assert imnot.request("GET", f"{NEWCO}/newco/ping").json() == {"pong": 1}

    replaced = admin.ok("POST", "/imnot/admin/partners?force=TRUE", replacement)
    assert (replaced["status"], replaced["created"]) == ("ok", False)
    assert (partners_dir / "newco" / "partner.yaml").read_text("utf-8") == replacement
    old = imnot.request("GET", f"{NEWCO}/newco/ping")
    assert old.status == 404, "the replaced route must stop answering in the same call"
    new = imnot.request("GET", f"{NEWCO}/newco/pong")
    assert (new.status, new.json()) == (200, {"pong": 2})

    # B3: changing a datapoint's pattern replaces its handler too.
    admin.ok("POST", "/imnot/admin/newco/items/payload", {"fetched": True})
    assert imnot.request("GET", f"{NEWCO}/newco/items").json() == {"fetched": True}
    static_items = replacement.replace(
        "    pattern: fetch\n", "    pattern: static\n").replace(
        "          status: 200\n", "          status: 200\n          body: {static: items}\n")
    admin.ok("POST", "/imnot/admin/partners?force=true", static_items)
    items = imnot.request("GET", f"{NEWCO}/newco/items")
    assert (items.status, items.json()) == (200, {"static": "items"})
    assert admin.call("GET", "/imnot/admin/newco/items/payload").status == 404


def test_refused_registration_body_says_error_like_the_original(
        imnot: Imnot, newco_cleanup: None) -> None:
    admin = Admin(imnot, "direct")
    admin.ok("POST", "/imnot/admin/partners", newco_text(), status=201)
    conflict = admin.call("POST", "/imnot/admin/partners", newco_text())
    invalid = admin.call("POST", "/imnot/admin/partners", "partner: [")
    assert (conflict.status, invalid.status) == (409, 422)
    assert conflict.json()["status"] == invalid.json()["status"] == "error"


def test_conflicting_partner_is_422_and_nothing_is_written(
        admin: Admin, imnot: Imnot, partners_dir: Path) -> None:
    before = admin.ok("GET", "/imnot/admin/partners")
    reply = admin.call("POST", "/imnot/admin/partners?force=true",
                       (DATA / "clash.yaml").read_text(encoding="utf-8"))
    assert reply.status == 422, reply.text
    detail = reply.json()["detail"]
    assert any("route conflict" in line and "adminco/greeting" in line for line in detail)
    assert sorted(p.name for p in partners_dir.iterdir()) == ["adminco"]
    assert admin.ok("GET", "/imnot/admin/partners") == before
    served = imnot.request("GET", f"{ADMINCO}/adminco/greeting")
    assert served.json() == {"hello": "adminco"}


POLLING_WITHOUT_ID_DELIVERY = """\
partner: newco
datapoints:
  - name: job
    pattern: polling
    endpoints:
      - step: 1
        method: POST
        path: /newco/jobs
        response:
          generates_id: true
"""
CALLBACK_WITH_TWO_URLS = """\
partner: newco
datapoints:
  - name: notify
    pattern: callback
    endpoints:
      - method: POST
        path: /newco/notify
        response:
          callback_url_field: callbackUrl
          callback_url_header: X-Callback-Url
"""
INVALID_FILES = {
    "bad-syntax": "partner: x\ndatapoints:\n  - name: a\n   pattern: [\n",
    "top-level-list": "- partner: alist\n- datapoints: []\n",
    "scalar": "just a string\n",
    "empty": "",
    "datapoints-mapping": "partner: x\ndatapoints:\n  name: a\n  pattern: static\n",
    "unknown-pattern": newco_text({"pattern: static": "pattern: statik"}),
    # B2: the original wrote these and failed only when it registered the routes.
    "polling-id-header": POLLING_WITHOUT_ID_DELIVERY,
    "callback-both-urls": CALLBACK_WITH_TWO_URLS,
}


@pytest.mark.parametrize("kind", INVALID_FILES)
def test_invalid_partner_file_is_422_not_500(admin: Admin, partners_dir: Path,
                                             kind: str) -> None:
    reply = admin.call("POST", "/imnot/admin/partners?force=true", INVALID_FILES[kind])
    assert reply.status == 422, reply.text
    detail = reply.json()["detail"]
    assert detail and all(line.startswith("<request body>") for line in detail), detail
    assert sorted(p.name for p in partners_dir.iterdir()) == ["adminco"]


def test_non_utf8_partner_file_is_400(admin: Admin, partners_dir: Path) -> None:
    reply = admin.call("POST", "/imnot/admin/partners", b"partner: \xff\xfe\n")
    assert reply.status == 400, reply.text
    assert sorted(p.name for p in partners_dir.iterdir()) == ["adminco"]


BAD_NAMES = ["../evil", "..", "a.b", "a b", "a/b", "x" * 65, "ünïcode"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_register_rejects_names_outside_the_pattern(admin: Admin, partners_dir: Path,
                                                     name: str) -> None:
    text = newco_text({"partner: newco": f"partner: '{name}'"})
    reply = admin.call("POST", "/imnot/admin/partners?force=true", text)
    assert reply.status == 400, reply.text
    assert "Invalid partner name" in reply.json()["detail"]
    assert sorted(p.name for p in partners_dir.iterdir()) == ["adminco"]
    assert sorted(p.name for p in partners_dir.parent.iterdir()) == ["partners"]


@pytest.mark.parametrize("name", ["..", ".", "%2e%2e", "a.b", "a%20b", "x" * 65,
                                  "..%2Fadminco", "%2e%2e%2fpartners"])
def test_delete_rejects_names_outside_the_pattern(admin: Admin, imnot: Imnot,
                                                  partners_dir: Path, name: str) -> None:
    reply = admin.call("DELETE", f"/imnot/admin/partners/{name}")
    assert reply.status in (400, 404), reply.text
    if reply.status == 400:
        assert "Invalid partner name" in reply.json()["detail"]
    assert (partners_dir / "adminco" / "partner.yaml").is_file()
    assert imnot.request("GET", f"{ADMINCO}/adminco/greeting").status == 200


def test_register_never_writes_through_a_symlinked_partner_directory(
        admin: Admin, imnot: Imnot, partners_dir: Path) -> None:
    outside = partners_dir.parent / f"outside-{admin.via}"
    outside.mkdir()
    link = partners_dir / "newco"
    link.symlink_to(outside, target_is_directory=True)
    try:
        reply = admin.call("POST", "/imnot/admin/partners?force=true", newco_text())
        assert reply.status == 400, reply.text
        assert list(outside.iterdir()) == []
        assert imnot.direct("GET", "/newco/ping").status == 404
    finally:
        link.unlink()
        outside.rmdir()


def test_delete_refuses_a_directory_with_symlinks(
        admin: Admin, imnot: Imnot, partners_dir: Path, newco_cleanup: None) -> None:
    admin.ok("POST", "/imnot/admin/partners", newco_text(), status=201)
    outside = partners_dir.parent / f"outside-{admin.via}.txt"
    outside.write_text("keep me", encoding="utf-8")
    link = partners_dir / "newco" / "escape.txt"
    link.symlink_to(outside)
    try:
        reply = admin.call("DELETE", "/imnot/admin/partners/newco")
        assert reply.status == 400, reply.text
        assert "symlink" in reply.json()["detail"]
        assert outside.read_text(encoding="utf-8") == "keep me"
        assert imnot.request("GET", f"{NEWCO}/newco/ping").status == 200
    finally:
        link.unlink()
        outside.unlink()


# --------------------------------------------------------------------------- operations


def test_reload_status_journal(admin: Admin, imnot: Imnot) -> None:
    reloaded = admin.ok("POST", "/imnot/admin/reload")
    assert {k: reloaded[k] for k in ("status", "partners", "problems")} == {
        "status": "ok", "partners": ["adminco"], "problems": []}

    status = admin.ok("GET", "/imnot/admin/status")
    assert (status["version"], status["partners"]) == (__version__, ["adminco"])
    assert status["routes"] >= 4
    assert isinstance(status["sessions"], int)
    assert status["last_reload"]["status"] == "ok"
    assert status["last_reload"]["at"] == reloaded["at"]

    marker = uuid.uuid4().hex
    imnot.request("GET", f"{ADMINCO}/adminco/greeting?m={marker}")
    journal = admin.ok("GET", "/imnot/admin/journal?limit=1")
    assert len(journal) == 1
    entry = journal[0]
    assert marker in entry["url"]
    assert {k: entry[k] for k in ("kind", "method", "status", "partner", "datapoint")} == {
        "kind": "mock", "method": "GET", "status": 200, "partner": "adminco",
        "datapoint": "greeting"}
    assert len(admin.ok("GET", "/imnot/admin/journal?limit=3")) == 3
    bad = admin.call("GET", "/imnot/admin/journal?limit=many")
    assert (bad.status, bad.json()) == (400, {"detail": "limit must be an integer from 1 to 1000"})


@pytest.fixture(scope="module")
def postman(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Validator:
    """The Postman collection v2.1 validator of the unit tests (schema fetched once, cached)."""
    from unit.test_postman_schema import postman_validator, schema_cache

    return postman_validator(schema_cache(pytestconfig, tmp_path_factory))


def test_postman_collection_is_valid_v21(admin: Admin, postman: Validator) -> None:
    from unit.test_postman_schema import schema_errors

    document = admin.ok("GET", "/imnot/admin/postman")
    assert schema_errors(postman, document) == []
    variables = {v["key"]: v["value"] for v in document["variable"]}
    assert variables["adminBase"] == admin.base
    assert [folder["name"] for folder in document["item"]] == ["adminco"]


# --------------------------------------------------------------------------- callbacks


def test_retrigger_and_callback_log(admin: Admin, imnot: Imnot,
                                    receiver: CallbackReceiver) -> None:
    payload = {"export": admin.via}
    admin.ok("POST", "/imnot/admin/adminco/export/payload", payload)
    accepted = imnot.request("POST", f"{ADMINCO}/adminco/exports",
                             {"callbackUrl": f"{receiver.url}/hook"})
    assert accepted.status == 202, accepted.text
    request_id = accepted.json()["request_id"]
    receiver.wait_for_requests(1)
    log_path = f"/imnot/admin/adminco/export/callback/{request_id}"

    def deliveries(n: int) -> list[dict[str, Any]] | None:
        found = admin.ok("GET", log_path)["deliveries"]
        return found if len(found) >= n else None

    first = wait_until(lambda: deliveries(1), timeout=10, message="first delivery not logged")
    assert [(d["attempt"], d["status"]) for d in first] == [(1, 200)]
    log = admin.ok("GET", log_path)
    assert (log["request_id"], log["url"], log["method"]) == (
        request_id, f"{receiver.url}/hook", "POST")

    retriggered = admin.ok("POST", f"{log_path}/retrigger")
    assert retriggered == {"status": "dispatched", "request_id": request_id}
    received = receiver.wait_for_requests(2)
    assert [r.json() for r in received] == [payload, payload]
    both = wait_until(lambda: deliveries(2), timeout=10, message="retrigger not logged")
    assert [d["status"] for d in both] == [200, 200]

    for path in ("/imnot/admin/adminco/export/callback/no-such-id",
                 f"/imnot/admin/adminco/orders/callback/{request_id}"):
        for method, suffix in (("GET", ""), ("POST", "/retrigger")):
            reply = admin.call(method, path + suffix)
            assert reply.status == 404, f"{method} {path}{suffix}: {reply.text}"
