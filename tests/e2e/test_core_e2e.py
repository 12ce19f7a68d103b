"""The core addon through a real mitmdump: patterns, sessions, HTTPS, passthrough, misses,
direct requests, bad input and persistence across restarts.

One proxy serves most of the module (repo partners staylink and bookingco plus the
``localmock`` fixture on host localhost); tests keep out of each other's way with
sessions and distinct datapoints. Passthrough mode and restarts get their own.
"""

from __future__ import annotations

import socket
import ssl
import uuid

import pytest

from .conftest import E2E_PARTNERS, REPO_PARTNERS, Imnot, StartImnot
from .harness import TlsUpstreamServer, UpstreamServer, proxied_request

# Warnings are errors; a socket closed late by the interpreter (unraisable) is not.
pytestmark = pytest.mark.filterwarnings("error", "ignore::pytest.PytestUnraisableExceptionWarning")

STAYLINK = "http://api.staylink.example"
STAYLINK_TLS = "https://api.staylink.example"
BOOKINGCO = "http://api.bookingco.example"
BOOKINGCO_TLS = "https://api.bookingco.example"
CHARGES = "/bookingco/v1/charges?propertyId=P100"
LOCAL = "http://localhost"


@pytest.fixture(scope="module")
def imnot(start_imnot: StartImnot) -> Imnot:
    return start_imnot(REPO_PARTNERS, E2E_PARTNERS / "core", name="core")


def submit_reservation(imnot: Imnot, base: str = STAYLINK_TLS, **kw: str) -> str:
    """Step 1 of the staylink flow; returns the generated id taken from Location."""
    reply = imnot.request("POST", f"{base}/staylink/reservations", {"guest": "QA"}, **kw)
    assert reply.status == 202, reply.text
    location = reply.headers["Location"]
    prefix = "/staylink/reservations/"
    assert location.startswith(prefix)
    issued = location[len(prefix):]
    uuid.UUID(issued)
    return issued


# --------------------------------------------------------------------------- patterns


def test_oauth_token(imnot: Imnot) -> None:
    reply = imnot.request("POST", f"{STAYLINK}/oauth/token", b"grant_type=client_credentials",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    body = reply.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].count(".") == 2


def test_static_bodies_and_headers(imnot: Imnot) -> None:
    reservation = imnot.request("GET", f"{BOOKINGCO}/bookingco/v1/reservation")
    assert reservation.status == 200
    assert reservation.json()["reservationId"] == "RES-001"
    token = imnot.request("POST", f"{BOOKINGCO}/bookingco/auth/token")
    assert (token.status, token.headers["Cache-Control"]) == (200, "no-store")
    assert token.json() == {"token": "static-token-replace-in-real-use"}


def test_fetch_404_before_upload_then_200(imnot: Imnot) -> None:
    before = imnot.request("GET", f"{BOOKINGCO}{CHARGES}")
    assert before.status == 404
    assert before.json() == {"detail": "No global payload found for bookingco/charges"}

    imnot.upload("bookingco", "charges", {"total": 150.0, "currency": "USD"})
    after = imnot.request("GET", f"{BOOKINGCO}{CHARGES}")
    assert after.status == 200
    assert after.json() == {"total": 150.0, "currency": "USD"}
    assert imnot.admin("GET", "bookingco/charges/payload").json()["payload"] == {
        "total": 150.0, "currency": "USD"}


def test_polling_three_steps_id_from_location(imnot: Imnot) -> None:
    imnot.upload("staylink", "reservation", {"reservationId": "QA001", "guestName": "QA User"})
    issued = submit_reservation(imnot)

    head = imnot.request("HEAD", f"{STAYLINK_TLS}/staylink/reservations/{issued}")
    assert (head.status, head.headers["Status"], head.body) == (201, "COMPLETED", b"")

    result = imnot.request("GET", f"{STAYLINK_TLS}/staylink/reservations/{issued}")
    assert result.status == 200
    assert result.json() == {"reservationId": "QA001", "guestName": "QA User"}


def test_polling_out_of_order_and_unknown_ids(imnot: Imnot) -> None:
    never_issued = str(uuid.uuid4())
    fetched = imnot.request("GET", f"{STAYLINK}/staylink/reservations/{never_issued}")
    assert fetched.status == 404
    assert fetched.json() == {"detail": f"Unknown request ID: {never_issued}"}

    # The status step of a lenient datapoint answers any id, as the original does.
    head = imnot.request("HEAD", f"{STAYLINK}/staylink/reservations/{never_issued}")
    assert (head.status, head.headers["Status"]) == (201, "COMPLETED")

    # An id is only known to the datapoint that issued it (B6).
    report = imnot.request("POST", f"{STAYLINK}/staylink/reports")
    assert report.status == 202
    report_id = report.json()["reportId"]
    other = imnot.request("GET", f"{STAYLINK}/staylink/reservations/{report_id}")
    assert other.status == 404
    assert other.json() == {"detail": f"Unknown request ID: {report_id}"}


# --------------------------------------------------------------------------- sessions


def test_session_by_header(imnot: Imnot) -> None:
    session = imnot.new_session("bookingco", "charges", {"by": "header"})
    reply = imnot.request("GET", f"{BOOKINGCO}{CHARGES}", session=session)
    assert (reply.status, reply.json()) == (200, {"by": "header"})
    listed = {s["session_id"]: s for s in imnot.admin("GET", "sessions").json()}
    assert listed[session]["last_used"] is not None


def test_session_by_proxy_credentials_over_http(imnot: Imnot) -> None:
    session = imnot.new_session("bookingco", "charges", {"by": "proxy user, http"})
    reply = imnot.request("GET", f"{BOOKINGCO}{CHARGES}", user=session)
    assert (reply.status, reply.json()) == (200, {"by": "proxy user, http"})


def test_session_by_proxy_credentials_over_https_connect(imnot: Imnot) -> None:
    session = imnot.new_session("bookingco", "charges", {"by": "proxy user, https"})
    reply = imnot.request("GET", f"{BOOKINGCO_TLS}{CHARGES}", user=session)
    assert (reply.status, reply.json()) == (200, {"by": "proxy user, https"})

    unknown = imnot.request("GET", f"{BOOKINGCO_TLS}{CHARGES}", user="no-such-session")
    assert unknown.status == 404
    assert unknown.json() == {"detail": "No session payload found for session 'no-such-session'"}


def test_session_isolation_and_no_fallback_to_global(imnot: Imnot) -> None:
    imnot.upload("localmock", "items", {"owner": "global"})
    first = imnot.new_session("localmock", "items", {"owner": "first"})
    second = imnot.new_session("localmock", "items", {"owner": "second"})
    foreign = imnot.new_session("bookingco", "charges", {"owner": "charges"})

    def items(session: str | None) -> tuple[int, object]:
        reply = imnot.request("GET", f"{LOCAL}/mock/items", session=session)
        return reply.status, reply.json()

    assert items(first) == (200, {"owner": "first"})
    assert items(second) == (200, {"owner": "second"})
    assert items(None) == (200, {"owner": "global"})
    assert items(first) == (200, {"owner": "first"})
    # A session made for another datapoint is not this datapoint's: 404, never the global.
    assert items(foreign) == (
        404, {"detail": f"No session payload found for session '{foreign}'"})


def test_polling_session_flow_and_header_over_credentials(imnot: Imnot) -> None:
    imnot.upload("staylink", "reservation", {"reservationId": "GLOBAL"})
    session = imnot.new_session("staylink", "reservation", {"reservationId": "SESSION"})
    issued = submit_reservation(imnot, STAYLINK, session=session)
    url = f"{STAYLINK}/staylink/reservations/{issued}"
    assert imnot.request("GET", url, session=session).json() == {"reservationId": "SESSION"}
    # The fetch step reads the session of the fetch request, as in the original.
    assert imnot.request("GET", url).json() == {"reservationId": "GLOBAL"}
    # The header names the session even when proxy credentials name another one.
    both = imnot.request("GET", url, session=session, user="someone-else")
    assert both.json() == {"reservationId": "SESSION"}


# --------------------------------------------------------------------------- HTTPS


def test_https_partner_host_trusting_only_the_generated_ca(imnot: Imnot) -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("api.staylink.example", 443)
    reply = imnot.request("POST", f"{STAYLINK_TLS}/oauth/token", cafile=imnot.ca_cert)
    assert reply.status == 200
    assert reply.json()["token_type"] == "Bearer"
    # Without the proxy CA the interception is visible: the certificate is not trusted.
    with pytest.raises(ssl.SSLCertVerificationError):
        proxied_request(imnot.url, "POST", f"{STAYLINK_TLS}/oauth/token")


# --------------------------------------------------------------------------- passthrough


def test_non_partner_host_passes_through_untouched(imnot: Imnot,
                                                   upstream: UpstreamServer) -> None:
    target = "/echo/p%C3%A4th;v=1?b=2&a=%201&a=3"
    body = b'{"raw": true}\x00\xff\r\n'
    reply = imnot.request(
        "PATCH", f"http://127.0.0.1:{upstream.port}{target}", body,
        headers={"X-Custom": "kept", "Content-Type": "application/octet-stream"},
        session="a-session", user="a-user",
    )
    assert reply.status == 200
    assert reply.json() == {"upstream": True, "path": target}
    [seen] = [r for r in upstream.wait_for_requests(1) if r.path == target]
    assert (seen.method, seen.path, seen.body) == ("PATCH", target, body)
    assert seen.headers["X-Custom"] == "kept"
    assert seen.headers["Content-Type"] == "application/octet-stream"
    assert seen.headers["X-Imnot-Session"] is None
    assert seen.headers["Proxy-Authorization"] is None


def test_https_to_non_partner_host_is_tunnelled_not_decrypted(imnot: Imnot) -> None:
    with TlsUpstreamServer() as server:
        # The client trusts only the real server's CA: a decrypting proxy would fail here.
        reply = imnot.request("GET", f"{server.url}/tls-through", cafile=server.cert_path)
        assert reply.json() == {"upstream": True, "path": "/tls-through"}
        assert [r.path for r in server.wait_for_requests(1)] == ["/tls-through"]


def test_miss_on_partner_host_is_404_naming_closest_routes(imnot: Imnot,
                                                           upstream: UpstreamServer) -> None:
    miss = imnot.request("GET", f"{STAYLINK}/staylink/reservation")
    assert miss.status == 404
    body = miss.json()
    assert body["detail"] == "No imnot route for GET /staylink/reservation"
    assert "POST /staylink/reservations (staylink/reservation)" in body["closest"]

    # A partner host is never contacted for a miss: localhost is localmock's host.
    before = len(upstream.requests)
    local_miss = imnot.request("GET", f"http://localhost:{upstream.port}/other/thing")
    assert local_miss.status == 404
    assert local_miss.headers["Content-Type"] == "application/json"
    assert "GET /mock/hello (localmock/hello)" in local_miss.json()["closest"]
    assert len(upstream.requests) == before


def test_unmatched_passthrough_sends_misses_upstream(start_imnot: StartImnot,
                                                     upstream: UpstreamServer) -> None:
    proxy = start_imnot(E2E_PARTNERS / "core", name="passthrough", imnot_unmatched="passthrough")
    miss = proxy.request("POST", f"http://localhost:{upstream.port}/other?x=1", b"abc",
                         session="s1", user="u1")
    assert miss.json() == {"upstream": True, "path": "/other?x=1"}
    [seen] = [r for r in upstream.wait_for_requests(1) if r.path == "/other?x=1"]
    assert seen.body == b"abc"
    assert (seen.headers["X-Imnot-Session"], seen.headers["Proxy-Authorization"]) == (None, None)

    before = len(upstream.requests)
    hit = proxy.request("GET", f"http://localhost:{upstream.port}/mock/hello")
    assert (hit.status, hit.json()) == (200, {"hello": "local"})
    assert len(upstream.requests) == before


# --------------------------------------------------------------------------- direct


def test_direct_requests_on_the_proxy_port(imnot: Imnot) -> None:
    imnot.upload("staylink", "reservation", {"reservationId": "DIRECT"})
    submit = imnot.direct("POST", "/staylink/reservations", {"guest": "direct"})
    assert submit.status == 202
    location = submit.headers["Location"]
    head = imnot.direct("HEAD", location)
    assert (head.status, head.headers["Status"]) == (201, "COMPLETED")
    assert imnot.direct("GET", location).json() == {"reservationId": "DIRECT"}

    static = imnot.direct("GET", "/mock/hello")
    assert static.json() == {"hello": "local"}
    assert imnot.direct("GET", "/healthz").json()["status"] == "ok"
    partners = {p["partner"] for p in imnot.admin("GET", "partners").json()}
    assert {"staylink", "bookingco", "localmock"} <= partners

    miss = imnot.direct("GET", "/staylink/nothing-here")
    assert miss.status == 404
    assert miss.json()["detail"] == "No imnot route for GET /staylink/nothing-here"


def test_admin_api_on_the_admin_host_through_the_proxy(imnot: Imnot) -> None:
    session = imnot.new_session("localmock", "items", {"via": "admin host"})
    reply = imnot.request("GET", f"http://imnot.proxy/imnot/admin/localmock/items/payload/session/{session}")
    assert reply.status == 200
    assert reply.json()["payload"] == {"via": "admin host"}
    deleted = imnot.request("DELETE", f"http://imnot.proxy/imnot/admin/sessions/{session}")
    assert deleted.json() == {"status": "ok", "session_id": session}
    gone = imnot.request("GET", f"{LOCAL}/mock/items", session=session)
    assert gone.status == 404


# --------------------------------------------------------------------------- bad input


def test_bad_input_gets_json_errors_and_the_proxy_keeps_serving(imnot: Imnot) -> None:
    polling = imnot.request("POST", f"{LOCAL}/mock/jobs", b"{not json",
                            headers={"Content-Type": "application/json"})
    assert polling.status == 422
    assert polling.json() == {"detail": ["body.kind: required"]}

    callback = imnot.request("POST", f"{BOOKINGCO}/bookingco/v1/exports", b"{not json")
    assert callback.status in (400, 422)
    assert "detail" in callback.json()

    huge = imnot.request("POST", f"{STAYLINK}/oauth/token", headers={"X-Huge": "h" * 300_000})
    assert huge.status == 200
    assert huge.json()["token_type"] == "Bearer"

    known_path = imnot.request("FOO", f"{STAYLINK}/staylink/reservations")
    assert known_path.status == 405
    assert known_path.json() == {"detail": "Method Not Allowed"}
    unknown_path = imnot.request("FOO", f"{STAYLINK}/nowhere")
    assert unknown_path.status == 404
    assert unknown_path.json()["detail"] == "No imnot route for FOO /nowhere"

    with socket.create_connection(("127.0.0.1", imnot.port), timeout=5) as raw:
        raw.sendall(b"\x16\x03garbage that is not HTTP\r\n\r\n")
        raw.settimeout(5)
        try:
            while raw.recv(65536):
                pass
        except (ConnectionResetError, TimeoutError):
            pass

    after = imnot.request("POST", f"{STAYLINK}/oauth/token")
    assert after.status == 200
    assert imnot.proc.alive
    assert imnot.tracebacks() == []


# --------------------------------------------------------------------------- persistence


def test_restart_and_kill9_keep_payloads_sessions_and_ids(start_imnot: StartImnot) -> None:
    proxy = start_imnot(REPO_PARTNERS, name="restart")
    proxy.upload("staylink", "reservation", {"reservationId": "BEFORE-RESTART"})
    session = proxy.new_session("staylink", "reservation", {"reservationId": "SESSION"})
    first = submit_reservation(proxy, STAYLINK)

    assert proxy.stop() == 0
    proxy.restart()
    url = f"{STAYLINK}/staylink/reservations/{first}"
    assert proxy.request("GET", url).json() == {"reservationId": "BEFORE-RESTART"}
    assert proxy.request("GET", url, session=session).json() == {"reservationId": "SESSION"}

    proxy.upload("staylink", "reservation", {"reservationId": "BEFORE-KILL"})
    second = submit_reservation(proxy, STAYLINK)
    assert proxy.kill9() == -9
    proxy.restart()
    for issued in (first, second):
        reply = proxy.request("GET", f"{STAYLINK}/staylink/reservations/{issued}")
        assert (reply.status, reply.json()) == (200, {"reservationId": "BEFORE-KILL"})
    sessions = {s["session_id"] for s in proxy.admin("GET", "sessions").json()}
    assert session in sessions
    assert proxy.request("GET", url, session=session).json() == {"reservationId": "SESSION"}
