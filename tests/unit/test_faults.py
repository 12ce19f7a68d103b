"""The fault decision (``engine/faults.py``) and where rules apply (``engine/fault_plans.py``),
through ``Engine.handle`` with a store and an injected clock: no proxy, no sleeping."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from store_contract import soon

from imnot_proxy.engine import Engine, EngineSettings, Forward, Mocked, Policy
from imnot_proxy.engine.faults import make_rule, ordinal, sample_delay
from imnot_proxy.messages import CIHeaders, RequestView
from imnot_proxy.schema.faults import FAULT, LatencySpec

PARTNER = """
    partner: chaos
    hosts: [api.chaos.test]
    datapoints:
      - name: plain
        pattern: static
        endpoints:
          - {method: GET, path: /plain, response: {body: {plain: true}}}
          - {method: GET, path: /other}
      - name: declared
        pattern: static
        latency: {ms: 100}
        endpoints:
          - method: GET
            path: /busy
            faults: [{kind: status, status: 429, retry_after: 7, when: {first: 2}}]
          - method: GET
            path: /third
            faults: [{kind: status, status: 500, when: {every: 3}}]
          - method: GET
            path: /flaky
            faults: [{kind: status, status: 503, when: {probability: 0.5, seed: 42}}]
          - method: GET
            path: /window
            faults: [{kind: status, status: 503, when: {seconds: 10}}]
      - name: report
        pattern: polling
        endpoints:
          - {step: 1, method: POST, path: /reports,
             response: {generates_id: true, id_header: Location, id_header_value: "/reports/{id}"}}
          - step: 2
            method: GET
            path: /reports/{id}/status
            faults: [{kind: status, status: 503, when: {seconds: 10, since: id}}]
    """


def view(path: str, method: str = "GET", session: str | None = None) -> RequestView:
    return RequestView(method=method, path=path, headers=CIHeaders(), host="api.chaos.test",
                       session=session)


@pytest.fixture
def engine(tmp_path, store, clock, load_text) -> Callable[..., Engine]:
    def make(text: str = PARTNER, policy: Policy | None = None) -> Engine:
        loaded = load_text(text, tmp_path)
        assert not loaded.errors, loaded.errors
        return Engine(loaded.partners, store,
                      EngineSettings(clock=clock, policy=policy or Policy()))
    return make


def statuses(engine: Engine, path: str, n: int, session: str | None = None) -> list[int]:
    return [engine.handle(view(path, session=session)).response.status for _ in range(n)]


def set_fault(store, clock, body: dict, *, session: str | None = None,
              expires_in: float | None = None) -> str:
    body = dict(body)
    partner = body.pop("partner", "chaos")
    expires = clock() + expires_in if expires_in else None
    return store.add_fault(partner, session, json.dumps(body).encode(), expires).id


# --- nothing configured costs nothing ------------------------------------------------------


def test_a_route_without_faults_is_plain_mocked(engine):
    outcome = engine().handle(view("/plain"))
    assert isinstance(outcome, Mocked)
    assert outcome.fault is None
    assert outcome.response.status == 200


def test_no_store_counter_is_touched_without_a_counted_fault(engine, store):
    calls = []
    store.count_fault = lambda key: calls.append(key) or (1, 0.0)
    e = engine()
    e.handle(view("/plain"))
    e.handle(view("/window"))  # a window since the first request counts; /plain does not
    assert [k.split("|")[-1] for k in calls] == [""]


# --- when: first N, every Nth, probability, window ------------------------------------------


def test_first_n_then_the_mock_with_retry_after(engine):
    e = engine()
    first = e.handle(view("/busy"))
    assert first.fault.kind == "status"
    assert dict(first.response.headers)["Retry-After"] == "7"
    assert first.fault.notes == ("1st of 2",)
    assert statuses(e, "/busy", 3) == [429, 200, 200]


def test_counts_are_per_session(engine):
    e = engine()
    assert statuses(e, "/busy", 3, session="a") == [429, 429, 200]
    assert statuses(e, "/busy", 3, session="b") == [429, 429, 200]
    assert statuses(e, "/busy", 1) == [429]


def test_every_nth(engine):
    assert statuses(engine(), "/third", 7) == [200, 200, 500, 200, 200, 500, 200]


def test_seeded_probability_is_reproducible_and_follows_the_formula(engine, store):
    e = engine()
    got = statuses(e, "/flaky", 20, session="a")
    again = statuses(e, "/flaky", 20, session="b")
    assert got == again  # the same seed gives every session the same sequence
    key = e.faults._endpoints[id(e.datapoints[("chaos", "declared")].endpoints[2])][0].key
    expected = [503 if random.Random(f"42|{key}|{n}").random() < 0.5 else 200
                for n in range(1, 21)]
    assert got == expected
    assert 3 < got.count(503) < 17


def test_unseeded_probability_bounds(store, clock):
    rule = make_rule(FAULT.validate_python({"kind": "reset", "when": {"probability": 0}}),
                     source="x", key="k")
    never = FakeFacts()
    from imnot_proxy.engine.faults import decide
    assert all(decide([rule], view("/"), "p", "d", {}, never, clock) is None for _ in range(50))
    rule = make_rule(FAULT.validate_python({"kind": "reset", "when": {"probability": 1}}),
                     source="x", key="k")
    assert all(decide([rule], view("/"), "p", "d", {}, never, clock) for _ in range(50))


def test_window_since_the_first_request(engine, clock):
    e = engine()
    assert statuses(e, "/window", 1) == [503]
    clock.advance(9.9)
    assert statuses(e, "/window", 1) == [503]
    clock.advance(0.1)
    assert statuses(e, "/window", 2) == [200, 200]
    assert statuses(e, "/window", 1, session="late") == [503]  # its own first request


def test_window_since_the_generated_id(engine, clock):
    e = engine()
    location = dict(e.handle(view("/reports", "POST")).response.headers)["Location"]
    status = location + "/status"
    clock.advance(3)
    outcome = e.handle(view(status))
    assert outcome.response.status == 503
    assert "3.0 s into 10 s after id" in outcome.fault.notes
    clock.advance(7)
    assert e.handle(view(status)).response.status == 200
    assert e.handle(view("/reports/unknown/status")).response.status == 200  # no such id


def test_window_since_set_and_since_session(engine, store, clock):
    e = engine()
    set_fault(store, clock, {"kind": "status", "status": 502, "datapoint": "plain",
                             "when": {"seconds": 5, "since": "set"}})
    assert statuses(e, "/plain", 1) == [502]
    clock.advance(5)
    assert statuses(e, "/plain", 1) == [200]
    clock.now = time.time()  # a session's creation time is the store's wall clock
    sid = store.create_session("chaos", "plain", b"{}")
    set_fault(store, clock, {"kind": "status", "status": 504, "endpoint": "GET /other",
                             "when": {"seconds": 5, "since": "session"}})
    clock.advance(4)
    assert statuses(e, "/other", 1, session=sid) == [504]
    clock.advance(1.5)  # past the window, whatever the milliseconds the upload took
    assert statuses(e, "/other", 1, session=sid) == [200]
    assert statuses(e, "/other", 1, session="never-uploaded") == [504]  # since its first


def test_per_all_counts_every_session_together(engine, store, clock):
    set_fault(store, clock, {"kind": "status", "status": 500, "endpoint": "GET /plain",
                             "when": {"first": 2, "per": "all"}})
    e = engine()
    assert statuses(e, "/plain", 1, session="a") + statuses(e, "/plain", 2, session="b") == [
        500, 500, 200]


# --- latency and faults together, and precedence ------------------------------------------


def test_datapoint_latency_applies_to_its_endpoints_with_their_faults(engine):
    e = engine()
    outcome = e.handle(view("/busy"))
    assert outcome.fault.kind == "status"
    assert outcome.fault.delay == pytest.approx(0.1)
    assert outcome.fault.label == "429, latency 100 ms"
    third = e.handle(view("/third"))
    assert third.fault.kind == "latency"
    assert third.response.status == 200  # the mock, late


def test_session_fault_before_global_before_partner_file(engine, store, clock):
    e = engine()
    set_fault(store, clock, {"kind": "status", "status": 502, "endpoint": "GET /busy"})
    set_fault(store, clock, {"kind": "status", "status": 504, "endpoint": "GET /busy"},
              session="s1")
    assert statuses(e, "/busy", 1, session="s1") == [504]
    assert statuses(e, "/busy", 1, session="s2") == [502]
    clock.advance(1)
    set_fault(store, clock, {"kind": "status", "status": 501, "endpoint": "GET /busy"})
    assert statuses(e, "/busy", 1) == [501]  # the newest fault set at run time


def test_every_rule_counts_every_request(engine, store, clock):
    """A fault that fires does not stop the others from counting."""
    e = engine()
    set_fault(store, clock, {"kind": "status", "status": 502, "endpoint": "GET /third",
                             "when": {"first": 3}})
    assert statuses(e, "/third", 6) == [502, 502, 502, 200, 200, 500]


def test_session_scoped_fault_leaves_other_sessions_alone(engine, store, clock):
    e = engine()
    set_fault(store, clock, {"kind": "reset", "datapoint": "plain"}, session="s1")
    assert e.handle(view("/plain", session="s1")).fault.kind == "reset"
    for session in (None, "s2"):
        assert e.handle(view("/plain", session=session)).fault is None


def test_scope_by_datapoint_and_endpoint(engine, store, clock):
    e = engine()
    set_fault(store, clock, {"kind": "empty_reply", "endpoint": "GET /other"})
    assert e.handle(view("/plain")).fault is None
    assert e.handle(view("/other")).fault.kind == "empty_reply"
    set_fault(store, clock, {"kind": "hang", "max_seconds": 2, "datapoint": "plain"})
    assert e.handle(view("/plain")).fault.hang == 2


def test_expired_and_deleted_faults_stop(engine, store, clock):
    e = engine()
    fault_id = set_fault(store, clock, {"kind": "status", "status": 500}, expires_in=10)
    assert statuses(e, "/plain", 1) == [500]
    clock.advance(10)
    assert statuses(e, "/plain", 1) == [200]
    fault_id = set_fault(store, clock, {"kind": "status", "status": 500})
    assert statuses(e, "/plain", 1) == [500]
    store.delete_fault(fault_id)
    assert statuses(e, "/plain", 1) == [200]


def test_a_fault_set_by_another_process_applies_soon(engine, store, clock, tmp_path):
    from imnot_proxy.store import SqliteStore

    e = engine()
    assert statuses(e, "/plain", 1) == [200]
    other = SqliteStore(store.path, clock=clock)
    try:
        fault = other.add_fault("chaos", None, b'{"kind":"status","status":503}', None)
        assert soon(lambda: statuses(e, "/plain", 1) == [503])  # within 10 ms
        other.delete_fault(fault.id)
        assert soon(lambda: statuses(e, "/plain", 1) == [200])
    finally:
        other.close()


def test_a_replacing_fault_keeps_the_pattern_from_running(engine, store, clock):
    e = engine()
    set_fault(store, clock, {"kind": "status", "status": 503, "endpoint": "POST /reports"})
    outcome = e.handle(view("/reports", "POST"))
    assert outcome.response.status == 503
    assert not any(k == "Location" for k, _ in outcome.response.headers)
    set_fault(store, clock, {"kind": "truncated", "endpoint": "POST /reports"}, session="t")
    spoiled = e.handle(view("/reports", "POST", session="t"))
    assert spoiled.fault.kind == "truncated"
    assert spoiled.response.status == 202  # the pattern ran: its answer is sent badly


def test_head_gets_a_status_fault_without_a_body(engine, store, clock):
    set_fault(store, clock, {"kind": "status", "status": 500, "endpoint": "GET /plain"})
    response = engine().handle(view("/plain", "HEAD")).response
    assert response.status == 500 and response.body == b""
    assert dict(response.headers)["content-length"] != "0"


def test_a_stored_fault_that_no_longer_loads_is_skipped(engine, store, clock, caplog):
    store.add_fault("chaos", None, b'{"kind":"no-such-kind"}', None)
    set_fault(store, clock, {"kind": "status", "status": 500})
    assert statuses(engine(), "/plain", 2) == [500, 500]
    assert "cannot be used" in caplog.text


# --- passthrough ----------------------------------------------------------------------


def test_runtime_fault_for_a_partner_reaches_its_passthrough_traffic(engine, store, clock):
    e = engine(policy=Policy(unmatched="passthrough"))
    assert e.handle(view("/not-mocked")) == Forward(True)
    set_fault(store, clock, {"kind": "status", "status": 503, "body": "down"}, session="s1")
    set_fault(store, clock, {"kind": "truncated"})  # a body sent badly is for mocks only
    set_fault(store, clock, {"kind": "latency", "body": {"bytes": 1, "every_ms": 9}})
    outcome = e.handle(view("/not-mocked", session="s1"))
    assert isinstance(outcome, Forward) and outcome.partner == "chaos"
    assert outcome.fault.kind == "status"
    assert e.handle(view("/not-mocked", session="s2")) == Forward(True)


# --- delays ---------------------------------------------------------------------------


def test_delays_fixed_uniform_lognormal_and_capped():
    assert sample_delay(LatencySpec(ms=250), "k", 1) == 0.25
    uniform = [sample_delay(LatencySpec(uniform_ms=(100, 200)), "k", n) for n in range(200)]
    assert all(0.1 <= d <= 0.2 for d in uniform) and max(uniform) - min(uniform) > 0.05
    spec = LatencySpec(median_ms=100, sigma=1.0, max_ms=300, seed=7)
    drawn = sorted(sample_delay(spec, "k", n) for n in range(1, 401))
    assert drawn[200] == pytest.approx(0.1, rel=0.35)  # the median
    assert drawn[-1] == 0.3  # capped at max_ms
    assert [sample_delay(spec, "k", n) for n in range(5)] == [
        sample_delay(spec, "k", n) for n in range(5)]  # seeded
    assert sample_delay(LatencySpec(ms=10_000_000), "k", 1) == 300.0  # the hard cap


def test_ordinals():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]


class FakeFacts:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def count(self, key: str) -> tuple[int, float]:
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key], 0.0

    def id_created(self, *args: Any) -> float | None:
        return None

    def session_created(self, session: str) -> float | None:
        return None


SOAP_PARTNER = """
partner: soapf
hosts: [api.chaos.test]
datapoints:
  - name: op
    pattern: static
    errors: soap
    endpoints:
      - method: POST
        path: /soap
        faults: [{kind: status, status: 503, retry_after: 2}]
        response: {headers: {Content-Type: text/xml}, body: "<ok/>"}
      - method: POST
        path: /given
        faults: [{kind: status, status: 500, body: "<mine/>",
                  headers: {Content-Type: text/xml}}]
"""


def test_a_status_fault_speaks_the_endpoints_error_language(engine):
    """Without a body of its own, a status fault answers as the endpoint's errors do."""
    e = engine(SOAP_PARTNER)
    envelope = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                b'<Ping/></s:Body></s:Envelope>')
    request = RequestView(method="POST", path="/soap", host="api.chaos.test", body=envelope,
                          headers=CIHeaders({"Content-Type": "text/xml", "SOAPAction": "Ping"}))
    response = e.handle(request).response
    assert response.status == 503 and b"<faultstring>Service Unavailable" in response.body
    assert dict(response.headers)["Retry-After"] == "2"
    given = e.handle(replace(request, path="/given")).response
    assert (given.status, given.body) == (500, b"<mine/>")  # a body it names is sent as is
