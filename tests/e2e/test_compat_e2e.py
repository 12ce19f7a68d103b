"""The original imnot's QA flows (``imnot-behaviour.md`` §8.1 phases 2 and 4) through a
real mitmdump, on the original partner files unchanged.

Those files have no ``hosts:``, so they answer any host: every flow runs twice, once
as a proxied client calling ``http://anyhost.example/...`` (admin API at the admin
host) and once as a client using the proxy port as its base URL, like the original
server. Each transport gets a fresh proxy so that "404 before upload" holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

import imnot_proxy

from .conftest import SESSION_HEADER, SHARED, Body, Imnot, StartImnot, proxy_partners
from .harness import CallbackReceiver, Reply

# Warnings are errors; a socket closed late by the interpreter (unraisable) is not.
pytestmark = pytest.mark.filterwarnings("error", "ignore::pytest.PytestUnraisableExceptionWarning")

COMPAT = SHARED / "imnot-compat"
EXAMPLES = COMPAT / "imnot" / "examples"
QA_PARTNER = COMPAT / "scripts" / "qa" / "testingpartner.yaml"
ANY_HOST = "http://anyhost.example"

RESERVATION = {"reservationId": "QA001", "guestName": "QA User"}
CHARGES = {"total": 150.00, "currency": "USD", "items": [{"code": "ROOM", "amount": 150.00}]}
JOB_RESULT = {"jobResult": "processed", "recordCount": 42}
EVENT = {"event": "qa.triggered", "severity": "info"}
LISTING = [{"id": i} for i in range(10)]


@dataclass
class Client:
    """A client of one transport: through the proxy to any host, or straight to its port."""

    imnot: Imnot
    transport: str

    def call(self, method: str, path: str, body: Body = None, *,
             headers: Mapping[str, str] | None = None, session: str | None = None) -> Reply:
        if self.transport == "proxy":
            return self.imnot.request(method, f"{ANY_HOST}{path}", body, headers=headers,
                                      session=session)
        return self.imnot.direct(method, path, body, headers=headers, session=session)

    def infra(self, method: str, path: str, body: Body = None) -> Reply:
        """Admin and health routes: the admin host through the proxy, or the port itself."""
        if self.transport == "proxy":
            return self.imnot.request(method, f"http://imnot.proxy{path}", body)
        return self.imnot.direct(method, path, body)

    def upload(self, partner: str, datapoint: str, payload: Any) -> None:
        reply = self.infra("POST", f"/imnot/admin/{partner}/{datapoint}/payload", payload)
        assert (reply.status, reply.json()) == (
            200, {"status": "ok", "partner": partner, "datapoint": datapoint})

    def new_session(self, partner: str, datapoint: str, payload: Any) -> str:
        reply = self.infra("POST", f"/imnot/admin/{partner}/{datapoint}/payload/session",
                           payload)
        assert reply.status == 200, reply.text
        return str(reply.json()["session_id"])


@pytest.fixture(scope="module", params=["proxy", "direct"])
def client(request: pytest.FixtureRequest, start_imnot: StartImnot) -> Client:
    partners = proxy_partners(EXAMPLES, QA_PARTNER)
    imnot = start_imnot(*partners, name=f"compat-{request.param}")
    return Client(imnot, request.param)


# --------------------------------------------------------------------------- phase 2


def test_phase2_healthz_has_version(client: Client) -> None:
    reply = client.infra("GET", "/healthz")
    assert (reply.status, reply.json()) == (
        200, {"status": "ok", "version": imnot_proxy.__version__})


def test_phase2_oauth_token(client: Client) -> None:
    reply = client.call("POST", "/oauth/token")
    assert reply.status == 200
    body = reply.json()
    assert body["access_token"]
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    if client.transport == "proxy":
        # Partners without hosts answer whatever host the client names.
        for url in ("http://other.partner.example/oauth/token",
                    "http://192.0.2.1:8081/oauth/token"):
            assert client.imnot.request("POST", url).json() == body, url


def submit(client: Client, session: str | None = None) -> str:
    reply = client.call("POST", "/staylink/reservations", {"guest": "QA User"}, session=session)
    assert (reply.status, reply.body) == (202, b"")
    location = reply.headers["Location"]
    assert location.startswith("/staylink/reservations/")
    return location


def test_phase2_staylink_polling_global(client: Client) -> None:
    client.upload("staylink", "reservation", RESERVATION)
    location = submit(client)
    head = client.call("HEAD", location)
    assert (head.status, head.headers["Status"]) == (201, "COMPLETED")
    fetched = client.call("GET", location)
    assert (fetched.status, fetched.json()) == (200, RESERVATION)


def test_phase2_staylink_session_flow_and_global_without_header(client: Client) -> None:
    client.upload("staylink", "reservation", RESERVATION)
    session_payload = {"reservationId": "QA-SESSION", "guestName": "Session User"}
    session = client.new_session("staylink", "reservation", session_payload)
    uuid.UUID(session)

    location = submit(client, session)
    with_header = client.call("GET", location, session=session)
    assert (with_header.status, with_header.json()) == (200, session_payload)
    without_header = client.call("GET", location)
    assert (without_header.status, without_header.json()) == (200, RESERVATION)


def test_phase2_bookingco_static_token(client: Client) -> None:
    reply = client.call("POST", "/bookingco/auth/token")
    assert (reply.status, reply.json()) == (200, {"token": "static-token-replace-in-real-use"})


def test_phase2_bookingco_fetch_404_then_200(client: Client) -> None:
    before = client.call("GET", "/bookingco/v1/charges")
    assert (before.status, before.json()) == (
        404, {"detail": "No global payload found for bookingco/charges"})
    client.upload("bookingco", "charges", CHARGES)
    after = client.call("GET", "/bookingco/v1/charges")
    assert (after.status, after.json()) == (200, CHARGES)


def test_phase2_admin_partners_and_sessions(client: Client) -> None:
    partners = client.infra("GET", "/imnot/admin/partners")
    assert partners.status == 200
    names = {p["partner"] for p in partners.json()}
    assert {"staylink", "bookingco", "testingpartner"} <= names

    session = client.new_session("bookingco", "charges", CHARGES)
    sessions = client.infra("GET", "/imnot/admin/sessions")
    assert sessions.status == 200
    listed = {s["session_id"]: s for s in sessions.json()}
    assert (listed[session]["partner"], listed[session]["datapoint"]) == ("bookingco", "charges")


def test_phase2_admin_postman(client: Client) -> None:
    reply = client.infra("GET", "/imnot/admin/postman")
    if reply.status == 404 and reply.json() == {"detail": "Not Found"}:
        pytest.xfail("postman route pending")
    assert reply.status == 200
    text = reply.text
    assert "staylink" in text and "bookingco" in text


# --------------------------------------------------------------------------- phase 4


def test_phase4_oauth(client: Client) -> None:
    reply = client.call("POST", "/testingpartner/oauth/token")
    assert reply.status == 200
    assert reply.json()["token_type"] == "Bearer"


def test_phase4_polling_with_body_delivery(client: Client) -> None:
    client.upload("testingpartner", "job", JOB_RESULT)
    submitted = client.call("POST", "/testingpartner/jobs", {"type": "export"})
    assert submitted.status == 202
    job_id = submitted.json()["jobId"]
    uuid.UUID(job_id)

    status = client.call("GET", f"/testingpartner/jobs/{job_id}/status")
    assert (status.status, status.body) == (200, b"")
    result = client.call("GET", f"/testingpartner/jobs/{job_id}/result")
    assert (result.status, result.json()) == (200, JOB_RESULT)


def test_phase4_static_config(client: Client) -> None:
    reply = client.call("GET", "/testingpartner/config")
    assert (reply.status, reply.json()) == (
        200, {"version": "1.0", "env": "qa", "features": ["feature-a", "feature-b"]})


def test_phase4_fetch_any_id(client: Client) -> None:
    before = client.call("GET", "/testingpartner/records/rec-1")
    assert before.status == 404
    record = {"recordId": "any", "value": 7}
    client.upload("testingpartner", "record", record)
    for record_id in ("rec-1", "42", str(uuid.uuid4())):
        reply = client.call("GET", f"/testingpartner/records/{record_id}")
        assert (reply.status, reply.json()) == (200, record)


def test_phase4_callback_by_header_is_delivered(client: Client,
                                               receiver: CallbackReceiver) -> None:
    client.upload("testingpartner", "notification", EVENT)
    reply = client.call("POST", "/testingpartner/notifications", {"note": "qa"},
                        headers={"X-Callback-Url": f"{receiver.url}/capture"})
    assert reply.status == 202
    uuid.UUID(reply.json()["request_id"])
    [delivery] = receiver.wait_for_requests(1, timeout=5)
    assert (delivery.method, delivery.path, delivery.json()) == ("POST", "/capture", EVENT)
    assert delivery.headers[SESSION_HEADER] is None


def test_phase4_paginated_offset_limit(client: Client) -> None:
    client.upload("testingpartner", "listing", LISTING)
    first = client.call("GET", "/testingpartner/listings?limit=3").json()
    assert (len(first["items"]), first["total"], first["hasMore"]) == (3, 10, True)
    assert first["nextOffset"] == 3
    middle = client.call("GET", "/testingpartner/listings?offset=5&limit=3").json()
    assert middle["items"][0] == {"id": 5}
    beyond = client.call("GET", "/testingpartner/listings?offset=20&limit=3").json()
    assert (beyond["items"], beyond["hasMore"]) == ([], False)
