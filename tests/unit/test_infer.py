"""``record to-yaml``: inference from hand-built exchanges, the YAML writer, and the CLI on
HAR files from us, from a browser, cut short, malformed, and on mitmproxy flow files."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from imnot_proxy import loader
from imnot_proxy.cli import main
from imnot_proxy.engine import Engine, Mocked
from imnot_proxy.messages import CIHeaders, MockResponse, RequestView
from imnot_proxy.recording import yamlout
from imnot_proxy.recording.exchange import Exchange
from imnot_proxy.recording.har import HarWriter, to_entry
from imnot_proxy.recording.infer import (
    Inference,
    flow_ranges,
    id_kind,
    infer,
)
from imnot_proxy.seeding import seed_payloads

HAR_DATA = Path(__file__).resolve().parents[1] / "data" / "har"
BASE = "https://api.partner.example"
JSON = (("Content-Type", "application/json"),)


def ex(method: str, path: str, status: int | None = 200, body: Any = b"", *,
       headers: Sequence[tuple[str, str]] = (), request: Any = b"",
       request_headers: Sequence[tuple[str, str]] = (), base: str = BASE,
       error: str | None = None) -> Exchange:
    """One exchange; a non-bytes body or request is sent as JSON."""
    response_headers = tuple(headers)
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
        response_headers = JSON + response_headers
    request_pairs = tuple(request_headers)
    if not isinstance(request, bytes):
        request = json.dumps(request).encode()
        request_pairs = JSON + request_pairs
    return Exchange(0.0, method, base + path, request_pairs, request, status, response_headers,
                    body, error)


def job_flow(job: str, *, location: str | None = None, statuses: Sequence[str] = (
        "PENDING", "PENDING", "COMPLETED")) -> list[Exchange]:
    flows = [ex("POST", "/jobs", 202, b"", headers=[("Location", location or f"/jobs/{job}")],
                request={"report": "daily"})]
    flows += [ex("GET", f"/jobs/{job}/status", 200, {"jobId": job, "status": s})
              for s in statuses]
    flows.append(ex("GET", f"/jobs/{job}/result", 200, {"jobId": job, "rows": [1, 2]}))
    return flows


def datapoint(result: Inference, name: str) -> dict[str, Any]:
    found = [dp for dp in result.datapoints if dp.name == name]
    assert found, [dp.name for dp in result.datapoints]
    return found[0].data


def endpoint(result: Inference, name: str, index: int = 0) -> dict[str, Any]:
    return datapoint(result, name)["endpoints"][index]


def payload(result: Inference, name: str) -> Any:
    dp = next(dp for dp in result.datapoints if dp.name == name)
    assert dp.has_payload
    return dp.payload


def rendered(result: Inference, tmp_path: Path) -> yamlout.Rendered:
    return yamlout.render(result, ["test.har"], tmp_path / result.partner)


# --- path templates ---------------------------------------------------------------------


@pytest.mark.parametrize(("segment", "kind"), [
    ("3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f", "a UUID"),
    ("12345", "a number"),
    ("a1b2c3d4e5f6", "a hex token"),
    ("Zx81kQ2pLm09TTqa", "a token"),
    ("ord_1NXWPnCo2eZc7X", "a token"),
    ("reservations", None),
    ("v2", None),
    ("RES-001", None),
    ("deadbeef", None),
])
def test_id_shaped_segments(segment: str, kind: str | None) -> None:
    assert id_kind(segment) == kind


def test_flow_ranges() -> None:
    assert flow_ranges([9, 4, 5, 6, 11, 12]) == "4–6, 9, 11–12"
    assert flow_ranges([3]) == "3"


def test_a_value_from_an_earlier_response_becomes_a_parameter() -> None:
    result = infer([
        ex("GET", "/properties", 200, {"properties": [{"code": "P100"}, {"code": "P200"}]}),
        ex("GET", "/properties/P100", 200, {"code": "P100", "rooms": 3}),
        ex("GET", "/properties/P300", 200, {"code": "P300", "rooms": 1}),
    ], "p")
    assert endpoint(result, "property")["path"] == "/properties/{id}"
    why = next(r.why for r in result.inferred if r.request == "GET /properties/{id}")
    assert "'P100' came in the response of flow 1" in why
    assert [r.flows for r in result.inferred] == ["1", "2–3"]


def test_two_parameters_are_named_after_the_preceding_segment() -> None:
    result = infer([ex("GET", "/v1/properties/17/rooms/a1b2c3d4e5f6", 200, {"bed": 2})], "p")
    assert endpoint(result, "room")["path"] == "/v1/properties/{propertyId}/rooms/{id}"


def test_version_strings_and_earlier_literals_stay_literal() -> None:
    result = infer([
        ex("GET", "/api/v2/info", 200, {"apiVersion": "v2", "region": "eu-1"}),
        ex("GET", "/api/v2/regions/eu-1", 200, {"name": "Europe"}),
    ], "p")
    assert endpoint(result, "info")["path"] == "/api/v2/info"
    assert endpoint(result, "region")["path"] == "/api/v2/regions/{id}"


# --- polling --------------------------------------------------------------------------


def test_polling_from_location_with_pending_series() -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    result = infer(job_flow(a) + job_flow(b, statuses=("PENDING", "COMPLETED")), "p")
    dp = datapoint(result, "jobs")
    assert dp["pattern"] == "polling"
    submit, status, fetch = dp["endpoints"]
    assert submit == {"step": 1, "method": "POST", "path": "/jobs", "response": {
        "status": 202, "generates_id": True, "id_header": "Location",
        "id_header_value": "/jobs/{id}"}}
    assert status["step"] == 2 and status["path"] == "/jobs/{id}/status"
    assert status["response"] == {
        "status": 200, "body": {"jobId": "{id}", "status": "COMPLETED"},
        "pending": [{"polls": 2, "status": 200, "body": {"jobId": "{id}", "status": "PENDING"}}]}
    assert fetch == {"step": 3, "method": "GET", "path": "/jobs/{id}/result",
                     "response": {"status": 200, "returns_payload": True}}
    assert payload(result, "jobs") == {"jobId": b, "rows": [1, 2]}
    comment = result.datapoints[0].comment
    assert comment.startswith("polling: POST /jobs → 202 Location, 5 GET status polls, "
                              "result GET; from flows 1–9")


def test_polling_keeps_an_absolute_location_as_recorded() -> None:
    job = str(uuid.uuid4())
    result = infer(job_flow(job, location=f"{BASE}/jobs/{job}"), "p")
    response = endpoint(result, "jobs")["response"]
    assert response["id_header_value"] == f"{BASE}/jobs/{{id}}"


def test_polling_with_the_id_in_a_body_field_and_head_status() -> None:
    job = "a1b2c3d4e5f60718"
    flows = [
        ex("POST", "/reservations", 201, {"reservationId": job, "state": "RECEIVED"},
           request={"guest": "QA"}),
        ex("HEAD", f"/reservations/{job}", 200, b"", headers=[("Status", "PENDING")]),
        ex("HEAD", f"/reservations/{job}", 201, b"", headers=[("Status", "COMPLETED")]),
        ex("GET", f"/reservations/{job}", 200, {"reservationId": job, "guest": "QA"}),
    ]
    result = infer(flows, "p")
    submit, head, get = datapoint(result, "reservations")["endpoints"]
    assert submit["response"] == {"status": 201, "generates_id": True,
                                  "id_body_field": "reservationId",
                                  "body": {"state": "RECEIVED"}}
    assert (head["method"], head["path"]) == ("HEAD", "/reservations/{id}")
    assert head["response"] == {"status": 201, "headers": {"Status": "COMPLETED"},
                                "pending": [{"polls": 1, "status": 200,
                                             "headers": {"Status": "PENDING"}}]}
    assert (get["method"], get["path"], get["response"]) == (
        "GET", "/reservations/{id}", {"status": 200, "returns_payload": True})


def test_one_status_route_whose_answer_changes_is_a_status_step() -> None:
    job = str(uuid.uuid4())
    result = infer([
        ex("POST", "/exports", 202, b"", headers=[("Location", f"/exports/{job}")]),
        ex("GET", f"/exports/{job}", 200, {"state": "RUNNING"}),
        ex("GET", f"/exports/{job}", 200, {"state": "DONE", "url": f"/files/{job}.csv"}),
    ], "p")
    status = endpoint(result, "exports", 1)["response"]
    assert status["body"] == {"state": "DONE", "url": "/files/{id}.csv"}
    assert status["pending"] == [{"polls": 1, "status": 200, "body": {"state": "RUNNING"}}]
    assert not next(dp for dp in result.datapoints if dp.name == "exports").has_payload


def test_requests_on_a_step_route_for_unknown_ids_join_the_step() -> None:
    job = str(uuid.uuid4())
    old = str(uuid.uuid4())
    result = infer(job_flow(job) + [ex("GET", f"/jobs/{old}/status", 404, {"detail": "gone"})],
                   "p")
    assert [dp.name for dp in result.datapoints] == ["jobs"]
    row = next(r for r in result.inferred if r.request == "GET /jobs/{id}/status")
    assert "1 requests on ids not given out here" in row.why


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


def test_failed_exchanges_are_skipped_and_listed() -> None:
    result = infer([ex("GET", "/down", None, b"", error="connection refused"),
                    ex("GET", "/up", 200, {"ok": True})], "p")
    assert [(r.flows, r.why) for r in result.skipped] == [("1", "no response: connection refused")]
    assert [dp.name for dp in result.datapoints] == ["up"]


def test_same_last_segment_gets_distinct_names() -> None:
    result = infer([ex("GET", "/orders", 200, {"orders": []}),
                    ex("POST", "/orders", 200, {"ok": True}),
                    ex("GET", "/archive/orders", 200, {"orders": []})], "p")
    assert [dp.name for dp in result.datapoints] == ["orders", "post_orders", "archive_orders"]


# --- paginated ---------------------------------------------------------------------------


def offset_pages(items: list[Any], limit: int = 2, order: Sequence[int] = ()) -> list[Exchange]:
    offsets = list(order) or list(range(0, len(items), limit))
    out = []
    for offset in offsets:
        more = offset + limit < len(items)
        out.append(ex("GET", f"/items?offset={offset}&limit={limit}", 200, {
            "items": items[offset:offset + limit], "total": len(items), "hasMore": more,
            "nextOffset": offset + limit if more else None, "offset": offset, "limit": limit}))
    return out


def test_offset_limit_pages_deduplicated_in_order() -> None:
    items = [{"n": i} for i in range(5)]
    result = infer(offset_pages(items, order=(0, 2, 0, 4)), "p")
    assert datapoint(result, "items")["pagination"] == {
        "style": "offset_limit", "items_field": "items", "total_field": "total",
        "has_more_field": "hasMore", "next_offset_field": "nextOffset",
        "offset_echo_field": "offset", "limit_echo_field": "limit"}
    assert payload(result, "items") == items


def test_page_and_per_page() -> None:
    rooms = [{"id": f"R{i}"} for i in range(3)]
    result = infer([
        ex("GET", "/rooms?page=1&per_page=2", 200, {"results": rooms[:2], "count": 3}),
        ex("GET", "/rooms?page=2&per_page=2", 200, {"results": rooms[2:], "count": 3}),
    ], "p")
    assert datapoint(result, "rooms")["pagination"] == {
        "style": "page_number", "items_field": "results", "total_field": "count",
        "size_param": "per_page"}
    assert payload(result, "rooms") == rooms


def test_page_number_with_next_and_previous_urls() -> None:
    result = infer([
        ex("GET", "/guests?pageNumber=1&pageSize=1", 200, {
            "entries": [{"g": 1}], "next": f"{BASE}/guests?pageNumber=2&pageSize=1",
            "previous": None, "totalItems": 2}),
        ex("GET", "/guests?pageNumber=2&pageSize=1", 200, {
            "entries": [{"g": 2}], "next": None,
            "previous": f"{BASE}/guests?pageNumber=1&pageSize=1", "totalItems": 2}),
    ], "p")
    assert datapoint(result, "guests")["pagination"] == {
        "style": "page_number_url", "items_field": "entries", "total_field": "totalItems",
        "page_param": "pageNumber", "size_param": "pageSize", "next_url_field": "next",
        "previous_url_field": "previous"}
    assert payload(result, "guests") == [{"g": 1}, {"g": 2}]


def test_cursor_from_a_response_field_that_comes_back_as_a_query_param() -> None:
    result = infer([
        ex("GET", "/events?limit=2", 200, {"data": [1, 2], "nextCursor": "c-2", "hasMore": True}),
        ex("GET", "/events?limit=2&cursor=c-2", 200, {"data": [3], "nextCursor": None,
                                                      "hasMore": False}),
    ], "p")
    assert datapoint(result, "events")["pagination"] == {
        "style": "cursor", "items_field": "data", "cursor_field": "nextCursor",
        "has_more_field": "hasMore"}
    assert payload(result, "events") == [1, 2, 3]


def test_a_list_without_paging_params_is_a_fetch() -> None:
    result = infer([ex("GET", "/countries", 200, {"items": ["NL", "DE"]})], "p")
    assert datapoint(result, "countries")["pattern"] == "fetch"


# --- callback ----------------------------------------------------------------------------


def test_callback_url_field_with_the_partners_call_recorded() -> None:
    hook = "http://staging.client.example/hooks/42"
    result = infer([
        ex("POST", "/reports", 202, {"accepted": True},
           request={"range": "2026-06", "callbackUrl": hook}),
        Exchange(1.0, "PUT", hook, JSON, b'{"report": {"lines": 3}}', 200, (), b""),
    ], "p")
    assert endpoint(result, "reports")["response"] == {
        "status": 202, "callback_url_field": "callbackUrl", "callback_method": "PUT"}
    assert payload(result, "reports") == {"report": {"lines": 3}}
    assert result.hosts == ["api.partner.example"]


def test_callback_url_header_without_delivery() -> None:
    result = infer([ex("POST", "/notify", 202, b"", request={"a": 1},
                       request_headers=[("X-Callback-Url", "https://client.example/cb")])], "p")
    assert endpoint(result, "notify")["response"] == {
        "status": 202, "callback_url_header": "X-Callback-Url"}
    row = result.inferred[0]
    assert "not in the recording" in row.why


# --- hosts ----------------------------------------------------------------------------------


def test_hosts_from_the_recording_and_the_host_filter() -> None:
    flows = [ex("GET", "/a", 200, {"a": 1}),
             ex("GET", "/b", 200, {"b": 1}, base="https://cdn.other.example"),
             ex("GET", "/c", 200, {"c": 1}, base="https://eu.partner.example")]
    assert infer(flows, "p").hosts == ["api.partner.example", "cdn.other.example",
                                       "eu.partner.example"]
    picked = infer(flows, "p", hosts=["*.partner.example"])
    assert picked.hosts == ["api.partner.example", "eu.partner.example"]
    assert [(r.flows, r.request, r.why) for r in picked.skipped] == [
        ("2", "1 flows to cdn.other.example", "host not selected with --host")]


# --- YAML writer -----------------------------------------------------------------------------


def everything() -> list[Exchange]:
    job = "0f8c1e2a-1111-4222-8333-944455556666"
    return ([ex("POST", "/oauth/token", 200, {"access_token": "t", "token_type": "Bearer",
                                               "expires_in": 60})]
            + job_flow(job)
            + offset_pages([{"n": i} for i in range(3)])
            + [ex("GET", "/properties/42", 200, {"id": 42}),
               ex("GET", "/lookup", 200, b"a,b\n", headers=[("Content-Type", "text/csv")])])


def test_rendered_yaml_loads_and_keeps_key_order_and_comments(tmp_path: Path) -> None:
    out = rendered(infer(everything(), "acme"), tmp_path)
    text = out.partner_yaml
    assert text.index("partner: acme") < text.index("hosts:") < text.index("datapoints:")
    assert "  # polling: POST /jobs → 202 Location, 3 GET status polls, result GET; " \
           "from flows 2–6" in text
    data = yaml.safe_load(text)
    assert list(data) == ["partner", "description", "hosts", "datapoints"]
    assert [list(dp) for dp in data["datapoints"]][2] == [
        "name", "description", "pattern", "endpoints", "pagination"]
    assert set(out.payloads) == {"payloads/jobs.json", "payloads/items.json",
                                 "payloads/property.json"}
    source, problems = loader.parse_partner(text, tmp_path / "partner.yaml", strict=True)
    assert source is not None and problems == []


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    first = rendered(infer(everything(), "acme"), tmp_path)
    second = rendered(infer(everything(), "acme"), tmp_path)
    assert first == second


def test_yaml_that_does_not_validate_is_an_error(tmp_path: Path) -> None:
    result = infer([ex("GET", "/a", 200, {"a": 1})], "p")
    result.datapoints[0].data["endpoints"][0]["path"] = "no-slash"
    with pytest.raises(yamlout.OutputError, match="path must start with '/'"):
        rendered(result, tmp_path)


def view(method: str, path: str, query: str = "") -> RequestView:
    return RequestView(method, path, query, CIHeaders({}), b"", "https", "api.partner.example",
                       443)


def call(engine: Engine, method: str, path: str, query: str = "") -> MockResponse:
    outcome = engine.handle(view(method, path, query))
    assert isinstance(outcome, Mocked), outcome
    return outcome.response


def test_generated_files_drive_the_engine(tmp_path: Path, store: Any) -> None:
    folder = tmp_path / "acme"
    yamlout.write(rendered(infer(everything(), "acme"), tmp_path), folder)
    result = loader.load_paths([tmp_path])
    assert result.errors == []
    assert seed_payloads(result.partners, store) == ["acme/jobs", "acme/items",
                                                     "acme/property"]
    engine = Engine(result.partners, store)
    submit = call(engine, "POST", "/jobs")
    location = dict(submit.headers)["Location"]
    job = location.rsplit("/", 1)[-1]
    statuses = [json.loads(call(engine, "GET", f"{location}/status").body)
                for _ in range(3)]
    assert statuses == [{"jobId": job, "status": s} for s in ("PENDING", "PENDING", "COMPLETED")]
    assert json.loads(call(engine, "GET", f"{location}/result").body)["rows"] == [1, 2]
    page = json.loads(call(engine, "GET", "/items", "offset=2&limit=2").body)
    assert page == {"items": [{"n": 2}], "total": 3, "hasMore": False, "nextOffset": None,
                    "offset": 2, "limit": 2}
    lookup = call(engine, "GET", "/lookup")
    assert (lookup.body, dict(lookup.headers)["Content-Type"]) == (b"a,b\n", "text/csv")


# --- redaction ---------------------------------------------------------------------------------


SECRETS = ("sup3r-secret-password", "client-secret-7788", "tok.en.value-5566",
           "cookie-value-9911", "api-key-value-3344", "refresh-token-2233")


def unredacted() -> list[Exchange]:
    password, client_secret, token, cookie, api_key, refresh = SECRETS
    return [
        ex("POST", "/oauth/token", 200, {"access_token": token, "refresh_token": refresh,
                                          "token_type": "Bearer", "expires_in": 60},
           request=f"grant_type=password&password={password}&client_secret={client_secret}"
           .encode(), request_headers=[("Content-Type", "application/x-www-form-urlencoded")],
           headers=[("Set-Cookie", f"sid={cookie}; HttpOnly")]),
        ex("GET", f"/profile?api_key={api_key}", 200,
           {"user": "qa", "apiKey": api_key, "debug": f"authorized with {token}"},
           request_headers=[("Authorization", f"Bearer {token}"), ("Cookie", f"sid={cookie}")]),
        ex("GET", "/notes", 200, f"last login token {token}".encode(),
           headers=[("Content-Type", "text/plain"), ("X-Session", cookie)]),
    ]


def write_har(path: Path, exchanges: Sequence[Exchange]) -> Path:
    """A HAR as a browser would export it: plain JSON, secrets and all."""
    entries = [to_entry(e) for e in exchanges]
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"},
                                        "entries": entries}}), "utf-8")
    return path


def all_text(folder: Path) -> str:
    return "\n".join(p.read_text("utf-8") for p in sorted(folder.rglob("*")) if p.is_file())


def test_secrets_sent_and_received_reach_no_written_file(tmp_path: Path) -> None:
    har = write_har(tmp_path / "raw.har", unredacted())
    out = tmp_path / "partners"
    assert main(["record", "to-yaml", str(har), "--partner", "raw", "--out", str(out)]) == 0
    text = all_text(out)
    assert "REDACTED" in text
    for secret in SECRETS:
        assert secret not in text


# --- the CLI on files --------------------------------------------------------------------------


def test_browser_har_with_pages_cookies_base64_and_http2(tmp_path: Path, capsys) -> None:
    out = tmp_path / "partners"
    code = main(["record", "to-yaml", str(HAR_DATA / "browser.har"), "--partner", "shop",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr()
    report = capsys.readouterr().out
    assert "net::ERR_CONNECTION_RESET" in report and "binary body" in report
    data = yaml.safe_load((out / "shop" / "partner.yaml").read_text("utf-8"))
    assert data["hosts"] == ["api.shop.example"]
    assert [(d["name"], d["pattern"]) for d in data["datapoints"]] == [
        ("token", "oauth"), ("hotel", "fetch"), ("rooms", "paginated")]
    assert data["datapoints"][2]["endpoints"][0]["path"] == "/v2/hotels/{id}/rooms"
    rooms = json.loads((out / "shop" / "payloads" / "rooms.json").read_text("utf-8"))
    assert [r["roomId"] for r in rooms] == ["R1", "R2", "R3", "R4", "R5"]
    text = all_text(out)
    for secret in ("browser-client-secret-55", "browser-token-9f8e7d6c5b4a",
                   "browser-session-cookie-77", "browser-refresh-cookie-88"):
        assert secret not in text


def test_host_filter_on_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "partners"
    assert main(["record", "to-yaml", str(HAR_DATA / "browser.har"), "--partner", "cdn",
                 "--out", str(out), "--host", "cdn.shop.example"]) == 1  # only a binary flow
    assert not out.exists()


@pytest.mark.parametrize(("name", "reason"), [
    ("not_json.har", "not JSON, and no complete HAR entries found"),
    ("no_entries.har", "not a HAR file (expected log.entries)"),
    ("entry_without_url.har", "log.entries.0: entry without request.method/request.url"),
    ("missing.har", "no such file"),
])
def test_malformed_input_is_a_clear_error_and_writes_nothing(
        name: str, reason: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "partners"
    good = HAR_DATA / "browser.har"
    code = main(["record", "to-yaml", str(good), str(HAR_DATA / name), "--partner", "x",
                 "--out", str(out)])
    assert code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"{HAR_DATA / name}: {reason}" in err
    assert not out.exists()


def test_truncated_har_from_the_writer_is_recovered(tmp_path: Path) -> None:
    har = tmp_path / "cut.har"
    writer = HarWriter(har)
    for exchange in everything():
        writer.append(exchange)
    writer.close()
    text = har.read_text("utf-8")
    har.write_text(text[: text.rindex("\n]}}") - 40], "utf-8")  # the last entry is cut
    out = tmp_path / "partners"
    assert main(["record", "to-yaml", str(har), "--partner", "cut", "--out", str(out)]) == 0
    data = yaml.safe_load((out / "cut" / "partner.yaml").read_text("utf-8"))
    assert [d["name"] for d in data["datapoints"]] == ["token", "jobs", "items", "property"]


def test_mitmproxy_flow_file(tmp_path: Path) -> None:
    from mitmproxy import http, io
    from mitmproxy.test import tflow

    flow = tflow.tflow(resp=True)
    flow.request.url = "http://api.partner.example/hotels/7"
    flow.response = http.Response.make(200, b'{"hotel": 7}', {"Content-Type": "application/json"})
    path = tmp_path / "flows.mitm"
    with open(path, "wb") as handle:
        io.FlowWriter(handle).add(flow)
    out = tmp_path / "partners"
    assert main(["record", "to-yaml", str(path), "--partner", "mitm", "--out", str(out)]) == 0
    data = yaml.safe_load((out / "mitm" / "partner.yaml").read_text("utf-8"))
    assert data["datapoints"][0]["endpoints"][0]["path"] == "/hotels/{id}"
    assert json.loads((out / "mitm" / "payloads" / "hotel.json").read_text()) == {"hotel": 7}


def test_dry_run_writes_nothing_and_existing_files_need_force(tmp_path: Path, capsys) -> None:
    har = write_har(tmp_path / "a.har", everything())
    out = tmp_path / "partners"
    args = ["record", "to-yaml", str(har), "--partner", "acme", "--out", str(out)]
    assert main([*args, "--dry-run"]) == 0
    assert "partner: acme" in capsys.readouterr().out
    assert not out.exists()
    assert main(args) == 0
    assert main(args) == 1
    assert "use --force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0


def test_cli_output_is_byte_identical_across_runs(tmp_path: Path) -> None:
    har = write_har(tmp_path / "a.har", everything() + unredacted())
    runs = []
    for n in range(2):
        out = tmp_path / f"out{n}"
        assert main(["record", "to-yaml", str(har), "--partner", "acme", "--out", str(out)]) == 0
        runs.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*"))
                     if p.is_file()})
    assert runs[0] == runs[1]
    assert len(runs[0]) == 5  # partner.yaml and four payloads


def test_bad_partner_name(tmp_path: Path) -> None:
    assert main(["record", "to-yaml", str(HAR_DATA / "browser.har"), "--partner", "no way",
                 "--out", str(tmp_path)]) == 1
