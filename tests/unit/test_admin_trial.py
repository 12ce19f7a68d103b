"""``POST /imnot/admin/try``, the flow tester's request: answered by the serving engine,
the generated id handed back, journalled, and bad input refused with a clear 4xx."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imnot_proxy.admin import AdminApi, AdminService
from imnot_proxy.definitions import Definitions
from imnot_proxy.journal import MemoryJournal
from imnot_proxy.messages import CIHeaders, RequestView

PARTNERS = """
    partner: shop
    hosts: [api.shop.test]
    datapoints:
      - name: order
        pattern: polling
        endpoints:
          - step: 1
            method: POST
            path: /orders
            response: {status: 202, generates_id: true, id_header: Location,
                       id_header_value: "/orders/{id}?v=1"}
          - {step: 2, method: GET, path: "/orders/{id}/status", response: {status: 200, body: {state: done}}}
          - {step: 3, method: GET, path: "/orders/{id}", response: {returns_payload: true}}
      - name: report
        pattern: polling
        endpoints:
          - {step: 1, method: POST, path: /reports, response: {generates_id: true, id_body_field: reportId}}
          - {step: 2, method: GET, path: "/reports/{id}", response: {returns_payload: true}}
      - {name: hello, pattern: static, endpoints: [{method: GET, path: /hello, response: {body: {hi: shop}}}]}
    """
OTHER = """
    partner: other
    hosts: [api.other.test]
    datapoints:
      - {name: hello, pattern: static, endpoints: [{method: GET, path: /hello, response: {body: {hi: other}}}]}
    """
RECORDED = """
    partner: live
    mode: record
    hosts: [api.live.test]
    datapoints:
      - {name: hello, pattern: static, endpoints: [{method: GET, path: /live}]}
    """


class TryClient:
    def __init__(self, api: AdminApi, journal: MemoryJournal):
        self.api = api
        self.journal = journal

    def __call__(self, spec: Any, **headers: str):
        body = spec if isinstance(spec, bytes) else json.dumps(spec).encode()
        response = self.api.handle(RequestView("POST", "/imnot/admin/try",
                                               headers=CIHeaders(headers), body=body))
        return response.status, json.loads(response.body)


@pytest.fixture
def tester(tmp_path, store, load_text):
    sources = []
    for name, text in (("shop", PARTNERS), ("other", OTHER), ("live", RECORDED)):
        result = load_text(text, tmp_path, name=f"{name}.yaml")
        assert result.errors == []
        sources += result.partners
    definitions = Definitions([str(tmp_path)], store)
    definitions.apply(sources)
    journal = MemoryJournal()
    keys: list[str | None] = [None]
    api = AdminApi(AdminService(definitions, store, journal=journal, admin_key=lambda: keys[0]))
    t = TryClient(api, journal)
    t.keys = keys  # type: ignore[attr-defined]
    return t


def test_steps_in_a_session_carry_the_generated_id(tester, store):
    session = store.create_session("shop", "order", b'{"order": "O-1"}', None)
    status, submit = tester({"method": "POST", "path": "/orders", "session": session,
                             "partner": "shop"})
    assert status == 200
    assert (submit["kind"], submit["status"], submit["route"]) == ("mock", 202, "POST /orders")
    assert submit["step"] == "step 1/3"
    issued = submit["captured"]["id"]
    location = dict(submit["headers"])["Location"]
    assert location == f"/orders/{issued}?v=1"  # the id is what stands for {id}, not more
    assert submit["request"] == {"method": "POST", "host": "api.shop.test", "path": "/orders",
                                 "session": session}

    _, check = tester({"method": "GET", "path": f"/orders/{issued}/status", "session": session,
                       "partner": "shop"})
    assert (check["status"], json.loads(check["body"])) == (200, {"state": "done"})
    assert check["params"] == {"id": issued}
    _, result = tester({"method": "GET", "path": f"/orders/{issued}", "session": session,
                        "partner": "shop"})
    assert json.loads(result["body"]) == {"order": "O-1"}
    assert result["captured"] == {}
    assert result["request_id"] == dict(result["headers"])["x-request-id"]

    entries = tester.journal.latest(10)
    assert [e.note for e in entries][0] == f"imnot try mock shop/order step 3/3 · session {session}"
    assert [(e.kind, e.status, e.session) for e in entries] == [
        ("mock", 200, session), ("mock", 200, session), ("mock", 202, session)]
    assert entries[0].url == f"http://api.shop.test/orders/{issued}"


def test_a_fault_the_proxy_would_inject_is_shown(tester, store):
    store.add_fault("shop", "s1", b'{"kind": "reset", "datapoint": "order"}', None)
    store.add_fault("shop", "s2", b'{"kind": "status", "status": 429, "datapoint": "order"}',
                    None)
    _, reset = tester({"method": "POST", "path": "/orders", "session": "s1", "partner": "shop"})
    assert (reset["status"], reset["fault"]["kind"]) == (0, "reset")
    assert reset["fault"]["notes"][0] == "session s1"
    _, busy = tester({"method": "POST", "path": "/orders", "session": "s2", "partner": "shop"})
    assert (busy["status"], busy["fault"]["label"]) == (429, "429")
    _, plain = tester({"method": "POST", "path": "/orders", "partner": "shop"})
    assert plain["status"] == 202 and "fault" not in plain


def test_generated_id_from_a_body_field(tester):
    _, submit = tester({"method": "POST", "path": "/reports", "partner": "shop", "body": "{}"})
    assert submit["captured"] == {"id": json.loads(submit["body"])["reportId"]}


def test_the_partner_chooses_the_host(tester):
    for partner in ("shop", "other"):
        _, answer = tester({"method": "GET", "path": "/hello", "partner": partner})
        assert json.loads(answer["body"]) == {"hi": partner}


def test_a_miss_names_the_closest_routes_and_is_journalled(tester):
    status, answer = tester({"method": "GET", "path": "/orderz", "partner": "shop"})
    assert status == 200
    assert (answer["kind"], answer["status"]) == ("miss", 404)
    assert "POST /orders (shop/order)" in answer["closest"]
    (entry,) = tester.journal.latest(1)
    assert (entry.kind, entry.closest[0]) == ("miss", answer["closest"][0])


def test_without_a_partner_the_path_alone_decides(tester):
    _, answer = tester({"method": "GET", "path": "/orders/x/status"})
    assert (answer["partner"], answer["request"]["host"]) == ("shop", None)


def test_a_partner_in_record_mode_is_not_run(tester):
    status, answer = tester({"method": "GET", "path": "/live", "partner": "live"})
    assert status == 409 and "record mode" in answer["detail"]


@pytest.mark.parametrize(("spec", "status", "words"), [
    (b"not json", 400, "JSON object"),
    ([1, 2], 400, "JSON object"),
    ({"path": "/hello"}, 400, "method"),
    ({"method": "G E T", "path": "/hello"}, 400, "method"),
    ({"method": "GET", "path": "hello"}, 400, "start with '/'"),
    ({"method": "GET", "path": "/hello", "headers": ["a"]}, 400, "headers"),
    ({"method": "GET", "path": "/hello", "headers": {"a": "b\nc"}}, 400, "headers"),
    ({"method": "GET", "path": "/hello", "body": 5}, 400, "body must be a string"),
    ({"method": "GET", "path": "/hello", "session": "a\tb"}, 400, "session"),
    ({"method": "GET", "path": "/hello", "partner": "nobody"}, 404, "nobody"),
    ({"method": "POST", "path": "/hello", "body": "x" * (1024 * 1024 + 1)}, 413, "body"),
    ({"method": "GET", "path": "/imnot/admin/partners"}, 409, "no partner route"),
])
def test_bad_input_is_a_clear_4xx(tester, spec, status, words):
    got, answer = tester(spec)
    assert got == status
    assert words in answer["detail"]
    assert len(tester.journal) == 0


def test_the_tester_needs_the_admin_key(tester):
    tester.keys[0] = "k"
    assert tester({"method": "GET", "path": "/hello"})[0] == 401
    assert tester({"method": "GET", "path": "/hello"}, authorization="Bearer k")[0] == 200
