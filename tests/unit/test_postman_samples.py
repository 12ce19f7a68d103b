"""The Postman export sends, for each alternative, a request that makes its ``when:`` hold:
every exported request, replayed through the engine, gets its alternative's answer."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from imnot_proxy.engine import Engine, EngineSettings, Mocked
from imnot_proxy.lang.condition_samples import sample
from imnot_proxy.lang.conditions import compile_condition
from imnot_proxy.messages import CIHeaders, RequestView
from imnot_proxy.postman import collection

PARTNER = """
partner: hotelco
hosts: [api.hotelco.example]
datapoints:
  - name: rates
    pattern: static
    endpoints:
      - method: POST
        path: /hotels/{hotel}/rates
        alternatives:
          - when: {header: X-Tier, equals: gold}
            response: {status: 200, body: {answer: gold}}
          - when: {query: currency, in: [EUR, USD], ignore_case: true}
            response: {status: 200, body: {answer: currency}}
          - when: {json: $.stay.nights, min: 7}
            response: {status: 200, body: {answer: long-stay}}
          - when: {json: rooms.0.type, equals: suite}
            response: {status: 200, body: {answer: suite}}
          - when: {path: hotel, matches: "^H-42$"}
            response: {status: 200, body: {answer: hotel-42}}
          - when: {all: [{header: {X-Region: eu}}, {json: guest.vip, equals: true}]}
            response: {status: 200, body: {answer: eu-vip}}
          - when: {any: [{form: channel, equals: gds}, {header: X-Channel, equals: gds}]}
            response: {status: 200, body: {answer: gds}}
          - response: {status: 200, body: {answer: default}}
  - name: soap
    pattern: static
    endpoints:
      - method: POST
        path: /ota
        alternatives:
          - when: {soap_action: OTA_HotelAvailRQ}
            response: {status: 200, body: "<avail/>", headers: {Content-Type: text/xml}}
          - when: {xpath: "//OTA_HotelResNotifRQ/@ResStatus", equals: Cancel}
            response: {status: 200, body: "<cancelled/>", headers: {Content-Type: text/xml}}
          - when: {xpath: "//Body/OTA_PingRQ/EchoData", equals: hello}
            response: {status: 200, body: "<pong/>", headers: {Content-Type: text/xml}}
"""


def replay(engine: Engine, item: dict) -> bytes:
    """The exported request, sent to the engine as Postman would send it."""
    request = item["request"]
    url = request["url"]
    values = {v["key"]: v["value"] for v in url.get("variable", [])}
    # a variable no condition constrains is left for the user to fill: here, H-1
    path = "/" + "/".join((values[s[1:]] or "H-1") if s.startswith(":") else s
                          for s in url["path"])
    headers = {h["key"]: h["value"] for h in request["header"] if not h.get("disabled")}
    body = b""
    given = request.get("body")
    if given and given["mode"] == "raw":
        body = given["raw"].encode()
    elif given and given["mode"] == "urlencoded":
        body = urlencode({p["key"]: p["value"] for p in given["urlencoded"]}).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    query = urlencode({q["key"]: q["value"] for q in url.get("query", [])})
    outcome = engine.handle(RequestView(
        method=request["method"], path=path, query_string=query, headers=CIHeaders(headers),
        body=body, scheme="https", host="api.hotelco.example", port=443))
    assert isinstance(outcome, Mocked), (item["name"], outcome)
    return outcome.response.body


def test_each_alternative_is_a_request_that_picks_it(tmp_path, store, load_text):
    result = load_text(PARTNER, tmp_path)
    assert result.errors == []
    engine = Engine(result.partners, store, EngineSettings())
    document = collection([p.model for p in result.partners])
    rates, soap = document["item"][0]["item"]
    answers = [json.loads(replay(engine, item))["answer"] for item in rates["item"]]
    assert answers == ["gold", "currency", "long-stay", "suite", "hotel-42", "eu-vip", "gds",
                       "default"]
    assert rates["item"][0]["name"] == "POST /hotels/{hotel}/rates [header X-Tier=gold]"
    assert rates["item"][-1]["name"].endswith("[otherwise]")
    assert [replay(engine, item) for item in soap["item"]] == [b"<avail/>", b"<cancelled/>",
                                                               b"<pong/>"]


@pytest.mark.parametrize(("when", "note"), [
    ({"header": "X-Ref", "matches": "^[A-Z]{3}-\\d+$"}, "header X-Ref ~ /^[A-Z]{3}-\\d+$/"),
    ({"xpath": "count(//Room) > 2"}, "xpath count(//Room) > 2 exists"),
    ({"not": {"header": "X-Test", "exists": True}}, "not header X-Test exists"),
])
def test_what_cannot_be_built_is_named(when: Any, note: str):
    condition, problems = compile_condition(when)
    assert problems == []
    assert note in sample(condition).notes


def test_absent_adds_nothing_and_in_label_says_ignore_case():
    condition, _ = compile_condition({"header": "X-Debug", "absent": True})
    assert sample(condition).headers == {}
    condition, _ = compile_condition({"query": "c", "in": ["a", "b"], "ignore_case": True})
    assert condition.label == "query c in [a, b] (ignore case)"
