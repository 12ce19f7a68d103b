"""One detector per pattern: oauth, callback, fetch and static datapoints from one route's flows."""

from __future__ import annotations

from imnot_proxy.recording.exchange import Exchange
from imnot_proxy.recording.infer import infer

from .infer_support import JSON, datapoint, endpoint, ex, payload

# --- oauth, fetch, static --------------------------------------------------------------------


def test_oauth_keeps_token_type_expiry_and_status() -> None:
    result = infer([ex("POST", "/oauth2/token", 201, {"access_token": "abc.def.ghi",
                                                       "token_type": "bearer",
                                                       "expires_in": 900})], "p")
    assert datapoint(result, "token")["pattern"] == "oauth"
    assert endpoint(result, "token")["response"] == {"status": 201, "token_type": "bearer",
                                                     "expires_in": 900}


def test_fetch_payload_is_the_last_body_of_the_route() -> None:
    result = infer([
        ex("GET", "/charges?propertyId=P1", 200, {"total": 10}),
        ex("GET", "/charges?propertyId=P2", 200, {"total": 20}),
    ], "p")
    assert datapoint(result, "charges")["pattern"] == "fetch"
    assert endpoint(result, "charges")["response"] == {"status": 200}
    assert payload(result, "charges") == {"total": 20}


def test_static_text_body_with_headers_that_matter() -> None:
    xml = "<rates><rate code='BAR'/></rates>"
    result = infer([ex("GET", "/rates.xml", 200, xml.encode(), headers=[
        ("Content-Type", "application/xml"), ("Date", "Mon, 01 Jun 2026 10:00:00 GMT"),
        ("Server", "nginx"), ("Content-Length", "33"), ("Connection", "keep-alive"),
        ("Set-Cookie", "a=b"), ("X-Request-Id", "r-1"), ("X-Rate-Plan", "BAR"),
        ("Retry-After", "5"), ("X-Api-Key", "k")])], "p")
    assert endpoint(result, "rates")["response"] == {
        "status": 200,
        "headers": {"Content-Type": "application/xml", "X-Rate-Plan": "BAR", "Retry-After": "5"},
        "body": xml}


def test_static_for_writes_and_errors_and_empty_bodies() -> None:
    result = infer([
        ex("DELETE", "/sessions/current", 204, b""),
        ex("POST", "/orders", 409, {"detail": "duplicate"}),
        ex("PUT", "/flags/beta", 200, b""),
    ], "p")
    assert endpoint(result, "current")["response"] == {"status": 204}
    assert endpoint(result, "orders")["response"] == {"status": 409,
                                                      "body": {"detail": "duplicate"}}
    assert endpoint(result, "beta")["response"] == {
        "status": 200, "headers": {"Content-Type": "text/plain"}, "body": ""}


def test_binary_body_is_listed_not_dropped() -> None:
    result = infer([ex("GET", "/logo.png", 200, b"\x89PNG\x00\x01",
                       headers=[("Content-Type", "image/png")]),
                    ex("GET", "/ping", 200, {"ok": True})], "p")
    assert [dp.name for dp in result.datapoints] == ["ping"]
    assert result.skipped[0].request == "GET api.partner.example/logo.png"
    assert "binary body (6 bytes, image/png)" in result.skipped[0].why



# --- callback ----------------------------------------------------------------------------


def test_callback_url_field_with_the_partners_call_recorded() -> None:
    hook = "http://staging.client.example/hooks/42"
    result = infer([
        ex("POST", "/reports", 202, {"accepted": True},
           request={"range": "2026-06", "callbackUrl": hook}),
        Exchange(1.0, "PUT", hook, JSON, b'{"report": {"lines": 3}}', 200, (), b""),
    ], "p")
    assert endpoint(result, "reports")["response"] == {
        "status": 202, "callback_url_field": "callbackUrl", "callback_method": "PUT",
        "body": {"accepted": True}}
    assert payload(result, "reports") == {"report": {"lines": 3}}
    assert result.hosts == ["api.partner.example"]


def test_callback_url_header_without_delivery() -> None:
    result = infer([ex("POST", "/notify", 202, b"", request={"a": 1},
                       request_headers=[("X-Callback-Url", "https://client.example/cb")])], "p")
    assert endpoint(result, "notify")["response"] == {
        "status": 202, "callback_url_header": "X-Callback-Url", "body": ""}
    row = result.inferred[0]
    assert "not in the recording" in row.why
