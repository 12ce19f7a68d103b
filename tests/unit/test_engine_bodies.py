"""The token answer's other keys (oauth ``body``) and a callback's immediate reply
(callback ``body``), fixed and templated, through ``Engine``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imnot_proxy.engine import Engine, EngineSettings
from imnot_proxy.engine.callback import DeliveryJob, delivery_request
from imnot_proxy.engine.oauth import TOKEN
from imnot_proxy.messages import encode_json

from .test_engine import as_json, header, send

PARTNER = """
    partner: p
    datapoints:
      - name: token
        pattern: oauth
        endpoints:
          - method: POST
            path: /token
            response: {token_type: bearer, body: {scope: read, instance_url: https://x.example}}
          - method: POST
            path: /token2
            response:
              template: true
              expires_in: 60
              headers: {X-Issued: "{{ now('epoch') }}"}
              body: {scope: "{{ request.form.get('scope') }}", issued_at: "{{ now('epoch_ms') }}"}
      - name: export
        pattern: callback
        endpoints:
          - method: POST
            path: /exports
            response:
              callback_url_field: callbackUrl
              headers: {Location: "/exports/{id}"}
              body: {requestId: "{id}", status: ACCEPTED}
          - method: POST
            path: /exports2
            capture: {reference: {json: $.reference}}
            response:
              callback_url_field: callbackUrl
              template: true
              body: {requestId: "{{ id }}", reference: "{{ captured.reference }}",
                     at: "{{ now() }}"}
              callback_body: {requestId: "{{ id }}", data: "{{ payload_json('$.data') }}"}
    """


@pytest.fixture
def engine(tmp_path, store, load_text, clock) -> tuple[Engine, list[DeliveryJob]]:
    result = load_text(PARTNER, tmp_path)
    assert result.errors == [], result.errors
    jobs: list[DeliveryJob] = []
    return Engine(result.partners, store, EngineSettings(clock=clock, dispatch=jobs.append)), \
        jobs


def test_oauth_body_keys_are_answered_beside_the_token(engine) -> None:
    answer = as_json(send(engine[0], "POST", "/token"))
    assert answer == {"access_token": TOKEN, "token_type": "bearer", "expires_in": 3600,
                      "scope": "read", "instance_url": "https://x.example"}


def test_oauth_templated_body_keys_render_per_request(engine, clock) -> None:
    response = send(engine[0], "POST", "/token2", body=b"grant_type=x&scope=a%3Ab",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert as_json(response) == {"access_token": TOKEN, "token_type": "Bearer",
                                 "expires_in": 60, "scope": "a:b",
                                 "issued_at": int(clock.now * 1000)}
    assert header(response, "X-Issued") == str(int(clock.now))


def test_callback_reply_body_and_headers_carry_the_request_id(engine) -> None:
    response = send(engine[0], "POST", "/exports",
                    body={"callbackUrl": "http://127.0.0.1:9/h"})
    request_id = engine[1][-1].request.id
    assert (response.status, as_json(response)) == (202, {"requestId": request_id,
                                                          "status": "ACCEPTED"})
    assert header(response, "Location") == f"/exports/{request_id}"


def test_callback_templated_reply_and_call(engine, store, clock) -> None:
    store.put_global("p", "export", encode_json({"data": {"rows": 3}, "requestId": "old"}))
    response = send(engine[0], "POST", "/exports2",
                    body={"callbackUrl": "http://127.0.0.1:9/h", "reference": "R-77"})
    job = engine[1][-1]
    answer: Any = as_json(response)
    assert answer["requestId"] == job.request.id and answer["reference"] == "R-77"
    assert answer["at"].endswith("Z")
    body, _ = delivery_request(job.store, job.request, job.shape)
    assert json.loads(body) == {"requestId": job.request.id, "data": {"rows": 3}}


def test_without_a_body_the_reply_is_the_original_one(tmp_path, store, load_text) -> None:
    result = load_text("""
        partner: q
        datapoints:
          - name: cb
            pattern: callback
            endpoints:
              - {method: POST, path: /cb, response: {callback_url_field: url}}
        """, tmp_path)
    engine = Engine(result.partners, store, EngineSettings(dispatch=lambda job: None))
    response = send(engine, "POST", "/cb", body={"url": "http://127.0.0.1:9/x"})
    assert list(as_json(response)) == ["request_id"]
