"""Admin routes a test harness uses: named sessions across datapoints, a session's callbacks,
and the journal filtered to one session, partner or kind."""

from __future__ import annotations

import time

import pytest

from imnot_proxy.journal import JournalEntry

from . import test_admin
from .test_admin import as_json

api = test_admin.api  # the fixture: the admin API over a store and a small partner

SESSIONS = "/imnot/admin/sessions"


def test_a_named_session_takes_payloads_for_several_datapoints(api, store):
    opened = api("POST", SESSIONS, {"session_id": "test_checkout-1"})
    assert (opened.status, as_json(opened)) == (201, {"session_id": "test_checkout-1"})
    for datapoint, value in (("charges", {"c": 1}), ("list", {"items": [1]})):
        put = api("POST", f"/imnot/admin/p/{datapoint}/payload/session", value,
                  query="session=test_checkout-1")
        assert (put.status, as_json(put)) == (200, {"session_id": "test_checkout-1"})
    got = as_json(api("GET", "/imnot/admin/p/list/payload/session/test_checkout-1"))
    assert (got["partner"], got["datapoint"], got["payload"]) == ("p", "list", {"items": [1]})
    assert store.get_session("test_checkout-1").last_used is None  # the GET is not a use
    assert store.session_payload("test_checkout-1", "p", "charges").body == b'{"c":1}'
    assert store.session_payload("test_checkout-1", "p", "list").body == b'{"items":[1]}'
    listed = as_json(api("GET", SESSIONS))
    assert [(s["session_id"], s["partner"], s["datapoint"]) for s in listed] == [
        ("test_checkout-1", None, None)]


def test_a_session_without_a_name_gets_a_new_id(api):
    first = as_json(api("POST", SESSIONS, b""))["session_id"]
    second = as_json(api("POST", SESSIONS, {}))["session_id"]
    assert first and second and first != second


@pytest.mark.parametrize(("body", "status"), [
    ({"session_id": "has space"}, 422), ({"session_id": "a:b"}, 422),
    ({"session_id": "x" * 129}, 422), ({"session_id": ""}, 422), ({"session_id": 5}, 422),
    ([1], 422), (b"{nope", 400),
])
def test_bad_session_names_are_refused(api, store, body, status):
    response = api("POST", SESSIONS, body)
    assert response.status == status
    assert "detail" in as_json(response)
    assert store.list_sessions() == []


def test_a_taken_session_name_is_409(api):
    assert api("POST", SESSIONS, {"session_id": "same"}).status == 201
    again = api("POST", SESSIONS, {"session_id": "same"})
    assert (again.status, as_json(again)) == (409, {"detail": "Session 'same' already exists"})


def test_payload_into_an_unknown_session_is_404_and_stores_nothing(api, store):
    response = api("POST", "/imnot/admin/p/charges/payload/session", [1], query="session=nope")
    assert response.status == 404
    assert "POST /imnot/admin/sessions" in as_json(response)["detail"]
    assert store.list_sessions() == []


def test_uploading_without_session_still_makes_a_new_session(api, store):
    sid = as_json(api("POST", "/imnot/admin/p/charges/payload/session", [1]))["session_id"]
    assert store.get_session(sid).datapoint == "charges"


def test_callbacks_of_a_session(api, store):
    mine = store.add_callback("p", "export", "s1", "http://127.0.0.1:9/hook", "POST")
    store.add_callback("p", "export", "s2", "http://127.0.0.1:9/other", "POST")
    store.log_delivery(mine.id, 1, 204, None)
    listed = as_json(api("GET", "/imnot/admin/callbacks", query="session=s1"))
    assert [(c["request_id"], c["partner"], c["datapoint"], c["url"]) for c in listed] == [
        (mine.id, "p", "export", "http://127.0.0.1:9/hook")]
    assert [(d["attempt"], d["status"]) for d in listed[0]["deliveries"]] == [(1, 204)]
    assert as_json(api("GET", "/imnot/admin/callbacks", query="session=none")) == []
    assert api("GET", "/imnot/admin/callbacks").status == 400


def entry(kind: str, session: str | None, partner: str | None = "p") -> JournalEntry:
    return JournalEntry(at=time.time(), kind=kind, method="GET", scheme="http",
                        host="api.p.example", port=80, path=f"/{kind}/{session}", status=200,
                        seconds=0.001, partner=partner, session=session)


def test_journal_filtered_by_session_partner_and_kind(api):
    journal = api.api.service.journal
    for made in (entry("mock", "s1"), entry("miss", "s1", None), entry("mock", "s2"),
                 entry("passthrough", None, None), entry("mock", "s1", "q")):
        journal.add(made)

    def paths(query: str) -> list[str]:
        response = api("GET", "/imnot/admin/journal", query=query)
        assert response.status == 200, response.body
        return [e["url"].split("/", 3)[3] for e in as_json(response)]

    assert paths("session=s1") == ["mock/s1", "miss/s1", "mock/s1"]
    assert paths("session=s1&partner=p") == ["mock/s1"]
    assert paths("session=s1&kind=miss") == ["miss/s1"]
    assert paths("kind=miss,passthrough") == ["passthrough/None", "miss/s1"]
    assert paths("session=s1&limit=1") == ["mock/s1"]
    assert len(paths("")) == 5
    bad = api("GET", "/imnot/admin/journal", query="kind=mocked")
    assert bad.status == 400 and "mocked" in as_json(bad)["detail"]
