"""The when: condition language on requests: every source and operator, combinators,
SOAP, XPath, JSONPath, and the words of why_not."""

from __future__ import annotations

import json

import pytest

from imnot_proxy.lang.conditions import compile_condition
from imnot_proxy.lang.requestdata import RequestData
from imnot_proxy.messages import CIHeaders, RequestView

OTA = "http://www.opentravel.org/OTA/2003/05"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


def request(body: bytes | str = b"", *, query: str = "", headers: dict | None = None,
            params: dict | None = None, method: str = "POST") -> RequestData:
    data = body.encode() if isinstance(body, str) else body
    view = RequestView(method, "/x", query, CIHeaders(headers or {}), data)
    return RequestData(view, params)


def compiled(spec, namespaces=None):
    condition, problems = compile_condition(spec, namespaces=namespaces)
    assert problems == [], problems
    assert condition is not None
    return condition


JSON_BODY = {
    "hotel": {"id": "H-42", "name": "Grand Hôtel", "stars": 4, "rating": 4.5, "open": True,
              "closed": None, "tags": ["spa", "pool", 7],
              "rooms": [{"id": "R1", "type": "DBL", "rate": 120},
                        {"id": "R2", "type": "SGL", "rate": 80}]},
    "amount": "150.50", "count": 3, "a.b": "dotted key", "0": "zero key",
}
JSON = request(json.dumps(JSON_BODY), query="currency=EUR&page=2&debug=&q=a%20b",
               headers={"X-Tier": "Gold", "Content-Type": "application/json",
                        "Accept": "text/html, application/json"},
               params={"hotel_id": "H-42", "n": "17"})
FORM = request("grant_type=password&scope=read+write&limit=10&empty=",
               headers={"content-type": "application/x-www-form-urlencoded"})
TEXT = request("hello World\nsecond line 42", headers={"content-type": "text/plain"})
EMPTY = request(method="GET")
XML_TEXT = f"""<?xml version="1.0" encoding="UTF-8"?>
<OTA_HotelAvailNotifRQ xmlns="{OTA}" xmlns:x="urn:extra" EchoToken="abc-123" Version="1.0">
  <AvailStatusMessages HotelCode="H42">
    <AvailStatusMessage BookingLimit="5"><StatusApplicationControl InvTypeCode="DBL"/>
    </AvailStatusMessage>
    <AvailStatusMessage BookingLimit="0"><StatusApplicationControl InvTypeCode="SGL"/>
    </AvailStatusMessage>
    <AvailStatusMessage BookingLimit="2"><StatusApplicationControl InvTypeCode="SGL"/>
    </AvailStatusMessage>
  </AvailStatusMessages>
  <Note x:lang="en">Late <b>arrival</b></Note>
</OTA_HotelAvailNotifRQ>"""
XML = request(XML_TEXT, headers={"content-type": "text/xml"})
ROOT = "//OTA_HotelAvailNotifRQ"

# (spec, request, holds): every source with every operator, holding and not
SOURCE_OPERATOR = [
    # path
    ({"path": "hotel_id"}, JSON, True),
    ({"path": "missing"}, JSON, False),
    ({"path": "hotel_id", "equals": "H-42"}, JSON, True),
    ({"path": "hotel_id", "equals": "h-42"}, JSON, False),
    ({"path": "hotel_id", "equals": "h-42", "ignore_case": True}, JSON, True),
    ({"path": "n", "equals": 17}, JSON, True),
    ({"path": "hotel_id", "in": ["H-1", "H-42"]}, JSON, True),
    ({"path": "hotel_id", "in": ["H-1", "H-2"]}, JSON, False),
    ({"path": "hotel_id", "matches": r"^H-\d+$"}, JSON, True),
    ({"path": "hotel_id", "matches": "^X"}, JSON, False),
    ({"path": "hotel_id", "contains": "-4"}, JSON, True),
    ({"path": "hotel_id", "contains": "x"}, JSON, False),
    ({"path": "hotel_id", "exists": True}, JSON, True),
    ({"path": "hotel_id", "exists": False}, JSON, False),
    ({"path": "missing", "absent": True}, JSON, True),
    ({"path": "hotel_id", "absent": True}, JSON, False),
    ({"path": "missing", "absent": False}, JSON, False),
    ({"path": "n", "min": 17}, JSON, True),
    ({"path": "n", "min": 18}, JSON, False),
    ({"path": "n", "max": 17.0}, JSON, True),
    ({"path": "n", "max": 16.9}, JSON, False),
    ({"path": "hotel_id", "min": 0}, JSON, False),  # not a number
    # query
    ({"query": "currency"}, JSON, True),
    ({"query": "debug"}, JSON, True),  # present with an empty value
    ({"query": "Currency"}, JSON, False),  # query names are case-sensitive
    ({"query": "currency", "equals": "EUR"}, JSON, True),
    ({"query": "currency", "equals": "eur"}, JSON, False),
    ({"query": "currency", "equals": "eur", "ignore_case": True}, JSON, True),
    ({"query": "debug", "equals": ""}, JSON, True),
    ({"query": "q", "equals": "a b"}, JSON, True),
    ({"query": "page", "equals": 2}, JSON, True),
    ({"query": "page", "equals": 2.5}, JSON, False),
    ({"query": "currency", "in": ["EUR", "USD"]}, JSON, True),
    ({"query": "currency", "in": ["GBP", "USD"]}, JSON, False),
    ({"query": "currency", "in": ["eur", "usd"], "ignore_case": True}, JSON, True),
    ({"query": "page", "in": [1, 2]}, JSON, True),
    ({"query": "currency", "matches": "^E"}, JSON, True),
    ({"query": "currency", "matches": "^e"}, JSON, False),
    ({"query": "currency", "matches": "^e", "ignore_case": True}, JSON, True),
    ({"query": "currency", "contains": "UR"}, JSON, True),
    ({"query": "currency", "contains": "ur"}, JSON, False),
    ({"query": "currency", "contains": "ur", "ignore_case": True}, JSON, True),
    ({"query": "missing", "exists": False}, JSON, True),
    ({"query": "debug", "absent": True}, JSON, False),
    ({"query": "page", "min": 2, "max": 3}, JSON, True),
    ({"query": "page", "min": 3}, JSON, False),
    ({"query": "page", "max": 1}, JSON, False),
    ({"query": "debug", "min": 0}, JSON, False),  # empty text is not a number
    ({"query": "missing", "equals": "x"}, JSON, False),
    # header
    ({"header": "x-tier"}, JSON, True),
    ({"header": "X-TIER", "equals": "Gold"}, JSON, True),  # names are case-insensitive
    ({"header": "X-Tier", "equals": "gold"}, JSON, False),  # values are not
    ({"header": "X-Tier", "equals": "GOLD", "ignore_case": True}, JSON, True),
    ({"header": "X-Tier", "in": ["Gold", "Silver"]}, JSON, True),
    ({"header": "X-Tier", "in": ["gold", "silver"]}, JSON, False),
    ({"header": "X-Tier", "in": ["gold", "silver"], "ignore_case": True}, JSON, True),
    ({"header": "Accept", "matches": r"application/json\b"}, JSON, True),
    ({"header": "Accept", "matches": "xml"}, JSON, False),
    ({"header": "Accept", "contains": "json"}, JSON, True),
    ({"header": "Accept", "contains": "JSON"}, JSON, False),
    ({"header": "Accept", "contains": "JSON", "ignore_case": True}, JSON, True),
    ({"header": "Authorization", "absent": True}, JSON, True),
    ({"header": "Authorization", "exists": True}, JSON, False),
    ({"header": "X-Tier", "min": 1}, JSON, False),
    ({"header": "Content-Length", "max": 10}, JSON, False),  # absent
    # form
    ({"form": "grant_type"}, FORM, True),
    ({"form": "grant_type"}, JSON, False),  # not a form body
    ({"form": "grant_type", "equals": "password"}, FORM, True),
    ({"form": "grant_type", "equals": "client_credentials"}, FORM, False),
    ({"form": "scope", "equals": "read write"}, FORM, True),
    ({"form": "grant_type", "in": ["password", "refresh_token"]}, FORM, True),
    ({"form": "grant_type", "in": ["refresh_token"]}, FORM, False),
    ({"form": "scope", "matches": r"\bwrite\b"}, FORM, True),
    ({"form": "scope", "matches": "admin"}, FORM, False),
    ({"form": "scope", "contains": "read"}, FORM, True),
    ({"form": "scope", "contains": "READ", "ignore_case": True}, FORM, True),
    ({"form": "scope", "contains": "admin"}, FORM, False),
    ({"form": "empty", "exists": True}, FORM, True),
    ({"form": "password", "absent": True}, FORM, True),
    ({"form": "limit", "min": 5, "max": 10}, FORM, True),
    ({"form": "limit", "max": 9}, FORM, False),
    # body: text
    ({"body": "text"}, TEXT, True),
    ({"body": "text"}, EMPTY, False),
    ({"body": "text", "absent": True}, EMPTY, True),
    ({"body": "text", "equals": "hello World\nsecond line 42"}, TEXT, True),
    ({"body": "text", "equals": "hello"}, TEXT, False),
    ({"body": "text", "in": ["a", "HELLO WORLD\nSECOND LINE 42"], "ignore_case": True}, TEXT,
     True),
    ({"body": "text", "matches": r"line \d+$"}, TEXT, True),
    ({"body": "text", "matches": "^second"}, TEXT, False),  # no MULTILINE unless (?m)
    ({"body": "text", "matches": "(?m)^second"}, TEXT, True),
    ({"body": "text", "contains": "World"}, TEXT, True),
    ({"body": "text", "contains": "world"}, TEXT, False),
    ({"body": "text", "contains": "EchoToken=\"abc-123\""}, XML, True),
    ({"body": "text", "min": 0}, TEXT, False),
    ({"body": "text", "max": 5}, request("4"), True),
    # json: dotted
    ({"json": "hotel.id"}, JSON, True),
    ({"json": "hotel.nope"}, JSON, False),
    ({"json": "hotel.closed"}, JSON, True),  # null is present
    ({"json": "hotel.closed", "equals": None}, JSON, True),
    ({"json": "hotel.closed", "equals": "null"}, JSON, True),
    ({"json": "hotel.id", "equals": "H-42"}, JSON, True),
    ({"json": "hotel.id", "equals": "h-42", "ignore_case": True}, JSON, True),
    ({"json": "hotel.stars", "equals": 4}, JSON, True),
    ({"json": "hotel.stars", "equals": 4.0}, JSON, True),
    ({"json": "hotel.stars", "equals": "4"}, JSON, True),  # the JSON text
    ({"json": "hotel.stars", "equals": 5}, JSON, False),
    ({"json": "hotel.open", "equals": True}, JSON, True),
    ({"json": "hotel.open", "equals": "true"}, JSON, True),
    ({"json": "hotel.open", "equals": 1}, JSON, False),  # true is not 1
    ({"json": "count", "equals": True}, JSON, False),
    ({"json": "hotel.tags", "equals": '["spa","pool",7]'}, JSON, True),
    ({"json": "hotel.rooms.0.id", "equals": "R1"}, JSON, True),
    ({"json": "hotel.rooms.1.type", "equals": "SGL"}, JSON, True),
    ({"json": "hotel.rooms.2.id"}, JSON, False),
    ({"json": "0", "equals": "zero key"}, JSON, True),  # digits name keys of objects too
    ({"json": "hotel.stars", "in": [3, 4]}, JSON, True),
    ({"json": "hotel.stars", "in": ["4", "5"]}, JSON, True),
    ({"json": "hotel.stars", "in": [3, 5]}, JSON, False),
    ({"json": "hotel.rating", "in": [4.5]}, JSON, True),
    ({"json": "hotel.id", "in": ["h-42"], "ignore_case": True}, JSON, True),
    ({"json": "hotel.name", "matches": "^Grand H.tel$"}, JSON, True),
    ({"json": "hotel.stars", "matches": "^4$"}, JSON, True),  # on the JSON text
    ({"json": "hotel.name", "matches": "Motel"}, JSON, False),
    ({"json": "hotel.tags", "contains": "spa"}, JSON, True),  # an element of an array
    ({"json": "hotel.tags", "contains": "sp"}, JSON, False),  # not part of one
    ({"json": "hotel.tags", "contains": 7}, JSON, True),
    ({"json": "hotel.tags", "contains": "7"}, JSON, True),
    ({"json": "hotel.tags", "contains": "SPA", "ignore_case": True}, JSON, True),
    ({"json": "hotel.name", "contains": "Hôtel"}, JSON, True),
    ({"json": "hotel.stars", "exists": False}, JSON, False),
    ({"json": "hotel.nope", "absent": True}, JSON, True),
    ({"json": "hotel.stars", "min": 4, "max": 5}, JSON, True),
    ({"json": "hotel.rating", "max": 4.4}, JSON, False),
    ({"json": "amount", "min": 150.5}, JSON, True),  # numeric text
    ({"json": "amount", "min": 150.51}, JSON, False),
    ({"json": "hotel.open", "min": 0}, JSON, False),  # true is not a number
    ({"json": "hotel.id", "max": 100}, JSON, False),
    # json: JSONPath
    ({"json": "$.hotel.id", "equals": "H-42"}, JSON, True),
    ({"json": "$['a.b']", "equals": "dotted key"}, JSON, True),
    ({"json": "$.hotel.rooms[0].id", "equals": "R1"}, JSON, True),
    ({"json": "$.hotel.rooms[-1].id", "equals": "R2"}, JSON, True),
    ({"json": "$.hotel.rooms[5]"}, JSON, False),
    ({"json": "$.hotel.rooms[*].type", "equals": "SGL"}, JSON, True),  # any of them
    ({"json": "$.hotel.rooms[*].type", "equals": "TPL"}, JSON, False),
    ({"json": "$.hotel.rooms[*].rate", "min": 100}, JSON, True),
    ({"json": "$.hotel.rooms[*].rate", "min": 130}, JSON, False),
    ({"json": "$.hotel.rooms[*].rate", "in": [80]}, JSON, True),
    ({"json": "$..rate", "max": 80}, JSON, True),
    ({"json": "$..id", "matches": "^R"}, JSON, True),
    ({"json": "$..id", "matches": "^X"}, JSON, False),
    ({"json": "$.hotel.rooms[?@.rate > 100].id", "equals": "R1"}, JSON, True),
    ({"json": "$.hotel.rooms[?@.rate > 500]"}, JSON, False),
    ({"json": "$.hotel.rooms[?@.rate > 500]", "exists": False}, JSON, True),
    ({"json": "$.hotel.*", "contains": "pool"}, JSON, True),
    ({"json": "$.hotel.tags[*]", "contains": "oo"}, JSON, True),  # substring of each text
    ({"json": "$[0]"}, JSON, False),  # an index does not select an object's key
    ({"json": "$", "exists": True}, request("null"), True),
    ({"json": "$", "equals": None}, request("null"), True),
    ({"json": "$[*]", "equals": 2}, request("[1, 2, 3]"), True),
]


@pytest.mark.parametrize(("spec", "req", "holds"), SOURCE_OPERATOR,
                         ids=[compiled(s).label for s, _, _ in SOURCE_OPERATOR])
def test_source_and_operator(spec, req, holds):
    condition = compiled(spec)
    assert condition.test(req) is holds
    reason = condition.why_not(req)
    assert (reason is None) is holds
    assert reason is None or reason.strip()


LIST_AND_COMBINATORS = [
    ([{"header": "X-Tier", "equals": "Gold"}, {"query": "currency", "equals": "EUR"}], True),
    ([{"header": "X-Tier", "equals": "Gold"}, {"query": "currency", "equals": "USD"}], False),
    ({"all": [{"header": "X-Tier"}, {"path": "hotel_id"}, {"json": "hotel.id"}]}, True),
    ({"all": [{"header": "X-Tier"}, {"path": "nope"}]}, False),
    ({"any": [{"header": "X-Tier", "equals": "x"}, {"query": "page", "equals": 2}]}, True),
    ({"any": [{"header": "X-Tier", "equals": "x"}, {"query": "page", "equals": 3}]}, False),
    ({"not": {"query": "nope"}}, True),
    ({"not": {"query": "page"}}, False),
    ({"not": [{"query": "page"}, {"query": "nope"}]}, True),  # not(all(...))
    ({"not": {"not": {"query": "page"}}}, True),
    ({"any": [[{"query": "page"}, {"query": "nope"}], {"not": {"header": "X-Tier"}}]}, False),
    ({"any": [[{"query": "page"}, {"header": "accept"}], {"query": "nope"}]}, True),
    ([{"all": [{"query": "page"}]}, {"any": [{"query": "nope"}, {"json": "$..rate"}]}], True),
    ([{"query": "page"}], True),  # a one-element list is that condition
]


@pytest.mark.parametrize(("spec", "holds"), LIST_AND_COMBINATORS)
def test_combinators_and_lists(spec, holds):
    condition = compiled(spec)
    assert condition.test(JSON) is holds
    assert (condition.why_not(JSON) is None) is holds


WHY_NOT = [
    ({"header": "X-Tier", "equals": "silver"}, JSON, "header X-Tier is 'Gold', not 'silver'"),
    ({"header": "X-Tier", "equals": "silver", "ignore_case": True}, JSON,
     "header X-Tier is 'Gold', not 'silver' (ignoring case)"),
    ({"query": "currency", "in": ["GBP", "USD"]}, JSON,
     "query currency is 'EUR', not one of [GBP, USD]"),
    ({"query": "currency", "matches": "^G"}, JSON,
     "query currency is 'EUR', which does not match /^G/"),
    ({"query": "currency", "matches": "^g", "ignore_case": True}, JSON,
     "query currency is 'EUR', which does not match /^g/i"),
    ({"query": "currency", "contains": "GB"}, JSON,
     "query currency is 'EUR', which does not contain 'GB'"),
    ({"query": "page", "min": 3}, JSON, "query page is '2', below the minimum 3"),
    ({"query": "page", "min": 0, "max": 1.5}, JSON, "query page is '2', above the maximum 1.5"),
    ({"query": "currency", "max": 1}, JSON, "query currency is 'EUR', not a number"),
    ({"query": "debug", "absent": True}, JSON, "query debug is present ('')"),
    ({"query": "nope"}, JSON, "query nope is absent"),
    ({"query": "nope", "equals": "x"}, JSON, "query nope is absent"),
    ({"path": "nope", "exists": True}, JSON, "path nope is absent"),
    ({"form": "grant_type"}, JSON,
     "form grant_type is absent (the body is not application/x-www-form-urlencoded)"),
    ({"form": "username"}, FORM, "form username is absent"),
    ({"json": "$.hotel.id", "matches": "^X-"}, JSON,
     "json $.hotel.id is 'H-42', which does not match /^X-/"),
    ({"json": "$.hotel.nope"}, JSON, "json $.hotel.nope is absent"),
    ({"json": "hotel.stars", "equals": 5}, JSON, "json hotel.stars is 4, not 5"),
    ({"json": "hotel.stars", "exists": False}, JSON, "json hotel.stars is present (4)"),
    ({"json": "$.hotel.rooms[*].type", "equals": "TPL"}, JSON,
     "json $.hotel.rooms[*].type has 2 values ('DBL', 'SGL'), none equal to 'TPL'"),
    ({"json": "$.hotel.rooms[*].rate", "min": 200}, JSON,
     "json $.hotel.rooms[*].rate has 2 values (120, 80), none >= 200"),
    ({"json": "$.hotel.rooms[*].id", "absent": True}, JSON,
     "json $.hotel.rooms[*].id is present (2 values: 'R1', 'R2')"),
    ({"json": "hotel.id"}, TEXT, "body is not JSON"),
    ({"json": "hotel.id"}, EMPTY, "body is empty"),
    ({"xpath": "//a"}, JSON, "body is not XML"),
    ({"xpath": "//a"}, EMPTY, "body is empty"),
    ({"xpath": f"{ROOT}/@EchoToken", "equals": "x"}, XML,
     f"xpath {ROOT}/@EchoToken is 'abc-123', not 'x'"),
    ({"xpath": "count(//AvailStatusMessage) > 5"}, XML,
     "xpath count(//AvailStatusMessage) > 5 is false"),
    ({"xpath": "count(//AvailStatusMessage) > 2", "exists": False}, XML,
     "xpath count(//AvailStatusMessage) > 2 is true"),
    ({"body": "text", "contains": "bye"}, TEXT,
     "body is 'hello World\\nsecond line 42', which does not contain 'bye'"),
    ({"body": "text", "equals": "x" * 100}, request("y" * 100),
     f"body is '{'y' * 57}...', not '{'x' * 57}...'"),
    ({"soap_action": "OTA_PingRQ"}, JSON, "request is not SOAP (body is not XML)"),
    ({"soap_action": "OTA_PingRQ"}, XML, "request is not SOAP"),
    ({"soap_action": "OTA_PingRQ"}, EMPTY, "request is not SOAP (body is empty)"),
    ([{"header": "X-Tier"}, {"query": "currency", "equals": "USD"}, {"query": "nope"}], JSON,
     "query currency is 'EUR', not 'USD'"),
    ({"any": [{"header": "X-Tier", "equals": "a"}, {"query": "nope"}]}, JSON,
     "none holds: header X-Tier is 'Gold', not 'a'; query nope is absent"),
    ({"not": {"header": "X-Tier", "equals": "Gold"}}, JSON,
     "header X-Tier=Gold holds: header X-Tier is 'Gold'"),
    ({"not": {"query": "debug"}}, JSON, "query debug exists holds: query debug is ''"),
    ({"not": [{"query": "page"}, {"query": "currency"}]}, JSON,
     "all(query page exists, query currency exists) holds"),
]


@pytest.mark.parametrize(("spec", "req", "reason"), WHY_NOT)
def test_why_not(spec, req, reason):
    condition = compiled(spec)
    assert condition.why_not(req) == reason
    assert condition.test(req) is False


LABELS = [
    ({"header": "X-Tier", "equals": "gold"}, "header X-Tier=gold"),
    ({"query": "currency", "in": ["EUR", "USD"]}, "query currency in [EUR, USD]"),
    ({"json": "$.hotel.id", "matches": "^H-"}, "json $.hotel.id ~ /^H-/"),
    ({"soap_action": "OTA_HotelAvailNotifRQ"}, "soap_action OTA_HotelAvailNotifRQ"),
    ([{"header": "X-Tier", "equals": "gold"}, {"not": {"query": "debug"}}],
     "all(header X-Tier=gold, not(query debug exists))"),
    ({"any": [{"form": "a", "absent": True}, {"path": "id", "exists": False}]},
     "any(form a absent, path id absent)"),
    ({"header": "X-Tier", "equals": "Gold", "ignore_case": True},
     "header X-Tier=Gold (ignore case)"),
    ({"query": "q", "equals": "a b"}, "query q='a b'"),
    ({"query": "q", "in": [1, True, None, "x y"]}, "query q in [1, true, null, 'x y']"),
    ({"query": "q", "matches": "^a", "ignore_case": True}, "query q ~ /^a/i"),
    ({"body": "text", "contains": "<Ping/>"}, "body contains '<Ping/>'"),
    ({"json": "a.b", "min": 1}, "json a.b >= 1"),
    ({"json": "a.b", "max": 2.5}, "json a.b <= 2.5"),
    ({"json": "a.b", "min": 1, "max": 2}, "json a.b between 1 and 2"),
    ({"xpath": "//x/@a", "equals": 3}, "xpath //x/@a=3"),
]


@pytest.mark.parametrize(("spec", "label"), LABELS)
def test_labels(spec, label):
    assert compiled(spec).label == label
    assert label in repr(compiled(spec))


def soap(version: str, operation: str = "OTA_HotelResNotifRQ", *, headers: dict | None = None,
         content_type: str | None = None) -> RequestData:
    namespace = SOAP11 if version == "1.1" else SOAP12
    body = (f'<s:Envelope xmlns:s="{namespace}"><s:Header/><s:Body>'
            f'<{operation} xmlns="{OTA}" EchoToken="e-1"><Id>7</Id></{operation}>'
            f"</s:Body></s:Envelope>")
    default = "text/xml; charset=utf-8" if version == "1.1" else "application/soap+xml"
    return request(body, headers={"content-type": content_type or default, **(headers or {})})


SOAP_CASES = [
    ("1.1 by SOAPAction header", soap("1.1", "Other", headers={
        "SOAPAction": '"http://example.com/HotelService/OTA_HotelResNotifRQ"'}), True),
    ("1.1 by a SOAPAction with #", soap("1.1", "Other", headers={
        "SOAPAction": "urn:hotel#OTA_HotelResNotifRQ"}), True),
    ("1.1 by the Body element", soap("1.1"), True),
    ("1.1 other operation", soap("1.1", "OTA_PingRQ", headers={"SOAPAction": "OTA_PingRQ"}),
     False),
    ("1.2 by content-type action", soap("1.2", "Other", content_type=(
        'application/soap+xml; charset=utf-8; action="urn:OTA_HotelResNotifRQ"')), True),
    ("1.2 by the Body element", soap("1.2"), True),
    ("1.2 other operation", soap("1.2", "OTA_PingRQ", content_type=(
        "application/soap+xml;action=urn:OTA_PingRQ")), False),
    ("not SOAP: plain XML", XML, False),
    ("not SOAP: JSON", JSON, False),
]


@pytest.mark.parametrize(("req", "holds"), [c[1:] for c in SOAP_CASES],
                         ids=[c[0] for c in SOAP_CASES])
def test_soap_action(req, holds):
    condition = compiled({"soap_action": "OTA_HotelResNotifRQ"})
    assert condition.test(req) is holds
    assert (condition.why_not(req) is None) is holds


def test_soap_action_why_not_names_what_the_request_is_for():
    req = soap("1.1", "OTA_PingRQ", headers={"SOAPAction": "urn:OTA_PingRQ"})
    assert compiled({"soap_action": "OTA_HotelResNotifRQ"}).why_not(req) == (
        "SOAP operation is 'OTA_PingRQ', action 'urn:OTA_PingRQ', not 'OTA_HotelResNotifRQ'")


def test_not_soap_action_names_the_operation_it_is_for():
    assert compiled({"not": {"soap_action": "OTA_HotelResNotifRQ"}}).why_not(soap("1.2")) == (
        "soap_action OTA_HotelResNotifRQ holds: SOAP operation is 'OTA_HotelResNotifRQ'")


def test_soap_action_and_xpath_together():
    condition = compiled([{"soap_action": "OTA_HotelResNotifRQ"},
                          {"xpath": "//Body/OTA_HotelResNotifRQ/@EchoToken", "equals": "e-1"},
                          {"xpath": "//Id", "equals": 7}])
    assert condition.test(soap("1.1")) and condition.test(soap("1.2"))


NS = {"ota": OTA, "x": "urn:extra"}
XPATH = [
    # without namespaces: the body's are removed, plain names
    ({"xpath": f"{ROOT}/@EchoToken", "equals": "abc-123"}, None, True),
    ({"xpath": f"{ROOT}/@EchoToken", "in": ["ABC-123"], "ignore_case": True}, None, True),
    ({"xpath": "//AvailStatusMessages/@HotelCode", "matches": "^H\\d+$"}, None, True),
    ({"xpath": "//AvailStatusMessage/@BookingLimit", "equals": "0"}, None, True),  # any node
    ({"xpath": "//AvailStatusMessage/@BookingLimit", "equals": 9}, None, False),
    ({"xpath": "//AvailStatusMessage/@BookingLimit", "min": 5}, None, True),
    ({"xpath": "//AvailStatusMessage/@BookingLimit", "max": -1}, None, False),
    ({"xpath": "//StatusApplicationControl[@InvTypeCode='SGL']"}, None, True),
    ({"xpath": "//StatusApplicationControl[@InvTypeCode='TPL']"}, None, False),
    ({"xpath": "//StatusApplicationControl[@InvTypeCode='TPL']", "absent": True}, None, True),
    ({"xpath": "//Note", "equals": "Late arrival"}, None, True),  # an element: its text content
    ({"xpath": "//Note/text()", "equals": "Late "}, None, True),  # a text node
    ({"xpath": "//Note/@lang", "equals": "en"}, None, True),  # a namespaced attribute, local
    ({"xpath": "//Note", "contains": "arr"}, None, True),
    ({"xpath": "string(//Note/b)", "equals": "arrival"}, None, True),  # a string
    ({"xpath": "count(//AvailStatusMessage)", "equals": 3}, None, True),  # a number: "3"
    ({"xpath": "count(//AvailStatusMessage)", "equals": "3"}, None, True),
    ({"xpath": "count(//AvailStatusMessage)", "min": 3, "max": 3}, None, True),
    ({"xpath": "sum(//@BookingLimit) div 2", "equals": "3.5"}, None, True),
    ({"xpath": "count(//AvailStatusMessage) > 2"}, None, True),  # a boolean
    ({"xpath": "count(//AvailStatusMessage) > 2", "exists": True}, None, True),
    ({"xpath": "count(//AvailStatusMessage) > 2", "equals": "true"}, None, True),
    ({"xpath": "count(//AvailStatusMessage) > 5"}, None, False),
    ({"xpath": "count(//AvailStatusMessage) > 5", "exists": False}, None, True),
    ({"xpath": "count(//AvailStatusMessage) > 5", "equals": "false"}, None, True),
    ({"xpath": "count(//AvailStatusMessage) > 5", "absent": True}, None, True),
    ({"xpath": "//ota:OTA_HotelAvailNotifRQ"}, NS, True),  # with declared namespaces
    ({"xpath": "/ota:OTA_HotelAvailNotifRQ/@EchoToken", "equals": "abc-123"}, NS, True),
    ({"xpath": "//ota:Note/@x:lang", "equals": "en"}, NS, True),
    ({"xpath": f"{ROOT}"}, NS, False),  # plain names miss the namespaced body
    ({"xpath": "//ota:AvailStatusMessage", "exists": True}, {"ota": "urn:other"}, False),
]


@pytest.mark.parametrize(("spec", "namespaces", "holds"), XPATH)
def test_xpath(spec, namespaces, holds):
    condition = compiled(spec, namespaces)
    assert condition.test(XML) is holds
    assert (condition.why_not(XML) is None) is holds


NOT_PARSED = [b"", b"plain text", b"<unclosed", b'{"a": ', b"\xff\xfe\x00garbage",
              b"[" * 5000 + b"]" * 5000, b"NaN", b"<a>" * 300 + b"</a>" * 300,
              b"<x>" + b"&#x0;" + b"</x>", b"<?xml version='1.0' encoding='x-nope'?><a/>"]
BODY_CONDITIONS = [
    {"json": "a"}, {"json": "a", "absent": True}, {"json": "$..a", "exists": False},
    {"json": "$[*]", "equals": 1}, {"xpath": "//a"}, {"xpath": "count(//a) > 0"},
    {"xpath": "//a", "absent": True}, {"soap_action": "Op"}, {"form": "a"},
]


@pytest.mark.parametrize("body", NOT_PARSED)
@pytest.mark.parametrize("spec", BODY_CONDITIONS)
def test_bodies_that_are_not_json_or_xml_do_not_match_and_never_raise(spec, body):
    condition = compiled(spec)
    req = request(body, headers={"content-type": "application/json"})
    holds = condition.test(req)
    assert (condition.why_not(req) is None) is holds
    if body and not body.startswith(b"<a>"):
        assert holds is False


def test_xml_entities_are_not_expanded():
    body = b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>"
    condition = compiled({"xpath": "//x", "contains": "root"})
    assert condition.why_not(request(body)) == "xpath //x is '&e;', which does not contain 'root'"


def test_a_json_body_that_is_not_an_object_has_no_fields():
    for body in ("[1, 2]", '"text"', "42", "true", "null"):
        assert compiled({"json": "a.b"}).why_not(request(body)) == "json a.b is absent"


class Exploding(CIHeaders):
    def get(self, key, default=None):
        raise RuntimeError("boom")


def test_an_exception_inside_a_source_means_it_does_not_hold():
    envelope = f'<Envelope xmlns="{SOAP11}"><Body><Op/></Body></Envelope>'.encode()
    req = RequestData(RequestView("POST", "/", headers=Exploding(), body=envelope))
    for spec, reason in [({"header": "X"}, "header X could not be read (RuntimeError)"),
                         ({"header": "X", "absent": True},
                          "header X could not be read (RuntimeError)"),
                         ({"soap_action": "Op"}, "SOAP envelope could not be read (RuntimeError)"),
                         ({"not": {"header": "X"}}, None)]:
        condition = compiled(spec)
        assert condition.why_not(req) == reason
        assert condition.test(req) is (reason is None)


def test_the_body_is_parsed_once_for_several_conditions():
    req = request(json.dumps(JSON_BODY))
    condition = compiled([{"json": "hotel.id"}, {"json": "$..rate", "min": 1},
                          {"json": "$.hotel.tags", "contains": "spa"}])
    assert condition.test(req)
    parsed = req.json
    assert condition.test(req) and req.json is parsed


@pytest.mark.parametrize(("spec", "req", "holds"), [
    ({"header": {"X-Tier": "Gold"}}, JSON, True),
    ({"header": {"X-Tier": "gold"}}, JSON, False),
    ({"header": {"X-Tier": "gold"}, "ignore_case": True}, JSON, True),
    ({"query": {"currency": "EUR", "page": "2"}}, JSON, True),
    ({"query": {"currency": "EUR", "page": "3"}}, JSON, False),
    ({"query": {"currency": ["USD", "EUR"]}}, JSON, True),
    ({"json": {"$.hotel.stars": 4}}, JSON, True),
    ({"path": {"n": "17"}}, JSON, True),
    ({"not": {"header": {"X-Tier": "Gold"}}}, JSON, False),
])
def test_a_mapping_for_the_source_is_shorthand_for_equals(spec, req, holds):
    """``{header: {X-Tier: Gold}}`` is ``{header: X-Tier, equals: Gold}`` (``in`` for a list),
    every entry holding; how faults' ``when:`` reads, and alternatives' too."""
    assert compiled(spec).test(req) is holds


def test_the_shorthand_labels_and_its_problems():
    assert compiled({"header": {"X-Tier": "Gold"}}).label == "header X-Tier=Gold"
    assert compiled({"query": {"a": "1", "b": "2"}}).label == "all(query a=1, query b=2)"
    for spec, loc, message in [
        ({"header": {"X": "y"}, "matches": "a"}, ("matches",),
         "'header: {name: value}' already means equals (a list: in); write header: name, "
         "matches: ... instead"),
        ({"header": {}}, ("header",), "header: an empty mapping: give name: value"),
        ({"json": {"$.[": 1}}, ("json", "$.["), "invalid JSONPath: expected a shorthand selector"),
    ]:
        condition, problems = compile_condition(spec)
        assert condition is None
        assert [(p.loc, p.message) for p in problems] == [(loc, message)]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be",
                                      "utf-32"])
def test_json_bodies_in_other_unicode_encodings_are_read(encoding):
    """RFC 8259 asks for UTF-8; a byte order mark or UTF-16/32 from a client is read too."""
    req = request('{"hotel": {"id": "H-é"}}'.encode(encoding),
                  headers={"Content-Type": "application/json"})
    assert compiled({"json": "hotel.id", "equals": "H-é"}).test(req)
