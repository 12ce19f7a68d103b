"""Faults on main's engine: request conditions in ``when:`` (partner files and faults set at
run time), the endpoint chosen by its own ``when:`` before the fault, alternatives, verify
mode, and a shared store that cannot be reached. ``Engine.handle`` with a store and an
injected clock: no proxy."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from imnot_proxy.engine import Engine, EngineSettings, Forward, Mocked, Policy, Verify
from imnot_proxy.errors import StoreError
from imnot_proxy.messages import CIHeaders, RequestView

PARTNER = """
    partner: chaos
    hosts: [api.chaos.test]
    datapoints:
      - name: plain
        pattern: static
        endpoints:
          - method: GET
            path: /plain
            response: {body: {plain: true}}
            faults:
              - {kind: status, status: 503, when: {header: {X-Scenario: outage}, first: 3}}
          - method: POST
            path: /orders
            response: {body: {ordered: true}}
            faults:
              - kind: status
                status: 402
                when: [{json: $.amount, min: 1000}, {query: mode, equals: strict}]
      - name: gold
        pattern: static
        endpoints:
          - method: GET
            path: /shared
            when: {header: X-Tier, equals: gold}
            response: {body: {tier: gold}}
            faults: [{kind: status, status: 500}]
      - name: basic
        pattern: static
        endpoints:
          - method: GET
            path: /shared
            alternatives:
              - when: {query: lang, equals: fr}
                response: {body: {tier: basic, lang: fr}}
              - response: {body: {tier: basic}}
            latency: 20
    """


def view(path: str, method: str = "GET", *, session: str | None = None,
         headers: dict[str, str] | None = None, query: str = "", body: bytes = b"",
         host: str = "api.chaos.test") -> RequestView:
    return RequestView(method, path, query, CIHeaders(headers or {}), body, host=host,
                       session=session)


@pytest.fixture
def engine(tmp_path, store, clock, load_text) -> Callable[..., Engine]:
    def make(text: str = PARTNER, policy: Policy | None = None) -> Engine:
        loaded = load_text(text, tmp_path)
        assert not loaded.errors, loaded.errors
        return Engine(loaded.partners, store,
                      EngineSettings(clock=clock, policy=policy or Policy()))
    return make


def set_fault(store, body: dict, *, session: str | None = None, partner: str = "chaos") -> str:
    return store.add_fault(partner, session, json.dumps(body).encode(), None).id


OUTAGE = {"X-Scenario": "outage"}


def test_a_condition_with_first_n_counts_only_the_requests_it_holds_for(engine):
    """The example of the partner-file docs: only requests with the header are faulted, and
    only they count toward ``first: 3``."""
    e = engine()
    got = []
    for headers in (None, OUTAGE, None, OUTAGE, {"X-Scenario": "calm"}, OUTAGE, OUTAGE, None):
        got.append(e.handle(view("/plain", headers=headers)).response.status)
    assert got == [200, 503, 200, 503, 200, 503, 200, 200]
    faulted = e.handle(view("/plain", headers=OUTAGE, session="s2"))
    assert faulted.fault.notes == ("session s2", "header X-Scenario=outage", "1st of 3")


def test_a_condition_alone_reads_the_body_and_the_query(engine):
    e = engine()

    def status(amount: int, query: str = "mode=strict") -> int:
        body = json.dumps({"amount": amount}).encode()
        return e.handle(view("/orders", "POST", body=body, query=query,
                             headers={"Content-Type": "application/json"})).response.status

    assert [status(5000), status(10), status(5000, "mode=lenient"), status(1000)] == [
        402, 200, 200, 402]


def test_the_fault_belongs_to_the_endpoint_its_own_when_chose(engine):
    e = engine()
    gold = e.handle(view("/shared", headers={"X-Tier": "gold"}))
    assert gold.route.datapoint == "gold" and gold.response.status == 500
    basic = e.handle(view("/shared", query="lang=fr"))
    assert basic.route.datapoint == "basic"
    assert basic.fault.kind == "latency" and basic.fault.delay == pytest.approx(0.02)
    assert json.loads(basic.response.body) == {"tier": "basic", "lang": "fr"}  # its choice


def test_a_replacing_fault_leaves_the_alternatives_unchosen(engine, store):
    e = engine()
    set_fault(store, {"kind": "status", "status": 418, "datapoint": "basic"})
    outcome = e.handle(view("/shared", query="lang=fr"))
    assert outcome.route.datapoint == "basic" and outcome.response.status == 418


def test_no_endpoint_chosen_means_no_fault(engine, store, tmp_path, load_text):
    text = PARTNER.replace("          - method: GET\n            path: /shared\n"
                           "            alternatives:", "          - method: GET\n"
                           "            path: /shared\n            when: {query: x}\n"
                           "            alternatives:")
    e = engine(text)
    set_fault(store, {"kind": "reset"})
    outcome = e.handle(view("/shared"))
    assert outcome.response.status == 404 and getattr(outcome, "fault", None) is None


def test_runtime_faults_take_the_same_conditions(engine, store):
    e = engine()
    set_fault(store, {"kind": "status", "status": 429, "datapoint": "plain",
                      "when": {"header": "X-Load", "equals": "high", "every": 2}})
    got = [e.handle(view("/plain", headers=h)).response.status
           for h in ({"X-Load": "high"}, None, {"X-Load": "high"}, None, {"X-Load": "high"},
                     {"X-Load": "high"})]
    assert got == [200, 200, 429, 200, 200, 429]  # the 2nd and 4th request with the header


def test_runtime_conditions_reach_passthrough_traffic(engine, store):
    e = engine(policy=Policy(unmatched="passthrough"))
    set_fault(store, {"kind": "status", "status": 503, "when": {"query": {"fail": "yes"}}})
    assert e.handle(view("/elsewhere")) == Forward(True)
    outcome = e.handle(view("/elsewhere", query="fail=yes"))
    assert isinstance(outcome, Forward) and outcome.fault.kind == "status"
    assert "query fail=yes" in outcome.fault.notes


def test_verify_mode_carries_no_fault(engine, store):
    """Verify compares the real partner's answers with the mock's: a fault injected by the
    proxy would be reported as drift the partner does not have."""
    e = engine(policy=Policy(mode="verify"))
    set_fault(store, {"kind": "status", "status": 503})
    set_fault(store, {"kind": "latency", "ms": 50})
    outcome = e.handle(view("/plain"))
    assert isinstance(outcome, Verify) and not hasattr(outcome, "fault")
    record = engine(policy=Policy(mode="record")).handle(view("/plain"))
    assert record.fault is not None  # record mode keeps them, as before


def test_the_mock_side_of_verify_injects_none(tmp_path, store, clock, load_text):
    loaded = load_text(PARTNER, tmp_path)
    e = Engine(loaded.partners, store, EngineSettings(clock=clock, faults=False))
    set_fault(store, {"kind": "reset"})
    outcome = e.handle(view("/plain", headers=OUTAGE))
    assert isinstance(outcome, Mocked) and outcome.fault is None
    assert outcome.response.status == 200


def test_an_unreachable_store_injects_no_fault_and_serves_on(engine, store, caplog):
    e = engine()
    set_fault(store, {"kind": "status", "status": 503, "datapoint": "gold"})

    def down(*args):
        raise StoreError("store redis://h/0 is unreachable", store="redis://h/0")

    store.active_faults = down
    store.count_fault = down
    assert e.handle(view("/plain")).response.status == 200  # nothing counted, nothing set
    assert e.handle(view("/plain", headers=OUTAGE)).response.status == 200
    assert e.handle(view("/plain", headers=OUTAGE)).response.status == 200
    assert caplog.text.count("faults are not injected while the store is unreachable") == 1
    passthrough = engine(policy=Policy(unmatched="passthrough"))
    assert passthrough.handle(view("/elsewhere")) == Forward(True)
