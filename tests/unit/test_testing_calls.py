"""The pure parts of the pytest plugin: which calls an endpoint names, body matching, the
request log, session names."""

from __future__ import annotations

import re

import pytest

from imnot_proxy.testing.calls import Call, body_matches, contains, format_calls, select
from imnot_proxy.testing.session import session_name


def call(**fields) -> Call:
    entry = {"kind": "mock", "method": "POST", "url": "https://api.p.example/jobs/42?x=1",
             "status": 202, "partner": "p", "datapoint": "jobs", "route": "POST /jobs/{id}",
             "at": "2026-01-02T03:04:05.678901Z", **fields}
    return Call.of(entry)


@pytest.mark.parametrize(("endpoint", "expected"), [
    ("POST /jobs/{id}", True), ("POST /jobs/42", True), ("post /jobs/42", True),
    ("POST https://api.p.example/jobs/42?x=1", True), ("GET /jobs/42", False),
    ("POST /jobs", False), ("p/jobs", True), ("p/other", False),
])
def test_endpoint_selectors(endpoint, expected):
    assert call().matches(endpoint) is expected


@pytest.mark.parametrize(("expected", "result"), [
    ("Ada", True), ("Bob", False), (re.compile(r'"n":\s*\d'), True),
    ({"guest": "Ada"}, True), ({"guest": {"x": 1}}, False), ({"nested": {"a": 1}}, True),
    ({"missing": 1}, False), (lambda body: "Ada" in body, True),
])
def test_body_matchers(expected, result):
    made = call(body='{"guest": "Ada", "n": 3, "nested": {"a": 1, "b": 2}}')
    assert body_matches(made, expected) is result


def test_no_body_matches_nothing_but_a_predicate():
    made = call(body=None)
    assert not body_matches(made, "x") and not body_matches(made, {"a": 1})
    assert body_matches(made, lambda body: body is None)


def test_contains_is_a_recursive_subset_for_mappings_only():
    assert contains({"a": [1, 2], "b": 1}, {"a": [1, 2]})
    assert not contains({"a": [1, 2, 3]}, {"a": [1, 2]})
    assert not contains([1], {"a": 1})


def test_body_kept_follows_the_entry():
    assert call().body_kept is False
    assert call(body=None).body_kept is True


def test_select_by_kind_partner_and_endpoint():
    calls = [call(), call(kind="miss", partner=None, datapoint=None, route=None)]
    assert select(calls, kind="miss") == [calls[1]]
    assert select(calls, partner="p") == [calls[0]]
    assert select(calls, "POST /jobs/42") == calls


def test_the_request_log():
    text = format_calls([call(body='{"a":1}'),
                         call(kind="miss", status=404, partner=None, route=None,
                              note="imnot miss POST /x · closest: POST /jobs/{id} · session s")],
                        "s")
    lines = text.splitlines()
    assert lines[0] == "2 partner request(s) in session s, oldest first:"
    assert lines[1] == ("  03:04:05.678  mock        POST https://api.p.example/jobs/42?x=1 -> "
                        "202  [p/jobs]")
    assert lines[2] == '      body: {"a":1}'
    assert lines[3].endswith("-> 404  [-]  closest: POST /jobs/{id}")
    miss = call(kind="miss", status=404, datapoint=None, route=None)  # a partner's host
    assert format_calls([miss], "s").splitlines()[1].endswith("-> 404  [p]")
    assert not miss.matches("p/None") and select([miss], partner="p") == [miss]
    assert format_calls([], "s") == "no partner requests in session s"


@pytest.mark.parametrize("name", ["test_x", "test_x[a b/c:d]", "ü" * 80, "[]"])
def test_session_names_are_proxy_user_names_and_unique(name):
    made = session_name(name)
    assert re.fullmatch(r"[A-Za-z0-9._~-]{1,128}", made)
    assert made != session_name(name)
