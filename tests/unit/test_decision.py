"""``Engine.handle``: the one decision every request goes through, without mitmproxy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from imnot_proxy.engine import (
    Admin,
    Engine,
    EngineSettings,
    Forward,
    Mocked,
    Policy,
    Record,
    Unmatched,
    Verify,
)
from imnot_proxy.messages import CIHeaders, RequestView

PARTNERS = """
    partner: hosted
    hosts: [api.hosted.example, "*.wild.example"]
    datapoints:
      - {name: ping, pattern: static, endpoints: [{method: GET, path: /ping}]}
      - {name: job, pattern: fetch, endpoints: [{method: GET, path: "/jobs/{id}"}]}
    """
PATHLESS = """
    partner: anyhost
    datapoints:
      - {name: hello, pattern: static, endpoints: [{method: GET, path: /hello}]}
    """


def request(host: str, path: str, method: str = "GET", *, direct: bool = False) -> RequestView:
    return RequestView(method=method, path=path, headers=CIHeaders(), host=host,
                       direct=direct)


@pytest.fixture
def engine(tmp_path, store, load_text) -> Callable[..., Engine]:
    def make(policy: Policy | None = None, text: str = PARTNERS) -> Engine:
        hosted = load_text(text, tmp_path, name="hosted.yaml")
        anyhost = load_text(PATHLESS, tmp_path, name="anyhost.yaml")
        partners = hosted.partners + anyhost.partners
        return Engine(partners, store, EngineSettings(policy=policy or Policy()))
    return make


@pytest.mark.parametrize(("req", "kind", "detail"), [
    (request("imnot.proxy", "/imnot/admin/partners"), Admin, None),
    (request("imnot.proxy", "/anything"), Admin, None),
    (request("127.0.0.1", "/imnot/admin/partners", direct=True), Admin, None),
    (request("127.0.0.1", "/healthz", direct=True), Admin, None),
    (request("api.hosted.example", "/ping"), Mocked, "hosted/ping"),
    (request("a.b.wild.example", "/jobs/7"), Mocked, "hosted/job"),
    (request("anything.example", "/hello"), Mocked, "anyhost/hello"),
    (request("127.0.0.1", "/ping", direct=True), Mocked, "hosted/ping"),
    (request("api.hosted.example", "/pong"), Unmatched, 404),
    (request("api.hosted.example", "/ping", "POST"), Unmatched, 405),
    (request("127.0.0.1", "/nowhere", direct=True), Unmatched, 404),
    (request("elsewhere.example", "/ping"), Forward, False),
    (request("elsewhere.example", "/healthz"), Forward, False),
])
def test_each_kind_of_request_gets_its_outcome(engine, req, kind, detail: Any):
    outcome = engine().handle(req)
    assert isinstance(outcome, kind), outcome
    if kind is Mocked:
        assert outcome.route.owner == detail
        assert outcome.route.endpoint is not None
    elif kind is Unmatched:
        assert outcome.response.status == detail
    elif kind is Forward:
        assert outcome.partner_host is detail


def test_the_admin_host_is_the_policys(engine):
    e = engine(Policy(admin_host="admin.internal"))
    assert isinstance(e.handle(request("admin.internal", "/imnot/admin/partners")), Admin)
    assert isinstance(e.handle(request("imnot.proxy", "/imnot/admin/partners")), Forward)


def test_a_partner_host_miss_passes_through_when_the_policy_says_so(engine):
    outcome = engine(Policy(unmatched="passthrough")).handle(request("api.hosted.example",
                                                                     "/pong"))
    assert outcome == Forward(partner_host=True)


def test_direct_requests_never_pass_through(engine):
    outcome = engine(Policy(unmatched="passthrough")).handle(
        request("127.0.0.1", "/pong", direct=True))
    assert isinstance(outcome, Unmatched)


@pytest.mark.parametrize(("policy", "req", "expected"), [
    (Policy(mode="record"), request("api.hosted.example", "/ping"),
     Record("hosted", "api.hosted.example")),
    (Policy(mode="record"), request("api.hosted.example", "/pong"),
     Record("hosted", "api.hosted.example")),
    (Policy(unmatched="record"), request("api.hosted.example", "/pong"),
     Record("hosted", "api.hosted.example")),
    (Policy(record_hosts=("api.new.example",)), request("api.new.example", "/x"),
     Record("api-new-example", "api.new.example")),
    (Policy(record_hosts=("*.new.example",)), request("a.new.example", "/x"),
     Record("a-new-example", "a.new.example")),
])
def test_record_decisions(engine, policy, req, expected):
    assert engine(policy).handle(req) == expected


@pytest.mark.parametrize(("policy", "req", "expected"), [
    (Policy(verify_hosts=("api.hosted.example",)), request("api.hosted.example", "/ping"),
     Verify("hosted", "api.hosted.example")),
    (Policy(mode="record", verify_hosts=("*.wild.example",)), request("a.wild.example", "/x"),
     Verify("hosted", "a.wild.example")),
    (Policy(verify_hosts=("*.wild.example",)), request("api.hosted.example", "/ping"), None),
])
def test_verify_hosts_are_verified_whatever_the_modes_say(engine, policy, req, expected):
    outcome = engine(policy).handle(req)
    assert outcome == expected if expected else isinstance(outcome, Mocked)


def test_spy_mode_still_mocks_what_is_defined(engine):
    outcome = engine(Policy(unmatched="record")).handle(request("api.hosted.example", "/ping"))
    assert isinstance(outcome, Mocked)


def test_direct_requests_are_never_recorded(engine):
    outcome = engine(Policy(mode="record")).handle(request("127.0.0.1", "/ping", direct=True))
    assert isinstance(outcome, Mocked)


def test_a_partners_own_mode_wins_over_the_policy(engine):
    recorded = PARTNERS.replace("partner: hosted\n", "partner: hosted\n    mode: record\n")
    e = engine(Policy(mode="mock"), recorded)
    assert e.handle(request("api.hosted.example", "/ping")) == Record("hosted",
                                                                      "api.hosted.example")
    assert isinstance(e.handle(request("x.example", "/hello")), Mocked)


def test_a_new_policy_applies_to_the_engine_in_place(engine):
    e = engine()
    e.policy = Policy(mode="record")
    assert isinstance(e.handle(request("api.hosted.example", "/ping")), Record)


def test_mocked_carries_the_path_parameters(engine):
    outcome = engine().handle(request("api.hosted.example", "/jobs/j-9"))
    assert isinstance(outcome, Mocked)
    assert outcome.params == {"id": "j-9"}
