"""Responses that depend on the request, through ``Engine.handle``: endpoint conditions,
alternatives, named payloads, templates, captured flow state, XML/SOAP and their errors."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest

from imnot_proxy.engine import Engine, EngineSettings, Mocked, Unmatched
from imnot_proxy.messages import CIHeaders, MockResponse, RequestView, encode_json


def view(method: str, path: str, *, query: str = "", headers: dict | None = None,
         body: Any = b"", session: str | None = None) -> RequestView:
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return RequestView(method=method, path=path, query_string=query,
                       headers=CIHeaders(headers or {}), body=body, session=session)


def header(response: MockResponse, name: str) -> str | None:
    return next((v for k, v in response.headers if k.lower() == name.lower()), None)


@pytest.fixture
def make(tmp_path, store, load_text, clock) -> Callable[..., Engine]:
    def build(text: str, **settings: Any) -> Engine:
        result = load_text(text, tmp_path)
        assert result.errors == [], [str(p) for p in result.errors]
        return Engine(result.partners, store, EngineSettings(clock=clock, **settings))
    return build


def send(engine: Engine, method: str, path: str, **kwargs: Any) -> MockResponse:
    outcome = engine.handle(view(method, path, **kwargs))
    assert isinstance(outcome, Mocked), outcome
    return outcome.response


# --- alternatives -------------------------------------------------------------------------

RATES = """
    partner: acme
    datapoints:
      - name: rates
        pattern: static
        endpoints:
          - method: GET
            path: /rates
            alternatives:
              - when: {header: X-Tier, equals: gold}
                response: {body: {tier: gold}}
              - when: {query: currency, in: [EUR, USD]}
                response: {body: {tier: currency}}
              - response: {body: {tier: default}}
    """


@pytest.mark.parametrize(("kwargs", "tier", "choice"), [
    ({"headers": {"X-Tier": "gold"}, "query": "currency=EUR"}, "gold",
     "when#1 (header X-Tier=gold)"),
    ({"query": "currency=EUR"}, "currency", "when#2 (query currency in [EUR, USD])"),
    ({"query": "currency=GBP"}, "default", "default"),
    ({}, "default", "default"),
])
def test_first_matching_alternative_answers_and_says_which(make, kwargs, tier, choice):
    response = send(make(RATES), "GET", "/rates", **kwargs)
    assert json.loads(response.body) == {"tier": tier}
    assert response.choice == choice


def test_no_alternative_and_no_default_is_a_404_saying_why(make):
    engine = make(RATES.replace("              - response: {body: {tier: default}}\n", ""))
    response = send(engine, "GET", "/rates", query="currency=GBP")
    assert response.status == 404
    body = json.loads(response.body)
    assert body["detail"] == "no alternative matched this request"
    assert body["tried"] == [
        {"alternative": "when#1 (header X-Tier=gold)", "failed": "header X-Tier is absent"},
        {"alternative": "when#2 (query currency in [EUR, USD])",
         "failed": "query currency is 'GBP', not one of [EUR, USD]"}]
    # and why, for the flow comment, the journal's choice and the log line
    assert response.choice == (
        "no alternative matched: when#1 (header X-Tier=gold): header X-Tier is absent; "
        "when#2 (query currency in [EUR, USD]): query currency is 'GBP', not one of [EUR, USD]")


def test_named_payloads_per_alternative(make, store):
    engine = make("""
        partner: acme
        datapoints:
          - name: rates
            pattern: fetch
            endpoints:
              - method: GET
                path: /rates/{hotel}
                alternatives:
                  - {when: {path: hotel, matches: "^VIP"}, payload: vip}
                  - {}
        """)
    store.put_global("acme", "rates", encode_json({"rate": 100}))
    store.put_global("acme", "rates", b"<Rate>999</Rate>", name="vip",
                     content_type="application/xml")
    vip = send(engine, "GET", "/rates/VIP-1")
    assert (vip.body, header(vip, "content-type")) == (b"<Rate>999</Rate>", "application/xml")
    assert json.loads(send(engine, "GET", "/rates/H-1").body) == {"rate": 100}


# --- several endpoints on one path -----------------------------------------------------------

SOAP = """
    partner: ota
    datapoints:
      - name: avail
        pattern: static
        endpoints:
          - method: POST
            path: /soap
            when: {soap_action: OTA_HotelAvailNotifRQ}
            response: {headers: {Content-Type: text/xml}, body: "<AvailRS/>"}
      - name: rates
        pattern: static
        endpoints:
          - method: POST
            path: /soap
            when: {soap_action: OTA_HotelRateAmountNotifRQ}
            response: {headers: {Content-Type: text/xml}, body: "<RateRS/>"}
    """


def envelope(operation: str, version: str = "1.1", inner: str = "") -> bytes:
    ns = ("http://schemas.xmlsoap.org/soap/envelope/" if version == "1.1"
          else "http://www.w3.org/2003/05/soap-envelope")
    return (f'<s:Envelope xmlns:s="{ns}"><s:Body><ota:{operation} '
            f'xmlns:ota="http://www.opentravel.org/OTA/2003/05" EchoToken="E-1">{inner}'
            f'</ota:{operation}></s:Body></s:Envelope>').encode()


@pytest.mark.parametrize(("operation", "headers", "answer"), [
    ("OTA_HotelAvailNotifRQ", {}, b"<AvailRS/>"),
    ("OTA_HotelRateAmountNotifRQ", {}, b"<RateRS/>"),
    ("X", {"SOAPAction": '"http://ota/OTA_HotelRateAmountNotifRQ"'}, b"<RateRS/>"),
    ("X", {"Content-Type": 'application/soap+xml; action="urn:OTA_HotelAvailNotifRQ"'},
     b"<AvailRS/>"),
])
def test_one_path_is_dispatched_by_soap_operation(make, operation, headers, answer):
    version = "1.2" if "soap+xml" in headers.get("Content-Type", "") else "1.1"
    outcome = make(SOAP).handle(view("POST", "/soap", body=envelope(operation, version),
                                     headers=headers))
    assert isinstance(outcome, Mocked) and outcome.response.body == answer


@pytest.mark.parametrize(("version", "status", "content_type", "code"), [
    ("1.1", 500, "text/xml; charset=utf-8", b"<faultcode>soap:Client</faultcode>"),
    ("1.2", 500, "application/soap+xml; charset=utf-8", b"<soap:Value>soap:Sender</soap:Value>"),
])
def test_an_operation_nobody_answers_is_a_soap_fault(make, version, status, content_type, code):
    outcome = make(SOAP).handle(view("POST", "/soap", body=envelope("OTA_Ping", version)))
    assert isinstance(outcome, Unmatched)
    assert outcome.response.status == status
    assert header(outcome.response, "content-type") == content_type
    assert code in outcome.response.body and b"no endpoint for POST /soap" in \
        outcome.response.body
    assert "ota/avail: SOAP operation is 'OTA_Ping', not 'OTA_HotelAvailNotifRQ'" in \
        outcome.reason
    assert outcome.partner == "ota"  # the journal's partner filter shows the miss
    assert (b"<tried><endpoint>ota/avail</endpoint><when>soap_action OTA_HotelAvailNotifRQ"
            b"</when><failed>SOAP operation is 'OTA_Ping', not 'OTA_HotelAvailNotifRQ'"
            b"</failed></tried>") in outcome.response.body


@pytest.mark.parametrize(("headers", "content_type", "marker"), [
    ({"SOAPAction": '"OTA_HotelAvailNotifRQ"', "Content-Type": "text/xml"},
     "text/xml; charset=utf-8", b"<faultcode>soap:Client</faultcode>"),
    ({"Content-Type": "application/soap+xml; charset=utf-8"},
     "application/soap+xml; charset=utf-8", b"<soap:Value>soap:Sender</soap:Value>"),
    ({"Content-Type": "application/xml"}, "application/xml", b"<error><status>404</status>"),
    ({"Content-Type": "application/json"}, "application/json", b'"detail":'),
])
def test_a_body_that_does_not_parse_gets_errors_in_the_language_its_headers_name(
        make, headers, content_type, marker):
    outcome = make(SOAP).handle(view("POST", "/soap", body=b"<s:Envelope><s:Bo",
                                     headers=headers))
    assert isinstance(outcome, Unmatched)
    assert header(outcome.response, "content-type") == content_type
    assert marker in outcome.response.body, outcome.response.body


def test_two_endpoints_without_when_on_one_path_still_conflict(tmp_path, load_text):
    result = load_text(SOAP.replace("            when: {soap_action: OTA_HotelRateAmountNotifRQ}\n",
                                    "").replace("            when: {soap_action: "
                                                "OTA_HotelAvailNotifRQ}\n", ""), tmp_path)
    assert any("is already defined by datapoint 'avail'" in p.message for p in result.errors)


def test_identical_conditions_conflict_too(tmp_path, load_text):
    result = load_text(SOAP.replace("OTA_HotelRateAmountNotifRQ}", "OTA_HotelAvailNotifRQ}"),
                       tmp_path)
    assert any("with the same 'when:'" in p.message for p in result.errors)


@pytest.mark.parametrize(("source", "words"), [
    ('{json: "$..["}', "capture.x.json"), ('{xpath: "//a[@b="}', "capture.x.xpath")])
def test_a_broken_capture_expression_is_a_located_load_error(tmp_path, load_text, source, words):
    result = load_text(f"""
        partner: cap
        datapoints:
          - name: cap
            pattern: polling
            endpoints:
              - method: POST
                path: /c
                capture:
                  x: {source}
                response: {{generates_id: true, id_body_field: id}}
        """, tmp_path)
    (problem,) = result.errors
    assert problem.line == 10 and words in str(problem) and "cannot load" not in str(problem)


# --- templates --------------------------------------------------------------------------------

def test_a_templated_json_body_echoes_request_values_safely(make, clock):
    engine = make("""
        partner: acme
        datapoints:
          - name: echo
            pattern: static
            endpoints:
              - method: POST
                path: /echo/{hotel}
                response:
                  template: true
                  status: "{{ 201 if request.query.new == 'yes' else 200 }}"
                  headers: {X-Hotel: "{{ request.params.hotel }}"}
                  body:
                    hotel: "{{ request.params.hotel }}"
                    amount: "{{ request.json('$.amount') }}"
                    note: "{{ request.json('$.note') }} at {{ now(format='date') }}"
        """)
    response = send(engine, "POST", "/echo/H-7", query="new=yes",
                    body={"amount": 12.5, "note": 'quote " and }'})
    assert response.status == 201 and header(response, "X-Hotel") == "H-7"
    assert json.loads(response.body) == {"hotel": "H-7", "amount": 12.5,
                                         "note": 'quote " and } at 1970-01-12'}


def test_a_template_error_is_a_500_naming_partner_datapoint_and_line(make):
    engine = make("""
        partner: acme
        datapoints:
          - name: broken
            pattern: static
            endpoints:
              - method: GET
                path: /broken
                response: {template: true, body: {x: "{{ request.query.missing }}"}}
        """)
    response = send(engine, "GET", "/broken")
    assert response.status == 500
    detail = json.loads(response.body)["detail"]
    assert detail == "template error in acme/broken, body.x: request.query has no 'missing'"
    assert send(engine, "GET", "/broken", query="missing=1").status == 200


@pytest.mark.parametrize(("response", "where"), [
    ('{template: true, status: "{{ 999 }}"}', "status: status rendered as 999, not 100-599"),
    ('{template: true, headers: {X-A: "{{ id.x }}"}}', "header X-A: "),
    ('{template: true, headers: {Content-Type: text/plain}, body: "a\\n{{ request.query.nope }}"}',
     "body, line 2: "),
])
def test_a_template_error_names_the_part_that_failed(make, response, where):
    engine = make(f"""
        partner: acme
        datapoints:
          - name: broken
            pattern: static
            endpoints:
              - {{method: GET, path: /broken, response: {response}}}
        """)
    detail = json.loads(send(engine, "GET", "/broken").body)["detail"]
    assert detail.startswith(f"template error in acme/broken, {where}"), detail


def test_template_syntax_errors_are_load_errors_with_a_line(tmp_path, load_text):
    result = load_text("""
        partner: acme
        datapoints:
          - name: broken
            pattern: static
            endpoints:
              - method: GET
                path: /broken
                response: {template: true, body: {x: "{{ request. }}"}}
              - method: GET
                path: /when
                when: {header: X, matches: "("}
        """, tmp_path)
    errors = {p.loc: p for p in result.errors}
    assert "datapoints.0.endpoints.0.response.body.x" in errors
    assert errors["datapoints.0.endpoints.0.response.body.x"].line == 9
    assert "datapoints.0.endpoints.1.when.matches" in errors


def test_without_template_a_body_is_sent_byte_for_byte(make):
    engine = make("""
        partner: acme
        datapoints:
          - name: literal
            pattern: static
            endpoints:
              - {method: GET, path: /literal, response: {body: {x: "{{ not a template }}"}}}
        """)
    assert json.loads(send(engine, "GET", "/literal").body) == {"x": "{{ not a template }}"}


def test_an_xml_template_escapes_what_it_echoes(make):
    engine = make("""
        partner: acme
        datapoints:
          - name: xml
            pattern: static
            endpoints:
              - method: POST
                path: /xml
                response:
                  template: true
                  headers: {Content-Type: application/xml}
                  body: "<RS EchoToken=\\"{{ request.xpath('//RQ/@EchoToken') }}\\"/>"
        """)
    response = send(engine, "POST", "/xml", body=b'<RQ EchoToken="a&quot;b&lt;c"/>')
    assert response.body == b'<RS EchoToken="a&#34;b&lt;c"/>'


# --- flow state ---------------------------------------------------------------------------------

REPORTS = """
    partner: acme
    datapoints:
      - name: report
        pattern: polling
        endpoints:
          - step: 1
            method: POST
            path: /reports
            capture:
              hotel: {json: $.hotel}
              ref: {header: X-Ref}
            response:
              generates_id: true
              id_body_field: reportId
              template: true
              body: {hotel: "{{ captured.hotel }}", status: PENDING}
          - step: 2
            method: GET
            path: /reports/{id}/status
            response:
              template: true
              body: {reportId: "{{ id }}", hotel: "{{ captured.hotel }}", ref: "{{ captured.ref }}"}
          - step: 3
            method: GET
            path: /reports/{id}
            response:
              returns_payload: true
              template: true
              body: {report: "{{ payload }}", hotel: "{{ captured.hotel }}"}
    """


def test_values_captured_at_submit_reach_the_later_steps(make, store):
    engine = make(REPORTS)
    store.put_global("acme", "report", encode_json({"rooms": 3}))
    submit = json.loads(send(engine, "POST", "/reports", body={"hotel": "H-7"},
                             headers={"X-Ref": "R-1"}).body)
    assert submit["hotel"] == "H-7" and submit["status"] == "PENDING"
    report = submit["reportId"]
    status = json.loads(send(engine, "GET", f"/reports/{report}/status").body)
    assert status == {"reportId": report, "hotel": "H-7", "ref": "R-1"}
    result = json.loads(send(engine, "GET", f"/reports/{report}").body)
    assert result == {"report": {"rooms": 3}, "hotel": "H-7"}


def test_an_xml_submit_gets_its_id_by_xpath(make):
    engine = make("""
        partner: acme
        datapoints:
          - name: job
            pattern: polling
            endpoints:
              - step: 1
                method: POST
                path: /jobs
                response:
                  generates_id: true
                  id_xpath: //Ack/@JobId
                  headers: {Content-Type: application/xml}
                  body: '<Ack xmlns="urn:a" JobId=""><Status>Queued</Status></Ack>'
        """)
    from lxml import etree

    root = etree.fromstring(send(engine, "POST", "/jobs").body)
    assert len(root.get("JobId")) == 36 and root[0].text == "Queued"


# --- signed callbacks -------------------------------------------------------------------------------

def test_a_callback_request_is_signed_with_a_configured_key(make, store):
    jobs: list = []
    engine = make("""
        partner: acme
        keys: {signing: {value: s3cr3t}}
        datapoints:
          - name: hook
            pattern: callback
            endpoints:
              - method: POST
                path: /hooks
                capture: {order: {json: $.order}}
                response:
                  callback_url_field: url
                  template: true
                  callback_headers:
                    X-Signature: "{{ hmac_sha256(payload_text, 'signing') }}"
                    X-Order: "{{ captured.order }}"
        """, dispatch=jobs.append)
    store.put_global("acme", "hook", encode_json({"event": "done"}))
    send(engine, "POST", "/hooks", body={"url": "http://127.0.0.1:9/cb", "order": "O-1"})
    (job,) = jobs
    from imnot_proxy.engine.callback import _shaped

    payload = store.get_global("acme", "hook")
    body, headers = _shaped(job.shape, job.request, payload, {"Content-Type": "x"})
    expected = hmac.new(b"s3cr3t", b'{"event":"done"}', hashlib.sha256).hexdigest()
    assert (body, headers["X-Signature"], headers["X-Order"]) == (
        b'{"event":"done"}', expected, "O-1")


# --- validate: XPath and XML Schema --------------------------------------------------------------

XSD = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="RQ">
    <xs:complexType><xs:attribute name="EchoToken" type="xs:string" use="required"/></xs:complexType>
  </xs:element>
</xs:schema>
"""


def test_xpath_rules_and_an_xml_schema_guard_an_xml_endpoint(make, tmp_path):
    (tmp_path / "rq.xsd").write_text(XSD)
    engine = make("""
        partner: acme
        datapoints:
          - name: xml
            pattern: static
            endpoints:
              - method: POST
                path: /xml
                validate:
                  xpath: {"//RQ/@EchoToken": {required: true, pattern: "^E-"}}
                  xsd: rq.xsd
                response: {status: 200}
        """)
    assert send(engine, "POST", "/xml", body=b'<RQ EchoToken="E-1"/>').status == 200
    bad = send(engine, "POST", "/xml", body=b'<RQ EchoToken="X"/>')  # an XML request:
    assert bad.status == 422 and header(bad, "content-type") == "application/xml"  # XML errors
    assert b"xpath //RQ/@EchoToken: does not match pattern" in bad.body
    missing = send(engine, "POST", "/xml", body=b"<RQ/>", headers={"Accept": "x"}).body
    assert b"</detail><message>xpath //RQ/@EchoToken: required</message><message>xsd: line 1:" \
        in missing
    assert b'["' not in missing  # each problem its own element, not a JSON list in XML
    broken = send(engine, "POST", "/xml", body=b'<RQ EchoToken="E-1"',
                  headers={"Content-Type": "application/xml"})
    assert broken.status == 422 and header(broken, "content-type") == "application/xml"


def test_a_missing_xsd_file_is_a_load_error(tmp_path, load_text):
    result = load_text("""
        partner: acme
        datapoints:
          - name: xml
            pattern: static
            endpoints:
              - {method: POST, path: /xml, validate: {xsd: nowhere.xsd}}
        """, tmp_path)
    (problem,) = result.errors
    assert problem.loc == "datapoints.0.endpoints.0.validate.xsd"
    assert "cannot load the XML Schema" in problem.message


def test_errors_of_an_xml_endpoint_are_xml(make, store):
    engine = make("""
        partner: acme
        datapoints:
          - name: doc
            pattern: fetch
            errors: xml
            endpoints:
              - {method: GET, path: /doc}
        """)
    response = send(engine, "GET", "/doc")
    assert (response.status, header(response, "content-type")) == (404, "application/xml")
    assert response.body.startswith(b'<?xml version="1.0" encoding="utf-8"?><error>')


@pytest.mark.parametrize("second", [
    "{header: {x-op: a}}", "{header: X-Op, equals: a}", "[{header: x-OP, equals: a}]"])
def test_the_same_condition_written_another_way_conflicts(tmp_path, load_text, second):
    result = load_text(f"""
        partner: p
        hosts: [api.p.test]
        datapoints:
          - name: one
            pattern: static
            endpoints:
              - {{method: GET, path: /x, when: {{header: {{X-Op: a}}}}}}
          - name: two
            pattern: static
            endpoints:
              - {{method: GET, path: /x, when: {second}}}
        """, tmp_path)
    assert any("with the same 'when:'" in p.message for p in result.errors), result.errors


LONE = """
    partner: one
    datapoints:
      - name: ping
        pattern: static
        errors: soap
        endpoints:
          - method: POST
            path: /soap
            when: {soap_action: Ping}
            response: {headers: {Content-Type: text/xml}, body: "<Pong/>"}
      - name: gold
        pattern: static
        endpoints:
          - method: GET
            path: /h
            when: {header: X-Tier, equals: gold}
            response: {body: {gold: true}}
"""


def test_an_endpoint_alone_on_its_path_answers_only_when_its_when_holds(make):
    engine = make(LONE)
    assert send(engine, "GET", "/h",
                headers={"X-Tier": "gold"}).body == b'{"gold":true}'
    missed = engine.handle(view("GET", "/h"))
    assert isinstance(missed, Unmatched) and missed.response.status == 404
    assert b"header X-Tier" in missed.response.body
    assert send(engine, "POST", "/soap", headers={
        "Content-Type": "text/xml", "SOAPAction": "Ping"},
        body=envelope("Ping")).body == b"<Pong/>"
    other = engine.handle(view("POST", "/soap", headers={
        "Content-Type": "text/xml", "SOAPAction": "Nope"}, body=envelope("Nope")))
    assert isinstance(other, Unmatched) and b"Fault" in other.response.body
