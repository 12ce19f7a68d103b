"""Every helper a template can call, through a template, with the clock frozen."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest

from imnot_proxy.lang import template_helpers as h
from imnot_proxy.lang import template_request as r
from imnot_proxy.lang.templates import TemplateProblems, compile_text
from tests.unit.template_support import context, render, render_error, value

# --- time -----------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "expected"), [
    ("{{ now() }}", "2024-05-01T12:34:56.789Z"),
    ("{{ now('iso') }}", "2024-05-01T12:34:56.789Z"),
    ("{{ now('epoch') }}", "1714566896"),
    ("{{ now('epoch_ms') }}", "1714566896789"),
    ("{{ now('date') }}", "2024-05-01"),
    ("{{ now('%d/%m/%Y %H:%M') }}", "01/05/2024 12:34"),
    ("{{ now(offset='+1d') }}", "2024-05-02T12:34:56.789Z"),
    ("{{ now('iso', '-2h30m') }}", "2024-05-01T10:04:56.789Z"),
    ("{{ now('iso', '+90s') }}", "2024-05-01T12:36:26.789Z"),
    ("{{ now('date', '+1w') }}", "2024-05-08"),
    ("{{ now('iso', '- 1d 2h') }}", "2024-04-30T10:34:56.789Z"),
    ("{{ now('epoch', 3600) }}", "1714570496"),
    ("{{ now(tz='Europe/Paris') }}", "2024-05-01T14:34:56.789+02:00"),
    ("{{ now(tz='America/New_York') }}", "2024-05-01T08:34:56.789-04:00"),
    ("{{ now(tz='+05:30') }}", "2024-05-01T18:04:56.789+05:30"),
    ("{{ now('%H:%M %Z', tz='Asia/Tokyo') }}", "21:34 JST"),
    ("{{ now('date', '+12h', 'Pacific/Auckland') }}", "2024-05-02"),
    ("{{ now('epoch', tz='Europe/Paris') }}", "1714566896"),
])
def test_now(source, expected):
    assert render(source) == expected


def test_now_in_winter_uses_the_winter_offset():
    january = context(clock=lambda: 1704067200.0)  # 2024-01-01T00:00:00Z
    assert render("{{ now(tz='Europe/Paris') }}", january) == "2024-01-01T01:00:00.000+01:00"
    assert render("{{ now('date', '-1s') }}", january) == "2023-12-31"


def test_now_reads_the_clock_at_each_render():
    moments = iter([100.0, 200.5])
    template_ctx = context(clock=lambda: next(moments))
    from imnot_proxy.lang.templates import compile_text

    template = compile_text("{{ now('epoch_ms') }}")
    assert [template.render(template_ctx), template.render(template_ctx)] == ["100000",
                                                                               "200500"]


def test_now_native_values_are_numbers():
    assert value({"at": "{{ now('epoch') }}", "ms": "{{ now('epoch_ms', '+1s') }}"}) == {
        "at": 1714566896, "ms": 1714566897789}


@pytest.mark.parametrize(("source", "message"), [
    ("{{ now(offset='+1x') }}", "offset '+1x' is not like"),
    ("{{ now(offset='tomorrow') }}", "offset 'tomorrow'"),
    ("{{ now(offset='+9999999w') }}", "out of range"),
    ("{{ now(tz='Mars/Olympus') }}", "unknown time zone 'Mars/Olympus'"),
    ("{{ now(tz='../../etc/passwd') }}", "unknown time zone"),
    ("{{ now(tz='+25:00') }}", "out of range"),
    ("{{ now(tz=5) }}", "is not a name"),
    ("{{ now('isoo') }}", "unknown time format 'isoo'"),
    ("{{ now(5) }}", "is not text"),
])
def test_now_errors_name_the_value(source, message):
    assert message in load_problem(source)  # constant arguments: checked at load


@pytest.mark.parametrize(("source", "query", "message"), [
    ("{{ now(offset=request.query.o) }}", "o=%2B1x", "offset '+1x' is not like"),
    ("{{ now(tz=request.query.o) }}", "o=Mars", "unknown time zone 'Mars'"),
    ("{{ random_int(request.query.o|int, 1) }}", "o=6", "low 6 is above high 1"),
])
def test_helper_errors_on_request_values_are_render_errors(source, query, message):
    assert message in render_error(source, context(query=query)).message


def load_problem(source: str) -> str:
    with pytest.raises(TemplateProblems) as caught:
        compile_text(source)
    (problem,) = caught.value.problems
    return problem.message


@pytest.mark.parametrize(("source", "expected"), [
    ("{{ date_add('2024-05-01', '+3d') }}", "2024-05-04"),
    ("{{ '2024-05-01'|date_add('-1d') }}", "2024-04-30"),
    ("{{ '2024-05-01T10:00:00Z'|date_add('+1h30m') }}", "2024-05-01T11:30:00Z"),
    ("{{ '2024-05-01T10:00:00+02:00'|date_add('-1d') }}", "2024-04-30T10:00:00+02:00"),
    ("{{ '2024-05-01T10:00:00.250'|date_add('+1s') }}", "2024-05-01T10:00:01.250000"),
    ("{{ 1714521600|date_add('+1d') }}", "1714608000"),
    ("{{ '1714521600'|date_add('+1d') }}", "1714608000"),
    ("{{ date_format('2024-05-01T10:00:00Z', '%d.%m.%Y') }}", "01.05.2024"),
    ("{{ 1714521600|date_format }}", "2024-05-01T00:00:00.000Z"),
    ("{{ '2024-05-01T10:00:00Z'|date_format('iso', 'Europe/Paris') }}",
     "2024-05-01T12:00:00.000+02:00"),
    ("{{ '2024-05-01'|date_format('epoch') }}", "1714521600"),
    ("{{ '2024-05-01T23:30:00-05:00'|date_format('date') }}", "2024-05-01"),
    ("{{ days_between('2024-05-01', '2024-05-04') }}", "3"),
    ("{{ '2024-05-04'|days_between('2024-05-01') }}", "-3"),
    ("{{ days_between('2024-05-01T15:00:00Z', '2024-05-04T11:00:00Z') }}", "3"),
    ("{{ days_between(1714521600, '2024-05-02') }}", "1"),
])
def test_dates_from_values(source, expected):
    assert render(source) == expected


def test_dates_from_request_values():
    ctx = context(b'{"stay": {"arrival": "2024-06-10", "nights": 3}}')
    source = ("{% set arrival = request.json('$.stay.arrival') %}"
              "{{ arrival|date_add('+' ~ request.json('stay.nights') ~ 'd') }}"
              " {{ days_between(now('date'), arrival) }}")
    assert render(source, ctx) == "2024-06-13 40"


def test_epoch_stays_a_number_in_values():
    assert value("{{ 1714521600|date_add('+1h') }}") == 1714525200
    assert value("{{ 1714521600.5|date_add('+1h') }}") == 1714525200.5


@pytest.mark.parametrize("bad", ["'tomorrow'", "'2024-13-01'", "None", "true", "[1]"])
def test_dates_refuse_what_is_not_a_date(bad):
    assert "is not an ISO date" in render_error("{{ " + bad + "|date_add('+1d') }}").message


# --- random ---------------------------------------------------------------------------

def test_uuid_is_a_fresh_v4():
    first, second = render("{{ uuid() }}"), render("{{ uuid() }}")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        first)
    assert first != second


def test_random_int_stays_within_both_bounds():
    seen = {value("{{ random_int(1, 3) }}") for _ in range(200)}
    assert seen == {1, 2, 3}
    assert value("{{ random_int(-5, -5) }}") == -5


@pytest.mark.parametrize(("source", "message"), [
    ("{{ random_int(6, 1) }}", "low 6 is above high 1"),
    ("{{ random_int('1', 2) }}", "must be an integer"),
    ("{{ random_int(1) }}", "missing 1 required positional argument"),
    ("{{ random_string(5000) }}", "length must be 0 to 4096"),
    ("{{ random_string(-1) }}", "length must be 0 to 4096"),
    ("{{ random_string(4, '') }}", "alphabet is empty"),
    ("{{ random_string(4, 'z-a') }}", "runs backwards"),
    ("{{ random_string(4, '\u0000-\U0010ffff') }}", "more than 10000 characters"),
    ("{{ random_string(4, 5) }}", "alphabet must be text"),
])
def test_random_errors(source, message):
    assert message in load_problem(source)


@pytest.mark.parametrize(("source", "pattern"), [
    ("{{ random_string() }}", r"[A-Za-z0-9]{12}"),
    ("{{ random_string(8, '0-9') }}", r"[0-9]{8}"),
    ("{{ random_string(length=6, alphabet='A-Z0-9') }}", r"[A-Z0-9]{6}"),
    ("{{ random_string(30, 'AB') }}", r"[AB]{30}"),
    ("{{ random_string(30, '-x') }}", r"[-x]{30}"),
    ("{{ random_string(0) }}", r""),
])
def test_random_string(source, pattern):
    assert re.fullmatch(pattern, render(source))


def test_sequence_uses_the_counter_of_the_context():
    calls = []

    def counter(name):
        calls.append(name)
        return 40 + len(calls)

    ctx = context(sequence=counter)
    assert value(["{{ sequence() }}", "{{ sequence('orders') }}"], ctx) == [41, 42]
    assert calls == ["default", "orders"]


def test_sequence_defaults_to_counters_kept_in_the_context():
    ctx = context()
    assert render("{{ sequence() }}{{ sequence() }}{{ sequence('b') }}", ctx) == "121"


# --- crypto and encoding --------------------------------------------------------------

def test_sha256_and_hmac():
    ctx = context(keys={"webhook": b"s3cr3t"})
    expected = hmac.new(b"s3cr3t", b"abc", hashlib.sha256).hexdigest()
    assert render("{{ hmac_sha256('abc', 'webhook') }}", ctx) == expected
    assert render("{{ 'abc'|hmac_sha256('webhook') }}", ctx) == expected
    assert render("{{ sha256('abc') }}") == hashlib.sha256(b"abc").hexdigest()
    assert render("{{ {'a': 1}|sha256 }}") == hashlib.sha256(b'{"a":1}').hexdigest()


def test_hmac_signs_the_payload_as_stored():
    stored = b'{"b": 2,  "a": 1}'
    ctx = context(keys={"k": b"key"}, payload=stored, payload_type="application/json")
    assert render("{{ hmac_sha256(payload_text, 'k') }}", ctx) == hmac.new(
        b"key", stored, hashlib.sha256).hexdigest()


def test_unknown_hmac_key_is_a_render_error_naming_it():
    ctx = context(keys={"webhook": b"s3cr3t", "other": b"x"})
    error = render_error("{{ hmac_sha256('abc', 'nope') }}", ctx)
    assert error.message == "unknown HMAC key 'nope' (configured: other, webhook)"
    assert "s3cr3t" not in str(error)
    assert "configured: none" in render_error("{{ hmac_sha256('a', 'k') }}").message
    assert "needs a value" in render_error("{{ hmac_sha256(None, 'webhook') }}", ctx).message


@pytest.mark.parametrize(("source", "expected"), [
    ("{{ 'hi there'|b64encode }}", "aGkgdGhlcmU="),
    ("{{ '\u00e9?>'|b64encode(urlsafe=true) }}", "w6k_Pg=="),
    ("{{ 'aGkgdGhlcmU='|b64decode }}", "hi there"),
    ("{{ 'aGkgdGhlcmU'|b64decode }}", "hi there"),
    ("{{ 'w6k_Pg'|b64decode(urlsafe=true) }}", "\u00e9?>"),
    ("{{ '/8A='|b64decode }}", "\ufffd\ufffd"),
    ("{{ 'a b/c&d=\u00e9'|urlencode }}", "a%20b%2Fc%26d%3D%C3%A9"),
    ("{{ {'a': 1, 'b': 'x y', 'c': none}|urlencode }}", "a=1&b=x+y&c="),
    ("{{ 5|urlencode }}", "5"),
    ("{{ {'a': [1, '<x>']}|tojson }}", '{"a": [1, "\\u003cx\\u003e"]}'),
    ("{{ '<a & \"b\" \\'c\\'>'|xml_escape }}", "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;"),
])
def test_encoding_filters(source, expected):
    assert render(source) == expected


def test_b64decode_refuses_what_is_not_base64():
    assert "is not base64" in render_error("{{ 'a'|b64decode }}").message


# --- request echo ---------------------------------------------------------------------

OTA = b"""<?xml version="1.0"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body>
    <OTA_HotelResRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="tok-7"
                    TimeStamp="2024-05-01T10:00:00Z">
      <POS><Source><RequestorID ID="PMS1"/></Source></POS>
      <HotelReservations><HotelReservation><UniqueID ID="R1"/><UniqueID ID="R2"/>
      </HotelReservation></HotelReservations>
      <EchoToken>inner <b>bold</b> text</EchoToken>
    </OTA_HotelResRQ>
  </soap:Body>
</soap:Envelope>"""


def test_request_line_parameters_query_and_headers():
    ctx = context(method="PUT", path="/bookings/B-9", query="page=2&q=a+b&items=x",
                  headers={"X-Request-Id": "rid-1"}, params={"bookingId": "B-9"})
    source = ("{{ request.method }} {{ request.path }} {{ request.params.bookingId }} "
              "{{ request.query.page }} {{ request.query['q'] }} {{ request.query['items'] }} "
              "{{ request.header('x-request-id') }}|{{ request.header('X-Absent') }}|"
              "{{ request.query.get('absent', 'dflt') }}")
    assert render(source, ctx) == "PUT /bookings/B-9 B-9 2 a b x rid-1||dflt"
    assert value("{{ request.header('X-Absent') }}", ctx) is None


def test_missing_fields_are_render_errors_naming_them():
    assert render_error("{{ request.query.page }}").message == "request.query has no 'page'"
    assert render_error("{{ request.form.f }}").message == "request.form has no 'f'"
    assert render_error("{{ request.params.x }}").message == "request.params has no 'x'"
    assert render_error("{{ request.cookies }}").message == "request has no 'cookies'"
    assert render("{{ request.query.page|default('1') }}"
                  "{% if request.query.page is defined %}!{% endif %}") == "1"


def test_form_fields():
    ctx = context("a=1&b=x+y", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert render("{{ request.form.a }}/{{ request.form.b }}", ctx) == "1/x y"


def test_json_paths():
    ctx = context(b'{"a": {"b": 5}, "items": [{"sku": "A", "n": 1}, {"sku": "B", "n": 2}],'
                  b' "dotted.key": true}')
    assert value({
        "jsonpath": "{{ request.json('$.a.b') }}",
        "dotted": "{{ request.json('a.b') }}",
        "index": "{{ request.json('items.1.sku') }}",
        "bracket": "{{ request.json(\"['dotted.key']\") }}",
        "all": "{{ request.json_all('$..sku') }}",
        "filter": "{{ request.json('$.items[?@.n > 1].sku') }}",
        "whole": "{{ request.json()['a'] }}",
        "missing": "{{ request.json('$.nope') }}",
        "none": "{{ request.json_all('$.nope') }}",
    }, ctx) == {"jsonpath": 5, "dotted": 5, "index": "B", "bracket": True, "all": ["A", "B"],
                "filter": "B", "whole": {"b": 5}, "missing": None, "none": []}


def test_json_of_a_body_that_is_not_json_is_none():
    ctx = context(b"<x/>")
    assert value(["{{ request.json('$.a') }}", "{{ request.json_all('$..a') }}"], ctx) == [
        None, []]


def test_bad_json_path_is_a_render_error():
    assert "JSONPath" in render_error("{{ request.json('$[') }}").message
    assert "must be text" in render_error("{{ request.json(5) }}").message
    assert "more than 4096 characters" in render_error(
        "{{ request.json('$.a' * 2000) }}").message


def test_xpath_ignores_namespaces():
    ctx = context(OTA, headers={"SOAPAction": '"http://x/OTA_HotelResRQ"',
                                "Content-Type": "text/xml"})
    assert value({
        "attribute": "{{ request.xpath('//OTA_HotelResRQ/@EchoToken') }}",
        "element": "{{ request.xpath('//EchoToken') }}",
        "first": "{{ request.xpath('//UniqueID/@ID') }}",
        "count": "{{ request.xpath('count(//UniqueID)') }}",
        "test": "{{ request.xpath('boolean(//POS)') }}",
        "missing": "{{ request.xpath('//Nope') }}",
        "action": "{{ request.soap_action }}",
        "operation": "{{ request.soap_operation }}",
    }, ctx) == {"attribute": "tok-7", "element": "inner bold text", "first": "R1", "count": 2,
                "test": True, "missing": None, "action": "http://x/OTA_HotelResRQ",
                "operation": "OTA_HotelResRQ"}


def test_xpath_and_soap_on_a_body_that_is_not_xml():
    ctx = context(b'{"a": 1}')
    assert value(["{{ request.xpath('//a') }}", "{{ request.soap_action }}"], ctx) == [None,
                                                                                       None]
    assert "XPath" in render_error("{{ request.xpath('//[') }}").message
    assert "XPath" in render_error("{{ request.xpath('//x:y') }}", context(b"<a/>")).message


def test_body_is_text():
    assert render("{{ request.body }}", context("caf\u00e9 \xff".encode("latin-1"))) == (
        "caf\ufffd \ufffd")


# --- flow -----------------------------------------------------------------------------

def test_id_captured_and_payload():
    ctx = context(id="job-1", captured={"reservationId": "R-42"},
                  payload=b'{"status": "OK", "rooms": [{"n": 101}]}',
                  payload_type="application/json")
    assert value({"id": "{{ id }}", "captured": "{{ captured.reservationId }}",
                  "status": "{{ payload.status }}", "room": "{{ payload_json('$.rooms[0].n') }}",
                  "all": "{{ payload }}"}, ctx) == {
        "id": "job-1", "captured": "R-42", "status": "OK", "room": 101,
        "all": {"status": "OK", "rooms": [{"n": 101}]}}
    assert render_error("{{ captured.nope }}", ctx).message == "captured has no 'nope'"


@pytest.mark.parametrize(("payload", "payload_type", "expected"), [
    (b"<r>1</r>", "application/xml", "<r>1</r>"),
    (b'{"a": 1}', None, {"a": 1}),
    (b"not json", None, "not json"),
    (b'{"a": 1}', "text/plain", '{"a": 1}'),
    ('{"a": 1}', "application/json", {"a": 1}),
    ({"a": 1}, None, {"a": 1}),
    (None, None, None),
])
def test_payload_is_parsed_only_when_json(payload, payload_type, expected):
    ctx = context(payload=payload, payload_type=payload_type)
    assert value("{{ payload }}", ctx) == expected


def test_payload_json_without_a_payload_is_none():
    assert value("{{ payload_json('$.a') }}") is None


# --- the helpers directly -------------------------------------------------------------

def test_helpers_outside_a_render():
    assert h.parse_offset("+1d2h").total_seconds() == 93600
    assert h.expand_alphabet("a-c-") == "abc-"
    assert r.xpath_first(None, "//a") is None
    assert r.json_first(r.MISSING, "$.a") is None
    assert r.payload_text(b"\xffa") == "\ufffda"
