"""Files the original imnot 1.5.0 accepts and serves, which we once refused: loaded with a
warning (errors under --strict), and served as the original serves them."""

from __future__ import annotations

import json

from imnot_proxy.engine import Engine, Mocked
from imnot_proxy.messages import CIHeaders, RequestView


def send(engine: Engine, method: str, path: str) -> Mocked:
    outcome = engine.handle(RequestView(method=method, path=path, headers=CIHeaders()))
    assert isinstance(outcome, Mocked), outcome
    return outcome


def warnings_of(result) -> list[str]:
    return [f"{p.loc}: {p.message}" for p in result.warnings]


def test_a_quoted_step_number_is_read_as_the_number(tmp_path, store, load_text):
    result = load_text("""
        partner: p
        datapoints:
          - name: job
            pattern: polling
            endpoints:
              - {step: "1", method: POST, path: /jobs, response: {generates_id: true, id_body_field: id}}
              - {step: "2", method: GET, path: "/jobs/{id}", response: {returns_payload: true}}
        """, tmp_path)
    assert result.errors == []
    assert any("datapoints.0.endpoints.0.step" in w and "a number" in w
               for w in warnings_of(result)), warnings_of(result)
    store.put_global("p", "job", b'{"done":true}')
    engine = Engine(result.partners, store)
    job = json.loads(send(engine, "POST", "/jobs").response.body)["id"]
    assert send(engine, "GET", f"/jobs/{job}").response.body == b'{"done":true}'


def test_a_one_step_flow_that_generates_and_returns_is_the_submit(tmp_path, store, load_text):
    """The original's Partner Builder writes this for a one-step flow; the submit wins."""
    result = load_text("""
        partner: p
        datapoints:
          - name: job
            pattern: polling
            endpoints:
              - step: 1
                method: POST
                path: /jobs
                response: {generates_id: true, returns_payload: true, id_body_field: jobId}
        """, tmp_path)
    assert result.errors == []
    assert any("returns_payload" in w for w in warnings_of(result))
    response = send(Engine(result.partners, store), "POST", "/jobs").response
    assert response.status == 202 and "jobId" in json.loads(response.body)


def test_an_id_header_value_without_the_placeholder_is_sent_as_written(tmp_path, store,
                                                                        load_text):
    result = load_text("""
        partner: p
        datapoints:
          - name: job
            pattern: polling
            endpoints:
              - step: 1
                method: POST
                path: /jobs
                response: {generates_id: true, id_header: Location, id_header_value: /jobs/latest}
        """, tmp_path)
    assert result.errors == []
    assert any("id_header_value" in w for w in warnings_of(result))
    response = send(Engine(result.partners, store), "POST", "/jobs").response
    assert dict(response.headers)["Location"] == "/jobs/latest"


def test_strict_makes_these_warnings_errors(tmp_path, load_text):
    result = load_text("""
        partner: p
        datapoints:
          - name: job
            pattern: polling
            endpoints:
              - {step: "1", method: POST, path: /jobs, response: {generates_id: true, id_header: L, id_header_value: x}}
        """, tmp_path, strict=True)
    assert len(result.errors) >= 2 and result.partners == []
