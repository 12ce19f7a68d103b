"""Every pattern through ``Engine`` with ``RequestView``s, over a real temporary store."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from imnot_proxy.engine import Engine, EngineSettings, Forward, Mocked, Unmatched
from imnot_proxy.engine.callback import DeliveryJob, callback_refusal, deliver
from imnot_proxy.engine.oauth import TOKEN
from imnot_proxy.messages import CIHeaders, MockResponse, RequestView, encode_json
from imnot_proxy.routing import ANY_HOST


def view(method: str, path: str, *, query: str = "", headers: dict | None = None,
         body: Any = b"", session: str | None = None, scheme: str = "http", host: str = "",
         port: int = 80, direct: bool = False) -> RequestView:
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return RequestView(method=method, path=path, query_string=query,
                       headers=CIHeaders(headers or {}), body=body, scheme=scheme, host=host,
                       port=port, session=session, direct=direct)


def header(response: MockResponse, name: str) -> str | None:
    return next((v for k, v in response.headers if k.lower() == name.lower()), None)


def as_json(response: MockResponse) -> Any:
    return json.loads(response.body)


@pytest.fixture
def make_engine(tmp_path, store, load_text) -> Callable[..., Engine]:
    def make(text: str, **settings: Any) -> Engine:
        result = load_text(text, tmp_path)
        assert result.errors == [], result.errors
        return Engine(result.partners, store, EngineSettings(**settings))
    return make


def send(engine: Engine, method: str, path: str, **kwargs: Any) -> MockResponse:
    outcome = engine.handle(view(method, path, **kwargs))
    assert isinstance(outcome, Mocked), outcome
    return outcome.response


def put(store, partner: str, datapoint: str, value: Any, outcome: str | None = None) -> None:
    store.put_global(partner, datapoint, encode_json(value), outcome)


# --- oauth ----------------------------------------------------------------------------

OAUTH = """
    partner: p
    datapoints:
      - name: token
        pattern: oauth
        endpoints:
          - {method: POST, path: /token}
          - method: POST
            path: /custom
            response: {status: 201, token_type: MAC, expires_in: 60, access_token: abc,
                       headers: {Cache-Control: no-store}}
    """


def test_oauth_defaults(make_engine):
    response = send(make_engine(OAUTH), "POST", "/token", body=b"ignored")
    assert response.status == 200
    assert as_json(response) == {"access_token": TOKEN, "token_type": "Bearer",
                                 "expires_in": 3600}
    assert header(response, "content-type") == "application/json"


def test_oauth_configured_fields(make_engine):
    response = send(make_engine(OAUTH), "POST", "/custom")
    assert response.status == 201
    assert as_json(response) == {"access_token": "abc", "token_type": "MAC", "expires_in": 60}
    assert header(response, "cache-control") == "no-store"


# --- static ---------------------------------------------------------------------------

STATIC = """
    partner: p
    datapoints:
      - name: s
        pattern: static
        endpoints:
          - {method: GET, path: /object, response: {body: {a: 1, b: [true, null]}}}
          - {method: GET, path: /list, response: {status: 201, body: [1, 2]}}
          - {method: GET, path: /absent}
          - {method: GET, path: /empty-list, response: {body: []}}
          - {method: GET, path: /zero, response: {body: 0}}
          - {method: GET, path: /false, response: {body: false}}
          - {method: GET, path: /empty-string, response: {body: ""}}
          - {method: GET, path: /json-string, response: {body: '{"a": [1]}'}}
          - {method: GET, path: /text-string, response: {body: hello}}
          - method: GET
            path: /plain
            response: {body: hello, headers: {Content-Type: text/plain}}
          - {method: DELETE, path: /object, response: {status: 204, body: {a: 1}}}
          - {method: GET, path: /not-modified, response: {status: 304}}
          - method: GET
            path: /headers
            response: {headers: {X-Trace: abc, Retry-After: 5}, body: {ok: true}}
    """


@pytest.mark.parametrize(("path", "status", "body"), [
    ("/object", 200, b'{"a":1,"b":[true,null]}'),
    ("/list", 201, b"[1,2]"),
    ("/absent", 200, b"{}"),          # the original's default
    ("/empty-list", 200, b"[]"),      # B8: falsy bodies are kept
    ("/zero", 200, b"0"),
    ("/false", 200, b"false"),
    ("/empty-string", 200, b'""'),
    ("/json-string", 200, b'{"a":[1]}'),  # a string holding JSON is sent as that JSON
    ("/text-string", 200, b'"hello"'),   # any other string is a JSON string
])
def test_static_body_shapes(make_engine, path, status, body):
    response = send(make_engine(STATIC), "GET", path)
    assert (response.status, response.body) == (status, body)
    assert header(response, "content-type") == "application/json"


def test_static_string_body_with_a_non_json_type_is_raw_text(make_engine):
    response = send(make_engine(STATIC), "GET", "/plain")
    assert response.body == b"hello"
    assert header(response, "content-type") == "text/plain"


@pytest.mark.parametrize(("method", "path", "status"), [
    ("DELETE", "/object", 204), ("GET", "/not-modified", 304)])
def test_static_no_body_statuses_send_nothing(make_engine, method, path, status):
    response = send(make_engine(STATIC), method, path)
    assert (response.status, response.body) == (status, b"")
    assert header(response, "content-type") is None


def test_static_headers(make_engine):
    response = send(make_engine(STATIC), "GET", "/headers")
    assert header(response, "x-trace") == "abc"
    assert header(response, "retry-after") == "5"
    assert as_json(response) == {"ok": True}


# --- fetch ----------------------------------------------------------------------------

FETCH = """
    partner: p
    datapoints:
      - name: charges
        pattern: fetch
        endpoints:
          - {method: GET, path: /charges}
      - name: record
        pattern: fetch
        endpoints:
          - {method: GET, path: "/records/{id}", response: {status: 201, headers: {X-A: b}}}
    """


def test_fetch_without_payload_is_404(make_engine):
    response = send(make_engine(FETCH), "GET", "/charges")
    assert response.status == 404
    assert as_json(response) == {"detail": "No global payload found for p/charges"}


def test_fetch_returns_the_global_payload_verbatim(make_engine, store):
    engine = make_engine(FETCH)
    put(store, "p", "charges", {"total": 150.0, "items": []})
    response = send(engine, "GET", "/charges")
    assert response.status == 200
    assert as_json(response) == {"total": 150.0, "items": []}
    put(store, "p", "charges", [1])  # last write wins
    assert as_json(send(engine, "GET", "/charges")) == [1]


def test_fetch_status_and_headers_and_any_id(make_engine, store):
    engine = make_engine(FETCH)
    put(store, "p", "record", {"r": 1})
    for id in ("1", "abc"):
        response = send(engine, "GET", f"/records/{id}")
        assert (response.status, as_json(response)) == (201, {"r": 1})
        assert header(response, "x-a") == "b"


def test_fetch_session_payload_and_no_fallback_to_global(make_engine, store):
    engine = make_engine(FETCH)
    put(store, "p", "charges", "global")
    sid = store.create_session("p", "charges", encode_json("mine"))
    assert as_json(send(engine, "GET", "/charges", session=sid)) == "mine"
    assert as_json(send(engine, "GET", "/charges")) == "global"
    missing = send(engine, "GET", "/charges", session="unknown")
    assert missing.status == 404
    assert as_json(missing) == {"detail": "No session payload found for session 'unknown'"}


def test_fetch_session_of_another_datapoint_is_404(make_engine, store):
    engine = make_engine(FETCH)
    put(store, "p", "charges", "global")
    other = store.create_session("p", "record", encode_json("record's"))
    assert send(engine, "GET", "/charges", session=other).status == 404


def test_head_is_answered_by_the_get_route_without_a_body(make_engine, store):
    engine = make_engine(FETCH)
    put(store, "p", "charges", {"total": 150})
    get = send(engine, "GET", "/charges")
    head = send(engine, "HEAD", "/charges")
    assert head.status == get.status == 200
    assert head.body == b""
    assert header(head, "content-length") == str(len(get.body))
    assert header(head, "content-type") == "application/json"


# --- polling --------------------------------------------------------------------------

POLLING = """
    partner: staylink
    datapoints:
      - name: reservation
        pattern: polling
        endpoints:
          - step: 1
            method: POST
            path: /reservations
            response: {status: 202, generates_id: true, id_header: Location,
                       id_header_value: "/reservations/{id}"}
          - {step: 2, method: HEAD, path: "/reservations/{id}",
             response: {status: 201, headers: {Status: COMPLETED}}}
          - {step: 3, method: GET, path: "/reservations/{id}", response: {returns_payload: true}}
      - name: job
        pattern: polling
        endpoints:
          - step: 1
            method: POST
            path: /jobs
            response: {generates_id: true, id_body_field: jobId,
                       body: {state: queued, jobId: placeholder}}
          - {step: 2, method: GET, path: "/jobs/{id}/status", response: {body: {state: done}}}
          - {step: 3, method: GET, path: "/jobs/{id}/result", response: {returns_payload: true}}
      - name: report
        pattern: polling
        strict_order: true
        endpoints:
          - {step: 1, method: POST, path: /reports,
             response: {generates_id: true, id_body_field: reportId}}
          - step: 2
            method: GET
            path: "/reports/{id}/status"
            response:
              body: {reportId: "{id}", status: COMPLETED}
              pending:
                - {polls: 2, body: {reportId: "{id}", status: PENDING}}
              failed: {body: {reportId: "{id}", status: FAILED}}
          - step: 3
            method: GET
            path: "/reports/{id}"
            response:
              returns_payload: true
              failed: {status: 410, body: {detail: "Report {id} failed"}}
      - name: slow
        pattern: polling
        endpoints:
          - {step: 1, method: POST, path: /slow, response: {generates_id: true, id_body_field: id}}
          - step: 2
            method: GET
            path: "/slow/{id}"
            response:
              body: {state: done}
              pending:
                - {seconds: 30, status: 202, body: {state: running}}
          - {step: 3, method: GET, path: "/slow/{id}/result", response: {returns_payload: true}}
    """


@pytest.fixture
def flows(make_engine, clock) -> Engine:
    """The polling flows on the store's clock, so one ``advance`` moves both."""
    return make_engine(POLLING, clock=clock)


def submit_header(engine: Engine, **kwargs: Any) -> str:
    response = send(engine, "POST", "/reservations", **kwargs)
    location = header(response, "location")
    assert location and location.startswith("/reservations/")
    return location.rsplit("/", 1)[1]


def submit_body(engine: Engine, path: str, field: str, **kwargs: Any) -> str:
    return as_json(send(engine, "POST", path, **kwargs))[field]


def test_polling_header_delivery(flows, store):
    response = send(flows, "POST", "/reservations", body={"any": "thing"})
    assert response.status == 202
    assert response.body == b""
    assert header(response, "content-type") is None
    id = header(response, "location").rsplit("/", 1)[1]
    uuid.UUID(id)
    assert store.get_id("staylink", "reservation", id) is not None
    assert response.step == "step 1/3"


def test_polling_body_delivery_merges_the_static_body(flows, store):
    response = send(flows, "POST", "/jobs")
    assert response.status == 202
    body = as_json(response)
    assert body["state"] == "queued"
    assert body["jobId"] != "placeholder"  # the id wins over a static key of the same name
    assert store.get_id("staylink", "job", body["jobId"]) is not None


def test_status_steps_accept_any_id_when_lenient(flows):
    head = send(flows, "HEAD", "/reservations/never-issued")
    assert (head.status, head.body, header(head, "status")) == (201, b"", "COMPLETED")
    status = send(flows, "GET", "/jobs/never-issued/status")
    assert (status.status, as_json(status)) == (200, {"state": "done"})


def test_result_step_unknown_id_is_404(flows, store):
    put(store, "staylink", "reservation", {"r": 1})
    response = send(flows, "GET", "/reservations/never-issued")
    assert response.status == 404
    assert as_json(response) == {"detail": "Unknown request ID: never-issued"}


def test_result_step_returns_the_payload(flows, store):
    id = submit_header(flows)
    missing = send(flows, "GET", f"/reservations/{id}")
    assert as_json(missing) == {"detail": "No global payload found for staylink/reservation"}
    put(store, "staylink", "reservation", {"reservationId": "QA001"})
    response = send(flows, "GET", f"/reservations/{id}")
    assert (response.status, as_json(response)) == (200, {"reservationId": "QA001"})
    assert response.step == "step 3/3"


def test_ids_are_scoped_per_datapoint(flows, store):
    put(store, "staylink", "reservation", {"r": 1})
    put(store, "staylink", "job", {"j": 1})
    report_id = submit_body(flows, "/reports", "reportId")
    assert send(flows, "GET", f"/reservations/{report_id}").status == 404
    assert send(flows, "GET", f"/jobs/{report_id}/result").status == 404


def test_result_uses_the_session_of_the_result_request(flows, store):
    put(store, "staylink", "reservation", "global")
    sid = store.create_session("staylink", "reservation", encode_json("session"))
    id = submit_header(flows, session=sid)
    assert as_json(send(flows, "GET", f"/reservations/{id}")) == "global"
    assert as_json(send(flows, "GET", f"/reservations/{id}", session=sid)) == "session"
    plain = submit_header(flows)
    assert as_json(send(flows, "GET", f"/reservations/{plain}", session=sid)) == "session"
    assert send(flows, "GET", f"/reservations/{plain}", session="other").status == 404


def test_submit_records_the_session(flows, store):
    id = submit_header(flows, session="s1")
    assert store.get_id("staylink", "reservation", id).session_id == "s1"


def report_status(engine: Engine, id: str) -> MockResponse:
    return send(engine, "GET", f"/reports/{id}/status")


def test_pending_progresses_per_id_with_ids_interleaved(flows, store):
    put(store, "staylink", "report", {"rows": 3})
    a = submit_body(flows, "/reports", "reportId")
    b = submit_body(flows, "/reports", "reportId")
    assert as_json(report_status(flows, a)) == {"reportId": a, "status": "PENDING"}
    assert as_json(report_status(flows, b)) == {"reportId": b, "status": "PENDING"}
    assert as_json(report_status(flows, a)) == {"reportId": a, "status": "PENDING"}
    assert as_json(report_status(flows, a)) == {"reportId": a, "status": "COMPLETED"}
    assert as_json(report_status(flows, b))["status"] == "PENDING"
    assert as_json(report_status(flows, a))["status"] == "COMPLETED"
    assert as_json(report_status(flows, b))["status"] == "COMPLETED"


def test_seconds_based_pending_follows_the_clock(flows, store, clock):
    id = submit_body(flows, "/slow", "id")
    first = send(flows, "GET", f"/slow/{id}")
    assert (first.status, as_json(first)) == (202, {"state": "running"})
    clock.advance(29.5)
    assert as_json(send(flows, "GET", f"/slow/{id}")) == {"state": "running"}
    clock.advance(0.5)
    done = send(flows, "GET", f"/slow/{id}")
    assert (done.status, as_json(done)) == (200, {"state": "done"})
    later = submit_body(flows, "/slow", "id")  # a new id starts its own wait
    assert as_json(send(flows, "GET", f"/slow/{later}")) == {"state": "running"}


def test_lenient_pending_status_of_an_unknown_id_gives_the_final_answer(flows):
    assert as_json(send(flows, "GET", "/slow/never-issued")) == {"state": "done"}


def test_failed_outcome_is_captured_at_submit(flows, store):
    put(store, "staylink", "report", {"rows": 3})
    ok = submit_body(flows, "/reports", "reportId")
    put(store, "staylink", "report", {"rows": 0}, outcome="failed")
    bad = submit_body(flows, "/reports", "reportId")
    for _ in range(2):
        assert as_json(report_status(flows, bad))["status"] == "PENDING"
        report_status(flows, ok)
    assert as_json(report_status(flows, bad)) == {"reportId": bad, "status": "FAILED"}
    assert as_json(report_status(flows, ok))["status"] == "COMPLETED"
    failed = send(flows, "GET", f"/reports/{bad}")
    assert (failed.status, as_json(failed)) == (410, {"detail": f"Report {bad} failed"})
    assert as_json(send(flows, "GET", f"/reports/{ok}")) == {"rows": 0}


def test_failed_outcome_from_a_session_payload(flows, store):
    sid = store.create_session("staylink", "report", encode_json({}), outcome="failed")
    id = submit_body(flows, "/reports", "reportId", session=sid)
    for _ in range(2):
        report_status(flows, id)
    assert as_json(report_status(flows, id))["status"] == "FAILED"


def test_strict_order_rejects_unknown_ids(flows, store):
    put(store, "staylink", "report", {"rows": 3})
    status = report_status(flows, "nope")
    result = send(flows, "GET", "/reports/nope")
    for response in (status, result):
        assert (response.status, as_json(response)) == (404, {"detail": "Unknown request ID: nope"})


def test_strict_order_result_not_ready_then_ready(flows, store):
    put(store, "staylink", "report", {"rows": 3})
    id = submit_body(flows, "/reports", "reportId")
    early = send(flows, "GET", f"/reports/{id}")
    assert (early.status, as_json(early)) == (409, {"detail": f"Request {id} is not ready yet"})
    report_status(flows, id)
    report_status(flows, id)
    assert send(flows, "GET", f"/reports/{id}").status == 409  # only PENDING seen so far
    assert as_json(report_status(flows, id))["status"] == "COMPLETED"
    ready = send(flows, "GET", f"/reports/{id}")
    assert (ready.status, as_json(ready)) == (200, {"rows": 3})


# --- callback ---------------------------------------------------------------------------

CALLBACK = """
    partner: p
    datapoints:
      - name: export
        pattern: callback
        endpoints:
          - method: POST
            path: /exports
            response: {callback_url_field: callbackUrl, callback_method: put,
                       callback_delay_seconds: 1.5, callback_retries: 2}
      - name: notify
        pattern: callback
        endpoints:
          - {method: POST, path: /notify,
             response: {status: 200, callback_url_header: X-Callback-Url}}
    """


@pytest.fixture
def jobs() -> list[DeliveryJob]:
    return []


@pytest.fixture
def callbacks(make_engine, jobs) -> Engine:
    refuse = lambda url: "not allowed here" if "forbidden" in url else None  # noqa: E731
    return make_engine(CALLBACK, dispatch=jobs.append, callback_allowed=refuse)


def test_callback_field_submit_records_and_dispatches(callbacks, store, jobs):
    response = send(callbacks, "POST", "/exports", session="s1",
                    body={"callbackUrl": "http://127.0.0.1:9/hook"})
    assert response.status == 202
    request_id = as_json(response)["request_id"]
    record = store.get_callback("p", "export", request_id)
    assert (record.url, record.method, record.session_id) == (
        "http://127.0.0.1:9/hook", "PUT", "s1")
    [job] = jobs
    assert (job.request, job.retries, job.delay) == (record, 2, 1.5)


def test_callback_header_submit(callbacks, store, jobs):
    response = send(callbacks, "POST", "/notify", body=b"not json at all",
                    headers={"x-callback-url": "http://127.0.0.1:9/n"})
    assert response.status == 200
    record = store.get_callback("p", "notify", as_json(response)["request_id"])
    assert (record.url, record.method, record.session_id) == ("http://127.0.0.1:9/n", "POST",
                                                              None)
    assert len(jobs) == 1


@pytest.mark.parametrize(("path", "kwargs", "status", "detail"), [
    ("/exports", {"body": b"{oops"}, 400, "Invalid JSON body"),
    ("/exports", {"body": {}}, 400, "Missing required field 'callbackUrl' in request body"),
    ("/exports", {"body": {"callbackUrl": ""}}, 400,
     "Missing required field 'callbackUrl' in request body"),
    ("/exports", {"body": [1]}, 422, "Request body must be a JSON object"),  # B9: not a 500
    ("/exports", {"body": {"callbackUrl": 5}}, 422, "Field 'callbackUrl' must be a URL string"),
    ("/exports", {"body": {"callbackUrl": "http://forbidden.example/"}}, 422, "not allowed here"),
    ("/notify", {}, 400, "Missing required header 'X-Callback-Url'"),
])
def test_callback_rejections_dispatch_nothing(callbacks, jobs, path, kwargs, status, detail):
    response = send(callbacks, "POST", path, **kwargs)
    assert (response.status, as_json(response)) == (status, {"detail": detail})
    assert jobs == []


async def test_callback_without_payload_is_logged_as_skipped(callbacks, store):
    record = store.add_callback("p", "export", None, "http://127.0.0.1:9/hook", "POST")
    assert await deliver(store, record, retries=0) is False
    [entry] = store.deliveries(record.id)
    assert (entry.attempt, entry.status) == (0, None)
    assert entry.error == "skipped: No global payload found for p/export"


# --- paginated --------------------------------------------------------------------------

PAGINATED = """
    partner: p
    datapoints:
      - name: offset
        pattern: paginated
        pagination: {style: offset_limit, items_field: items, total_field: total,
                     has_more_field: hasMore, next_offset_field: nextOffset,
                     offset_echo_field: offset, limit_echo_field: limit}
        endpoints:
          - {method: GET, path: /offset}
      - name: bare
        pattern: paginated
        pagination: {style: offset_limit, items_field: data}
        endpoints:
          - {method: GET, path: /bare}
      - name: cursor
        pattern: paginated
        pagination: {style: cursor, items_field: items, cursor_field: next,
                     has_more_field: more, total_field: total, cursor_ttl_seconds: 60}
        endpoints:
          - {method: GET, path: /cursor}
      - name: cursor2
        pattern: paginated
        pagination: {style: cursor, items_field: items, cursor_field: next}
        endpoints:
          - {method: GET, path: /cursor2}
      - name: pages
        pattern: paginated
        pagination: {style: page_number, items_field: items, total_field: total,
                     has_more_field: more, page_param: pg, size_param: per}
        endpoints:
          - {method: GET, path: /pages}
      - name: links
        pattern: paginated
        pagination: {style: page_number_url, items_field: items, total_field: total,
                     next_url_field: next, previous_url_field: previous}
        endpoints:
          - {method: GET, path: /links}
      - name: fixed
        pattern: paginated
        pagination: {style: page_number_url, items_field: items, total_field: total,
                     next_url_field: next, previous_url_field: previous, total_pages: 3}
        endpoints:
          - {method: GET, path: /fixed}
    """

TEN = [{"id": i} for i in range(10)]


@pytest.fixture
def pages(make_engine, store) -> Engine:
    engine = make_engine(PAGINATED, default_limit=4)
    for name in ("offset", "bare", "cursor", "cursor2", "pages", "links", "fixed"):
        put(store, "p", name, TEN)
    return engine


def ids(body: dict, field: str = "items") -> list[int]:
    return [item["id"] for item in body[field]]


@pytest.mark.parametrize(("query", "items", "more", "next_offset", "offset", "limit"), [
    ("", [0, 1, 2, 3], True, 4, 0, 4),
    ("offset=4&limit=3", [4, 5, 6], True, 7, 4, 3),
    ("offset=8&limit=5", [8, 9], False, None, 8, 5),
    ("offset=20", [], False, None, 20, 4),
    ("offset=-3&limit=0", [0, 1, 2, 3], True, 4, 0, 4),
    ("offset=x&limit=y", [0, 1, 2, 3], True, 4, 0, 4),
])
def test_offset_limit(pages, query, items, more, next_offset, offset, limit):
    body = as_json(send(pages, "GET", "/offset", query=query))
    assert ids(body) == items
    assert (body["total"], body["hasMore"], body["nextOffset"]) == (10, more, next_offset)
    assert (body["offset"], body["limit"]) == (offset, limit)


def test_offset_limit_emits_only_configured_keys(pages):
    assert as_json(send(pages, "GET", "/bare", query="limit=2")) == {"data": [{"id": 0},
                                                                            {"id": 1}]}


def test_cursor_walks_the_array(pages):
    first = as_json(send(pages, "GET", "/cursor"))
    assert (ids(first), first["more"], first["total"]) == ([0, 1, 2, 3], True, 10)
    second = as_json(send(pages, "GET", "/cursor", query=f"cursor={first['next']}"))
    assert ids(second) == [4, 5, 6, 7]
    last = as_json(send(pages, "GET", "/cursor", query=f"cursor={second['next']}"))
    assert (ids(last), last["more"], last["next"]) == ([8, 9], False, None)
    again = as_json(send(pages, "GET", "/cursor", query=f"cursor={first['next']}"))
    assert ids(again) == [4, 5, 6, 7]  # cursors are not consumed


def test_cursor_unknown_or_expired_is_400(pages, clock):
    unknown = send(pages, "GET", "/cursor", query="cursor=nope")
    assert (unknown.status, as_json(unknown)) == (400, {"detail": "Cursor expired or not found"})
    token = as_json(send(pages, "GET", "/cursor"))["next"]
    clock.advance(61)
    assert send(pages, "GET", "/cursor", query=f"cursor={token}").status == 400


def test_cursor_scoped_to_datapoint_and_session(pages, store):
    sid = store.create_session("p", "cursor", encode_json(TEN))
    plain = as_json(send(pages, "GET", "/cursor"))["next"]
    in_session = as_json(send(pages, "GET", "/cursor", session=sid))["next"]
    assert send(pages, "GET", "/cursor2", query=f"cursor={plain}").status == 400  # B6
    assert send(pages, "GET", "/cursor", query=f"cursor={plain}", session=sid).status == 400
    assert send(pages, "GET", "/cursor", query=f"cursor={in_session}").status == 400
    ok = send(pages, "GET", "/cursor", query=f"cursor={in_session}", session=sid)
    assert ids(as_json(ok)) == [4, 5, 6, 7]


@pytest.mark.parametrize(("query", "items", "more"), [
    ("", [0, 1, 2, 3], True),
    ("pg=2&per=3", [3, 4, 5], True),
    ("pg=0&per=3", [0, 1, 2], True),
    ("pg=4&per=3", [9], False),
    ("pg=9", [], False),
    ("page=2&size=3", [0, 1, 2, 3], True),  # the configured names, not the defaults
])
def test_page_number(pages, query, items, more):
    body = as_json(send(pages, "GET", "/pages", query=query))
    assert (ids(body), body["more"], body["total"]) == (items, more, 10)


def test_page_number_url_links_from_the_request(pages):
    body = as_json(send(pages, "GET", "/links", query="page=2&size=3&filter=x",
                        scheme="https", host="api.partner.example", port=443))
    assert ids(body) == [3, 4, 5]
    assert body["next"] == "https://api.partner.example/links?page=3&size=3&filter=x"
    assert body["previous"] == "https://api.partner.example/links?page=1&size=3&filter=x"
    assert body["total"] == 10
    assert "hasMore" not in body and "more" not in body


@pytest.mark.parametrize(("scheme", "port", "origin"), [
    ("http", 80, "http://h.example"),
    ("http", 8080, "http://h.example:8080"),
    ("https", 8443, "https://h.example:8443"),
])
def test_page_number_url_keeps_a_non_default_port(pages, scheme, port, origin):
    body = as_json(send(pages, "GET", "/links", scheme=scheme, host="h.example", port=port))
    assert body["next"] == f"{origin}/links?page=2&size=4"
    assert body["previous"] is None


def test_page_number_url_last_page_has_no_next(pages):
    body = as_json(send(pages, "GET", "/links", query="page=3", host="h.example"))
    assert ids(body) == [8, 9]
    assert body["next"] is None
    assert body["previous"] == "http://h.example/links?page=2&size=4"


def test_total_pages_repeats_the_array_on_every_page(pages):
    first = as_json(send(pages, "GET", "/fixed", host="h.example"))
    third = as_json(send(pages, "GET", "/fixed", query="page=3", host="h.example"))
    assert ids(first) == ids(third) == list(range(10))
    assert first["next"] == "http://h.example/fixed?page=2&size=4"
    assert third["next"] is None
    assert first["total"] == 30


def test_paginated_payload_must_be_an_array(pages, store):
    put(store, "p", "offset", {"not": "a list"})
    response = send(pages, "GET", "/offset")
    assert (response.status, as_json(response)) == (
        422, {"detail": "Payload must be a JSON array for the paginated pattern"})


def test_paginated_without_payload_is_404(make_engine):
    engine = make_engine(PAGINATED)
    assert send(engine, "GET", "/offset").status == 404


# --- validate and rate_limit -----------------------------------------------------------

GUARDED = """
    partner: p
    datapoints:
      - name: charges
        pattern: fetch
        endpoints:
          - method: GET
            path: /charges
            validate:
              query:
                propertyId: {required: true, type: string, pattern: "^P[0-9]+$"}
                count: {type: integer, min: 1, max: 10}
                mode: {allowed: [fast, slow]}
              headers:
                X-Api-Key: {required: true}
          - method: POST
            path: /charges
            validate:
              body:
                n: {required: true, type: integer}
                ratio: {type: number, max: 1.5}
                flag: {type: boolean}
          - method: GET
            path: /limited
            rate_limit: {requests_per_minute: 2}
            validate:
              query:
                q: {required: true}
      - name: list
        pattern: paginated
        pagination: {style: offset_limit, items_field: items}
        endpoints:
          - method: POST
            path: /search
            validate:
              body:
                term: {required: true, type: string}
    """

KEY = {"X-Api-Key": "k"}


@pytest.fixture
def guarded(make_engine, store) -> Engine:
    engine = make_engine(GUARDED)
    put(store, "p", "charges", {"ok": True})
    put(store, "p", "list", [1, 2])
    return engine


@pytest.mark.parametrize(("query", "headers", "errors"), [
    ("", {}, ["query.propertyId: required", "headers.X-Api-Key: required"]),
    ("propertyId=X1", KEY, ["query.propertyId: does not match pattern '^P[0-9]+$'"]),
    ("propertyId=P1&count=0", KEY, ["query.count: must be >= 1"]),
    ("propertyId=P1&count=11", KEY, ["query.count: must be <= 10"]),
    ("propertyId=P1&count=1.5", KEY, ["query.count: must be of type integer"]),
    ("propertyId=P1&mode=medium", KEY, ["query.mode: must be one of ['fast', 'slow']"]),
])
def test_validation_errors_are_422_with_every_message(guarded, query, headers, errors):
    response = send(guarded, "GET", "/charges", query=query, headers=headers)
    assert (response.status, as_json(response)) == (422, {"detail": errors})


def test_valid_request_reaches_the_pattern(guarded):
    response = send(guarded, "GET", "/charges", query="propertyId=P12&count=10&mode=fast",
                    headers={"x-api-key": "k"})
    assert (response.status, as_json(response)) == (200, {"ok": True})


@pytest.mark.parametrize(("body", "errors"), [
    ({"n": 2, "ratio": 1, "flag": True}, []),
    ({"n": 2.0}, []),
    ({"n": 1.5}, ["body.n: must be of type integer"]),  # B11: floats are not truncated
    ({"n": True}, ["body.n: must be of type integer"]),
    ({"n": "2"}, []),
    ({"n": 1, "ratio": 2}, ["body.ratio: must be <= 1.5"]),
    ({"n": 1, "ratio": "x"}, ["body.ratio: must be of type number"]),
    ({"n": 1, "flag": "yes"}, ["body.flag: must be of type boolean"]),
    ({"n": 1, "flag": "TRUE"}, []),
    ([1, 2], ["body.n: required"]),
    (b"{not json", ["body.n: required"]),
])
def test_body_rules(guarded, body, errors):
    response = send(guarded, "POST", "/charges", body=body)
    if errors:
        assert (response.status, as_json(response)) == (422, {"detail": errors})
    else:
        assert response.status == 200


def test_body_rules_see_the_body_on_paginated_endpoints(guarded):
    assert send(guarded, "POST", "/search", body={"term": "x"}).status == 200  # B11
    assert as_json(send(guarded, "POST", "/search", body={})) == {"detail": ["body.term: required"]}


def test_validation_runs_before_the_payload_lookup(make_engine):
    engine = make_engine(GUARDED)
    assert send(engine, "GET", "/charges").status == 422


def test_rate_limit_429_with_retry_after_then_recovery(guarded, clock):
    assert [send(guarded, "GET", "/limited", query="q=1").status for _ in range(2)] == [200, 200]
    limited = send(guarded, "GET", "/limited", query="q=1", session="other-caller")
    assert limited.status == 429
    assert as_json(limited) == {"detail": "Rate limit exceeded: 2 requests per minute"}
    assert header(limited, "retry-after") == "30"
    clock.advance(15)
    assert header(send(guarded, "GET", "/limited", query="q=1"), "retry-after") == "15"
    clock.advance(15)
    assert send(guarded, "GET", "/limited", query="q=1").status == 200
    assert send(guarded, "GET", "/limited", query="q=1").status == 429


def test_rate_limit_is_checked_before_validation(guarded):
    assert send(guarded, "GET", "/limited").status == 422  # an invalid call still costs a token
    assert send(guarded, "GET", "/limited").status == 422
    assert send(guarded, "GET", "/limited").status == 429


def test_rate_limit_is_per_endpoint(guarded):
    for _ in range(3):
        send(guarded, "GET", "/limited", query="q=1")
    assert send(guarded, "GET", "/charges", query="propertyId=P1", headers=KEY).status == 200


# --- misses -----------------------------------------------------------------------------

HOSTED = """
    partner: p
    hosts: [api.p.example]
    datapoints:
      - name: charges
        pattern: fetch
        endpoints:
          - {method: GET, path: /charges}
          - {method: GET, path: /charges/latest}
    """


def test_miss_on_a_partner_host_is_404_naming_the_closest_routes(make_engine):
    outcome = make_engine(HOSTED).handle(view("GET", "/charge", host="api.p.example"))
    assert isinstance(outcome, Unmatched)
    assert outcome.response.status == 404
    body = as_json(outcome.response)
    assert body["detail"] == "No imnot route for GET /charge"
    assert "GET /charges (p/charges)" in body["closest"]


def test_wrong_method_is_405_with_allow(make_engine):
    outcome = make_engine(HOSTED).handle(view("POST", "/charges", host="api.p.example"))
    assert isinstance(outcome, Unmatched)
    assert outcome.response.status == 405
    assert header(outcome.response, "allow") == "GET"


def test_other_hosts_pass_through_unless_misses_are_answered(make_engine):
    engine = make_engine(HOSTED)
    request = view("GET", "/charges", host="elsewhere.example")
    assert isinstance(engine.handle(request), Forward)
    direct = view("GET", "/nowhere", host="127.0.0.1", direct=True)
    assert isinstance(engine.handle(direct), Unmatched)


def test_engine_knows_its_hosts_and_payload_datapoints(make_engine):
    engine = make_engine(HOSTED)
    assert engine.router.is_partner_host("API.P.EXAMPLE")
    assert not engine.router.is_partner_host("p.example")
    assert engine.payload_datapoint("p", "charges") is not None
    assert engine.payload_datapoint("p", "nope") is None
    static = make_engine(STATIC)
    assert static.payload_datapoint("p", "s") is None
    assert all(r.host == ANY_HOST for r in static.router.routes)


# --- extensions: submit bodies and paging parameter names --------------------------------

SUBMIT_BODIES = """
    partner: p
    datapoints:
      - name: hdr
        pattern: polling
        endpoints:
          - step: 1
            method: POST
            path: /hdr
            response:
              generates_id: true
              id_header: Location
              id_header_value: /hdr/{id}
              body: {state: queued, self: "/hdr/{id}"}
      - name: bod
        pattern: polling
        endpoints:
          - step: 1
            method: POST
            path: /bod
            response:
              generates_id: true
              id_body_field: jobId
              body: {links: {self: "/bod/{id}"}}
    """


def test_header_mode_submit_also_sends_a_declared_body_with_the_id(make_engine):
    response = send(make_engine(SUBMIT_BODIES), "POST", "/hdr")
    job = header(response, "Location").rsplit("/", 1)[1]
    assert as_json(response) == {"state": "queued", "self": f"/hdr/{job}"}


def test_body_mode_submit_replaces_id_in_the_other_fields(make_engine):
    body = as_json(send(make_engine(SUBMIT_BODIES), "POST", "/bod"))
    assert body["links"] == {"self": f"/bod/{body['jobId']}"}


PAGING_NAMES = """
    partner: p
    datapoints:
      - name: items
        pattern: paginated
        endpoints: [{method: GET, path: /items}]
        pagination: {style: offset_limit, items_field: data, offset_param: skip,
                     limit_param: take}
    """


def test_offset_limit_reads_configured_query_names(make_engine, store):
    engine = make_engine(PAGING_NAMES)
    put(store, "p", "items", list(range(10)))
    assert as_json(send(engine, "GET", "/items", query="skip=4&take=2")) == {"data": [4, 5]}


# --- callback policy -----------------------------------------------------------------

ALLOW = ["hooks.example.com", "*.team.example"]


@pytest.mark.parametrize(("url", "allowed"), [
    ("http://127.0.0.1:9/x", True),
    ("http://127.0.0.2/x", True),
    ("http://localhost/x", True),
    ("http://[::1]:8080/x", True),
    ("https://hooks.example.com/x", True),
    ("https://a.team.example/x", True),
    ("https://team.example/x", False),         # *.suffix needs a sub-domain
    ("https://evilteam.example/x", False),
    ("https://sub.hooks.example.com/x", False),
    ("http://localhost.evil.example/x", False),
    ("http://10.0.0.1/x", False),
    ("ftp://127.0.0.1/x", False),
    ("/relative", False),
])
def test_callback_refusal(url, allowed):
    assert (callback_refusal(url, ALLOW) is None) is allowed


