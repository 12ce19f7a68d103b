"""Cross-field rules (one partner) and route conflicts (across partner files)."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from imnot_proxy import rules, schema


def findings(text: str) -> list[tuple[str, str, str]]:
    """(dotted location, severity, message) of every finding for a partner text."""
    model = schema.Partner.model_validate(yaml.safe_load(textwrap.dedent(text)))
    return [(".".join(map(str, loc)), severity, message)
            for loc, message, severity in rules.check_partner(model)]


def one_datapoint(body: str) -> str:
    return "partner: p\ndatapoints:\n" + textwrap.indent(textwrap.dedent(body), "  ")


SUBMIT_BODY = "{step: 1, method: POST, path: /jobs, response: {generates_id: true, id_body_field: jobId}}"

VALID = [
    pytest.param("""
        - name: job
          pattern: polling
          endpoints:
            - {step: 1, method: POST, path: /jobs,
               response: {generates_id: true, id_header: Location, id_header_value: "/jobs/{id}"}}
            - {step: 2, method: HEAD, path: "/jobs/{id}", response: {status: 201}}
            - {step: 3, method: GET, path: "/jobs/{id}", response: {returns_payload: true}}
        """, id="three-step-polling"),
    pytest.param(f"""
        - name: job
          pattern: polling
          strict_order: true
          endpoints:
            - {SUBMIT_BODY}
            - {{step: 2, method: GET, path: "/jobs/{{id}}/status",
               response: {{pending: [{{polls: 2}}]}}}}
            - {{step: 3, method: GET, path: "/jobs/{{id}}", response: {{returns_payload: true}}}}
        """, id="pending-and-strict-order"),
    pytest.param("""
        - name: job
          pattern: polling
          endpoints:
            - {method: POST, path: /jobs, response: {generates_id: true, id_body_field: id}}
        """, id="single-endpoint-polling-without-step"),
    pytest.param("""
        - name: hook
          pattern: callback
          endpoints:
            - {method: POST, path: /hook, response: {callback_url_header: X-Callback-Url}}
        """, id="callback-header"),
    pytest.param("""
        - name: charges
          pattern: fetch
          endpoints:
            - {method: GET, path: /charges, rate_limit: {requests_per_minute: 5}}
        """, id="rate-limit-on-fetch"),
    pytest.param("""
        - name: list
          pattern: paginated
          pagination: {style: page_number_url, items_field: items, next_url_field: next,
                       previous_url_field: prev}
          endpoints:
            - {method: GET, path: /list, rate_limit: {requests_per_minute: 5}}
        """, id="rate-limit-on-page-number-url"),
]


@pytest.mark.parametrize("datapoints", VALID)
def test_valid_partners_have_no_findings(datapoints):
    assert findings(one_datapoint(datapoints)) == []


INVALID = [
    pytest.param("""
        - name: job
          pattern: polling
          endpoints:
            - {step: 1, method: POST, path: /jobs, response: {generates_id: true, id_body_field: id}}
            - {step: 1, method: GET, path: "/jobs/{id}", response: {returns_payload: true}}
        """, "datapoints.0.endpoints.1.step", "step 1 is also used by endpoints.0",
        id="duplicate-step"),
    pytest.param("""
        - name: job
          pattern: polling
          endpoints:
            - {step: 1, method: POST, path: /jobs, response: {generates_id: true, id_body_field: id}}
            - {method: GET, path: "/jobs/{id}", response: {returns_payload: true}}
        """, "datapoints.0.endpoints.1", "polling endpoints need a 'step' number",
        id="missing-step"),
    pytest.param("""
        - name: job
          pattern: polling
          endpoints:
            - {step: 1, method: POST, path: /jobs, response: {generates_id: true}}
        """, "datapoints.0.endpoints.0.response",
        "'id_header' + 'id_header_value', 'id_body_field', 'id_xpath' (XML), or a body",
        id="no-id-delivery"),
    pytest.param("""
        - name: job
          pattern: polling
          endpoints:
            - {step: 1, method: POST, path: /jobs, response: {generates_id: true, id_header: Location}}
        """, "datapoints.0.endpoints.0.response", "'id_header' needs 'id_header_value'",
        id="id-header-without-value"),
    pytest.param(f"""
        - name: job
          pattern: polling
          endpoints:
            - {SUBMIT_BODY}
            - {{step: 2, method: GET, path: /jobs/latest, response: {{returns_payload: true}}}}
        """, "datapoints.0.endpoints.1.path", "needs an '{id}' segment",
        id="result-path-without-id"),
    pytest.param("""
        - name: job
          pattern: polling
          endpoints:
            - {step: 1, method: GET, path: "/jobs/{id}", response: {returns_payload: true}}
        """, "datapoints.0.endpoints.0.response.returns_payload", "no step of this datapoint",
        id="result-without-submit"),
    pytest.param(f"""
        - name: job
          pattern: polling
          endpoints:
            - {SUBMIT_BODY}
            - {{step: 2, method: GET, path: "/jobs/{{id}}",
               response: {{returns_payload: true, pending: [{{polls: 1}}]}}}}
        """, "datapoints.0.endpoints.1.response.pending", "not on the result step",
        id="pending-on-result"),
    pytest.param("""
        - name: job
          pattern: polling
          endpoints:
            - {step: 1, method: POST, path: /jobs,
               response: {generates_id: true, id_body_field: id, pending: [{polls: 1}]}}
        """, "datapoints.0.endpoints.0.response.pending", "belongs on a status step",
        id="pending-on-submit"),
    pytest.param("""
        - name: job
          pattern: polling
          strict_order: true
          endpoints:
            - {method: GET, path: "/jobs/{id}"}
        """, "datapoints.0.strict_order", "needs a step with 'generates_id'",
        id="strict-order-without-submit"),
    pytest.param("""
        - name: hook
          pattern: callback
          endpoints:
            - {method: POST, path: /hook,
               response: {callback_url_field: url, callback_url_header: X-Url}}
        """, "datapoints.0.endpoints.0.response", "exactly one of", id="callback-both-sources"),
    pytest.param("""
        - name: hook
          pattern: callback
          endpoints:
            - {method: POST, path: /hook}
        """, "datapoints.0.endpoints.0.response", "exactly one of", id="callback-no-source"),
    pytest.param("""
        - name: config
          pattern: static
          endpoints:
            - {method: GET, path: /config, rate_limit: {requests_per_minute: 5}}
        """, "datapoints.0.endpoints.0.rate_limit", "only supported on 'fetch'",
        id="rate-limit-on-static"),
    pytest.param("""
        - name: list
          pattern: paginated
          pagination: {style: offset_limit, items_field: items}
          endpoints:
            - {method: GET, path: /list, rate_limit: {requests_per_minute: 5}}
        """, "datapoints.0.endpoints.0.rate_limit", "only supported on 'fetch'",
        id="rate-limit-on-offset-limit"),
]


@pytest.mark.parametrize(("datapoints", "loc", "message"), INVALID)
def test_invalid_partners_are_errors_at_the_right_place(datapoints, loc, message):
    found = findings(one_datapoint(datapoints))
    errors = [f for f in found if f[1] == "error"]
    assert [f[0] for f in errors] == [loc], found
    assert message in errors[0][2]


def test_partner_name_outside_the_admin_url_charset_is_a_warning():
    found = findings("""
        partner: "Stay Link!"
        datapoints:
          - {name: a, pattern: fetch, endpoints: [{method: GET, path: /a}]}
        """)
    assert found == [("partner", "warning",
                      "name should match ^[a-zA-Z0-9_-]{1,64}$ to be usable in admin URLs")]


def test_datapoint_name_outside_the_admin_url_charset_is_a_warning():
    found = findings("""
        partner: p
        datapoints:
          - {name: "d p/x", pattern: fetch, endpoints: [{method: GET, path: /a}]}
        """)
    assert found == [("datapoints.0.name", "warning", "name should match "
                      "^[a-zA-Z0-9_-]{1,64}$ to be usable in admin URLs (payload uploads)")]


def test_duplicate_datapoint_names_are_a_warning():
    found = findings("""
        partner: p
        datapoints:
          - {name: a, pattern: fetch, endpoints: [{method: GET, path: /a}]}
          - {name: a, pattern: fetch, endpoints: [{method: GET, path: /b}]}
        """)
    assert found == [("datapoints.1.name", "warning",
                      "datapoint name 'a' is also used by datapoints.0; both share one payload")]


def test_same_route_twice_in_one_datapoint_is_a_warning_as_the_later_never_answers():
    found = findings("""
        partner: p
        datapoints:
          - name: same
            pattern: fetch
            endpoints:
              - {method: GET, path: "/a/{id}"}
              - {method: GET, path: "/a/{other}"}
              - {method: POST, path: /b, when: {header: X-Tier, equals: gold}}
              - {method: POST, path: /b, when: {header: x-tier, equals: gold}}
              - {method: POST, path: /b, when: {header: x-tier, equals: silver}}
        """)
    assert found == [
        ("datapoints.0.endpoints.1.path", "warning",
         "this endpoint never answers: GET /a/{other} is declared before it by "
         "datapoints.0.endpoints.0; give each a different 'when:' to tell them apart"),
        ("datapoints.0.endpoints.3.path", "warning",
         "this endpoint never answers: POST /b is declared before it by "
         "datapoints.0.endpoints.2 with the same 'when:'")]


def test_header_names_in_conditions_are_compared_in_any_case():
    found = findings("""
        partner: p
        datapoints:
          - {name: a, pattern: static, endpoints: [{method: GET, path: /x, when: {header: X-Tier, equals: "1"}}]}
          - {name: b, pattern: static, endpoints: [{method: GET, path: /x, when: {header: x-tier, equals: "1"}}]}
        """)
    assert [f[:2] for f in found] == [("datapoints.1.endpoints.0.path", "error")]


def test_same_route_in_two_datapoints_of_one_partner_is_an_error():
    found = findings("""
        partner: p
        datapoints:
          - {name: a, pattern: fetch, endpoints: [{method: GET, path: "/x/{id}"}]}
          - {name: b, pattern: static, endpoints: [{method: GET, path: "/x/{key}/"}]}
        """)
    assert found == [("datapoints.1.endpoints.0.path", "error",
                      "route GET /x/{key} is already defined by datapoint 'a' "
                      "(datapoints.0.endpoints.0); give each a different 'when:' to tell "
                      "them apart")]


def test_route_entries_one_per_host(tmp_path, load_text):
    result = load_text("""
        partner: p
        hosts: [a.example, "*.b.example"]
        datapoints:
          - {name: d, pattern: fetch, endpoints: [{method: get, path: /x/}]}
        """, tmp_path)
    entries = list(rules.route_entries(result.partners[0].model))
    assert [(e.route.host, e.route.method, e.route.path) for e in entries] == [
        ("a.example", "GET", "/x"), ("*.b.example", "GET", "/x")]
    assert all(e.loc == ("datapoints", 0, "endpoints", 0) for e in entries)
    assert all(e.route.endpoint is result.partners[0].model.datapoints[0].endpoints[0]
               for e in entries)


# --- across files -------------------------------------------------------------------

def fetch_partner(name: str, path: str, hosts: str = "") -> str:
    host_line = f"hosts: [{hosts}]\n" if hosts else ""
    return (f"partner: {name}\n{host_line}datapoints:\n"
            f"  - {{name: d, pattern: fetch, endpoints: [{{method: GET, path: '{path}'}}]}}\n")


def load_files(tmp_path, files: dict[str, str]):
    from imnot_proxy import loader

    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return loader.load_paths([tmp_path])


def test_route_conflict_across_files_rejects_the_later_partner(tmp_path):
    result = load_files(tmp_path, {
        "a.yaml": fetch_partner("first", "/orders/{id}"),
        "b.yaml": fetch_partner("second", "/orders/{orderId}"),
    })
    assert [s.name for s in result.partners] == ["first"]
    assert [str(p) for p in result.problems] == [
        f"{tmp_path / 'b.yaml'}:3 datapoints.0.endpoints.0.path: route conflict: "
        "GET /orders/{orderId} on any host is already served by first/d; give each a "
        "different 'when:' to tell them apart"]


def test_same_path_on_different_hosts_is_no_conflict(tmp_path):
    result = load_files(tmp_path, {
        "a.yaml": fetch_partner("first", "/orders", "a.example"),
        "b.yaml": fetch_partner("second", "/orders", "b.example"),
    })
    assert result.problems == []
    assert [s.name for s in result.partners] == ["first", "second"]


def test_conflict_on_a_shared_host_names_the_host(tmp_path):
    result = load_files(tmp_path, {
        "a.yaml": fetch_partner("first", "/orders", "a.example"),
        "b.yaml": fetch_partner("second", "/orders", "b.example, a.example"),
    })
    assert [s.name for s in result.partners] == ["first"]
    assert "GET /orders on a.example is already served by first/d" in result.errors[0].message


def test_same_partner_name_in_two_files_is_an_error(tmp_path):
    result = load_files(tmp_path, {
        "a.yaml": fetch_partner("twin", "/a"),
        "b.yaml": fetch_partner("twin", "/b"),
    })
    assert [s.name for s in result.partners] == ["twin"]
    assert result.errors[0].loc == "partner"
    assert result.errors[0].message == f"partner 'twin' is already defined in {tmp_path / 'a.yaml'}"
