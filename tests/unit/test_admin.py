"""AdminApi as a pure dispatcher: payloads, sessions, auth, with no proxy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imnot_proxy import __version__
from imnot_proxy.admin import AdminApi, AdminService
from imnot_proxy.admin import api as admin_api
from imnot_proxy.definitions import Definitions
from imnot_proxy.errors import StoreError
from imnot_proxy.messages import CIHeaders, MockResponse, RequestView

PARTNER = """
    partner: p
    hosts: [api.p.example]
    datapoints:
      - {name: token, pattern: oauth, endpoints: [{method: POST, path: /token}]}
      - {name: config, pattern: static, endpoints: [{method: GET, path: /config}]}
      - {name: charges, pattern: fetch, endpoints: [{method: GET, path: /charges}]}
      - name: list
        pattern: paginated
        pagination: {style: offset_limit, items_field: items}
        endpoints: [{method: GET, path: /list}]
      - name: export
        pattern: callback
        endpoints:
          - {method: POST, path: /export, response: {callback_url_field: url, callback_retries: 1}}
      - name: notify
        pattern: callback
        endpoints: [{method: POST, path: /notify, response: {callback_url_header: X-Url}}]
    """


class Api:
    """Calls the admin API the way the addon does, over real definitions and store."""

    def __init__(self, definitions: Definitions, store):
        self.definitions = definitions
        self.key: str | None = None
        self.jobs: list = []
        self.api = AdminApi(AdminService(definitions, store, dispatch=self.jobs.append,
                                         admin_key=lambda: self.key))

    def __call__(self, method: str, path: str, body: Any = b"", *, query: str = "",
                 headers: dict | None = None) -> MockResponse:
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        return self.api.handle(RequestView(method, path, query, CIHeaders(headers or {}), body))


def as_json(response: MockResponse) -> Any:
    return json.loads(response.body)


@pytest.fixture
def api(tmp_path, store, load_text) -> Api:
    result = load_text(PARTNER, tmp_path)
    assert result.errors == []
    definitions = Definitions([str(tmp_path / "partner.yaml")], store)
    definitions.apply(result.partners)
    return Api(definitions, store)


def test_healthz(api):
    response = api("GET", "/healthz")
    assert (response.status, as_json(response)) == (200, {"status": "ok",
                                                          "version": __version__})


def test_payload_set_then_get(api, store):
    response = api("POST", "/imnot/admin/p/charges/payload", {"total": 150})
    assert (response.status, as_json(response)) == (
        200, {"status": "ok", "partner": "p", "datapoint": "charges"})
    assert store.get_global("p", "charges").body == b'{"total":150}'
    got = as_json(api("GET", "/imnot/admin/p/charges/payload"))
    assert got["payload"] == {"total": 150}
    assert got["updated_at"].endswith("Z")
    assert "outcome" not in got


def test_payload_set_is_stored_compactly_and_last_write_wins(api, store):
    api("POST", "/imnot/admin/p/charges/payload", b'{ "a" :  1 }')
    api("POST", "/imnot/admin/p/charges/payload", b'[ 1, 2 ]')
    assert store.get_global("p", "charges").body == b"[1,2]"


def test_payload_outcome_from_the_query(api, store):
    api("POST", "/imnot/admin/p/charges/payload", {"x": 1}, query="outcome=failed")
    assert store.get_global("p", "charges").outcome == "failed"
    assert as_json(api("GET", "/imnot/admin/p/charges/payload"))["outcome"] == "failed"


def test_payload_get_before_upload_is_404(api):
    response = api("GET", "/imnot/admin/p/charges/payload")
    assert (response.status, as_json(response)) == (
        404, {"detail": "No global payload set for p/charges"})


@pytest.mark.parametrize("body", [b"null", b"", b"   "])
def test_null_or_empty_payload_is_rejected(api, store, body):
    response = api("POST", "/imnot/admin/p/charges/payload", body)
    assert (response.status, as_json(response)) == (
        422, {"detail": "Payload must not be null or empty"})
    assert store.get_global("p", "charges") is None  # B7: nothing stored


@pytest.mark.parametrize("path", ["/imnot/admin/p/charges/payload",
                                  "/imnot/admin/p/charges/payload/session"])
def test_invalid_json_is_400(api, path):
    response = api("POST", path, b"{not json")
    assert (response.status, as_json(response)) == (400, {
        "detail": "Invalid JSON body",
        "problem": "Expecting property name enclosed in double quotes at line 1, column 2"})
    huge = api("POST", path, b'{"n": ' + b"9" * 5000 + b"}")
    assert (huge.status, as_json(huge)) == (400, {
        "detail": "Invalid JSON body", "problem": "a number of more than 4,300 digits"})


@pytest.mark.parametrize("path", [
    "/imnot/admin/p/token/payload", "/imnot/admin/p/config/payload",
    "/imnot/admin/p/nope/payload", "/imnot/admin/q/charges/payload",
    "/imnot/admin/p/config/payload/session",
])
def test_no_payload_routes_for_oauth_static_or_unknown_datapoints(api, path):
    response = api("POST", path, {"a": 1})
    assert response.status == 404
    assert "No payload datapoint" in as_json(response)["detail"]


def test_session_create_and_get(api, store):
    sid = as_json(api("POST", "/imnot/admin/p/charges/payload/session", {"mine": 1}))["session_id"]
    assert store.session_payload(sid, "p", "charges").body == b'{"mine":1}'
    assert store.get_global("p", "charges") is None
    got = as_json(api("GET", f"/imnot/admin/p/charges/payload/session/{sid}"))
    assert got["session_id"] == sid
    assert (got["partner"], got["datapoint"], got["payload"]) == ("p", "charges", {"mine": 1})
    assert got["created_at"]


def test_each_session_upload_makes_a_new_session(api):
    path = "/imnot/admin/p/charges/payload/session"
    first = as_json(api("POST", path, [1]))["session_id"]
    second = as_json(api("POST", path, [1]))["session_id"]
    assert first != second


def test_session_get_is_scoped_to_its_datapoint(api):
    sid = as_json(api("POST", "/imnot/admin/p/charges/payload/session", [1]))["session_id"]
    response = api("GET", f"/imnot/admin/p/list/payload/session/{sid}")  # B6
    assert (response.status, as_json(response)) == (404, {"detail": f"Session '{sid}' not found"})
    assert api("GET", "/imnot/admin/p/charges/payload/session/unknown").status == 404


def test_session_null_payload_is_rejected(api, store):
    assert api("POST", "/imnot/admin/p/charges/payload/session", b"null").status == 422
    assert store.list_sessions() == []


def test_sessions_list_and_delete(api, store):
    a = as_json(api("POST", "/imnot/admin/p/charges/payload/session", [1]))["session_id"]
    b = as_json(api("POST", "/imnot/admin/p/list/payload/session", [2],
                    query="outcome=failed"))["session_id"]
    store.session_payload(a, "p", "charges")
    listed = {s["session_id"]: s for s in as_json(api("GET", "/imnot/admin/sessions"))}
    assert set(listed) == {a, b}
    assert listed[a]["last_used"] is not None and listed[b]["last_used"] is None
    assert listed[b]["outcome"] == "failed"
    assert "payload" not in listed[a]
    deleted = api("DELETE", f"/imnot/admin/sessions/{a}")
    assert (deleted.status, as_json(deleted)) == (200, {"status": "ok", "session_id": a})
    assert api("DELETE", f"/imnot/admin/sessions/{a}").status == 404
    assert [s["session_id"] for s in as_json(api("GET", "/imnot/admin/sessions"))] == [b]
    cleared = api("DELETE", "/imnot/admin/sessions")
    assert as_json(cleared) == {"status": "ok", "deleted": 1}


def test_partners_listing(api):
    [partner] = as_json(api("GET", "/imnot/admin/partners"))
    assert (partner["partner"], partner["hosts"]) == ("p", ["api.p.example"])
    by_name = {dp["name"]: dp for dp in partner["datapoints"]}
    assert by_name["charges"]["pattern"] == "fetch"
    assert by_name["charges"]["endpoints"] == [
        {"method": "GET", "path": "/charges", "step": None, "requests_per_minute": None}]
    assert by_name["list"]["pagination"] == {"style": "offset_limit", "items_field": "items"}


def test_unknown_path_is_404_and_wrong_method_405(api):
    assert api("GET", "/imnot/admin/nothing").status == 404
    assert api("PUT", "/imnot/admin/sessions").status == 405


# --- callbacks ------------------------------------------------------------------------

def test_retrigger_dispatches_the_stored_request_without_delay(api, store):
    record = store.add_callback("p", "export", "s1", "http://127.0.0.1:9/hook", "POST")
    response = api("POST", f"/imnot/admin/p/export/callback/{record.id}/retrigger")
    assert (response.status, as_json(response)) == (
        200, {"status": "dispatched", "request_id": record.id})
    [job] = api.jobs
    assert (job.request, job.retries, job.delay) == (record, 1, 0.0)


@pytest.mark.parametrize("datapoint", ["notify", "charges", "config"])
def test_retrigger_is_scoped_to_its_datapoint(api, store, datapoint):
    record = store.add_callback("p", "export", None, "http://127.0.0.1:9/hook", "POST")
    response = api("POST", f"/imnot/admin/p/{datapoint}/callback/{record.id}/retrigger")
    assert response.status == 404  # B6: a request id of p/export means nothing elsewhere
    assert api.jobs == []


def test_retrigger_unknown_request_id(api):
    response = api("POST", "/imnot/admin/p/export/callback/nope/retrigger")
    assert (response.status, as_json(response)) == (404, {"detail": "Unknown request_id: nope"})


def test_callback_log_lists_deliveries(api, store):
    record = store.add_callback("p", "export", None, "http://127.0.0.1:9/hook", "PUT")
    store.log_delivery(record.id, 1, None, "connection refused")
    store.log_delivery(record.id, 2, 200, None)
    log = as_json(api("GET", f"/imnot/admin/p/export/callback/{record.id}"))
    assert (log["request_id"], log["url"], log["method"]) == (record.id, record.url, "PUT")
    assert [(d["attempt"], d["status"], d["error"]) for d in log["deliveries"]] == [
        (1, None, "connection refused"), (2, 200, None)]


# --- auth ---------------------------------------------------------------------------

@pytest.mark.parametrize("authorization", [
    None, "Bearer wrong", "Bearer s3cret2", "s3cret", "Basic s3cret", "Bearer", "Bearer caf\udce9",
])
def test_admin_key_required(api, authorization):
    api.key = "s3cret"
    headers = {"Authorization": authorization} if authorization else {}
    response = api("GET", "/imnot/admin/sessions", headers=headers)
    assert (response.status, as_json(response)) == (401, {"detail": "Unauthorized"})
    assert dict(response.headers)["WWW-Authenticate"] == "Bearer"


def test_admin_key_accepted_with_a_constant_time_compare(api, monkeypatch):
    api.key = "s3cret"
    compared: list[tuple[bytes, bytes]] = []
    real = admin_api.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(admin_api.hmac, "compare_digest", spy)
    response = api("GET", "/imnot/admin/sessions", headers={"authorization": "Bearer s3cret"})
    assert response.status == 200
    assert compared == [(b"s3cret", b"s3cret")]


@pytest.mark.parametrize("authorization", ["bearer s3cret", "BEARER s3cret", "Bearer  s3cret"])
def test_the_scheme_is_case_insensitive_and_the_key_exact(api, authorization):
    api.key = "s3cret"
    assert api("GET", "/imnot/admin/sessions", headers={"Authorization": authorization}).status \
        == 200


def test_writes_without_the_key_change_nothing(api, store):
    api.key = "s3cret"
    assert api("POST", "/imnot/admin/p/charges/payload", [1]).status == 401
    assert store.get_global("p", "charges") is None


def test_healthz_is_503_degraded_while_the_store_is_unreachable(api, store, monkeypatch):
    down = StoreError("store redis://:****@db:6379/0 is unreachable: Connection refused",
                      store="redis://:****@db:6379/0")
    monkeypatch.setattr(store, "health", lambda: down)
    response = api("GET", "/healthz")
    assert response.status == 503 and ("Retry-After", "1") in response.headers
    assert as_json(response) == {"status": "degraded", "store": "redis://:****@db:6379/0",
                                 "detail": str(down)}
    monkeypatch.setattr(store, "health", lambda: None)
    assert as_json(api("GET", "/healthz")) == {"status": "ok", "version": __version__}


def test_healthz_is_open_with_a_key(api):
    api.key = "s3cret"
    assert api("GET", "/healthz").status == 200


def test_no_key_means_open(api):
    assert api("GET", "/imnot/admin/sessions").status == 200


# --- payloads of every kind -------------------------------------------------------------

def test_an_xml_payload_is_kept_byte_for_byte_with_its_type(api, store):
    xml = b'<?xml version="1.0"?>\n<Charges total="150"/>\n'
    reply = api("POST", "/imnot/admin/p/charges/payload", xml,
                headers={"Content-Type": "application/xml; charset=utf-8"})
    assert reply.status == 200
    stored = store.get_global("p", "charges")
    assert (stored.body, stored.content_type) == (xml, "application/xml; charset=utf-8")
    view = as_json(api("GET", "/imnot/admin/p/charges/payload"))
    assert (view["payload"], view["content_type"]) == (xml.decode(),
                                                        "application/xml; charset=utf-8")
    raw = api("GET", "/imnot/admin/p/charges/payload", query="raw=true")
    assert (raw.body, dict(raw.headers)["content-type"]) == (xml,
                                                            "application/xml; charset=utf-8")


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded",
                                          "application/json", "application/vnd.x+json"])
def test_json_is_taken_as_json_as_curl_d_sends_it(api, store, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    api("POST", "/imnot/admin/p/charges/payload", b'{ "total" : 150 }', headers=headers)
    stored = store.get_global("p", "charges")
    assert (stored.body, stored.content_type) == (b'{"total":150}', "application/json")


def test_named_payloads_are_uploaded_listed_and_read_apart(api, store):
    api("POST", "/imnot/admin/p/charges/payload", {"tier": "default"})
    reply = api("POST", "/imnot/admin/p/charges/payload", b"gold,1\n", query="name=gold",
                headers={"Content-Type": "text/csv"})
    assert as_json(reply) == {"status": "ok", "partner": "p", "datapoint": "charges",
                              "name": "gold"}
    listed = as_json(api("GET", "/imnot/admin/p/charges/payloads"))
    assert [(p["name"], p["content_type"]) for p in listed] == [
        ("", "application/json"), ("gold", "text/csv")]
    assert as_json(api("GET", "/imnot/admin/p/charges/payload", query="name=gold"))[
        "payload"] == "gold,1\n"
    assert api("GET", "/imnot/admin/p/charges/payload", query="name=silver").status == 404
    assert api("POST", "/imnot/admin/p/charges/payload", b"{}", query="name=a/b").status == 400


def test_a_session_payload_keeps_its_name_and_type(api, store):
    sid = as_json(api("POST", "/imnot/admin/p/charges/payload/session", b"<x/>",
                      query="name=gold", headers={"Content-Type": "text/xml"}))["session_id"]
    view = as_json(api("GET", f"/imnot/admin/p/charges/payload/session/{sid}"))
    assert (view["payload"], view["content_type"], view["name"]) == ("<x/>", "text/xml", "gold")


# --- cross-site requests from browsers ------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example", "Host": "imnot.proxy"},
    {"Origin": "null", "Host": "imnot.proxy"},
    {"Origin": "http://imnot.proxy.evil.example", "Host": "imnot.proxy"},
    {"Sec-Fetch-Site": "cross-site", "Host": "imnot.proxy"},
])
def test_a_change_sent_by_another_sites_page_is_refused_even_without_a_key(api, headers):
    refused = api("POST", "/imnot/admin/p/charges/payload", {"a": 1}, headers=headers)
    assert refused.status == 403, refused.body
    assert "cannot change the admin state" in as_json(refused)["detail"]
    assert api("GET", "/imnot/admin/p/charges/payload").status == 404  # nothing stored


@pytest.mark.parametrize("headers", [
    {},  # curl, the CLI, test clients
    {"Origin": "http://imnot.proxy", "Host": "imnot.proxy"},  # the admin page itself
    {"Origin": "http://127.0.0.1:8080", "Host": "127.0.0.1:8080"},  # the page, direct
    {"Sec-Fetch-Site": "same-origin", "Host": "imnot.proxy"},
])
def test_changes_from_the_admin_page_and_from_other_clients_are_served(api, headers):
    assert api("POST", "/imnot/admin/p/charges/payload", {"a": 1}, headers=headers).status == 200


def test_reads_from_another_site_are_served_as_the_browser_hides_them_anyway(api):
    headers = {"Origin": "http://evil.example", "Host": "imnot.proxy"}
    assert api("GET", "/imnot/admin/partners", headers=headers).status == 200
