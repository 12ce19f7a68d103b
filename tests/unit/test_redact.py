"""Redaction: one test per place a secret was seen to reach ``recordings/`` or generated YAML,
the header allow list, the pre-check that keeps the common case cheap, and the options.

Each placement goes through the recorder (a HAR file on disk) and ``record to-yaml`` (from
the raw exchange, as from a browser's HAR, and from the recorded file); no written byte may
hold the secret, nor its base64.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import pytest

from imnot_proxy.recording import yamlout
from imnot_proxy.recording.exchange import Exchange
from imnot_proxy.recording.har import read_har
from imnot_proxy.recording.infer import infer
from imnot_proxy.recording.recorder import Recorder
from imnot_proxy.recording.redact import PLACEHOLDER, Redactor, may_hold_secrets, secret_values

BASE = "https://api.partner.example"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJxYS11c2VyLTQyIiwiZXhwIjo0MTAyNDQ0ODAwfQ"
       ".Zm9yZ2VkLXNpZ25hdHVyZS1ieXRlcy0xMjM0")
SECRET = "Sq7x-hunter2-Kp93"


def exchange(*, url: str = "/v1/login", request: bytes = b"", request_type: str = "",
             response: bytes = b'{"ok":true}', response_type: str = "application/json",
             request_headers: tuple[tuple[str, str], ...] = (),
             response_headers: tuple[tuple[str, str], ...] = ()) -> Exchange:
    rq = ((("Content-Type", request_type),) if request_type else ()) + request_headers
    rs = ((("Content-Type", response_type),) if response_type else ()) + response_headers
    return Exchange(0.0, "POST", BASE + url, rq, request, 200, rs, response)


def base64_forms(secret: str) -> list[bytes]:
    """The secret as it shows in base64 of any text holding it, at each of the 3 offsets."""
    raw = secret.encode()
    forms = []
    for skip in range(3):
        part = raw[skip:]
        part = part[:len(part) // 3 * 3]
        if len(part) >= 6:
            forms += [base64.b64encode(part), base64.urlsafe_b64encode(part)]
    return forms


def written(folder: Path, *exchanges: Exchange, redactor: Redactor | None = None) -> bytes:
    """Every byte the recorder and ``record to-yaml`` write for these exchanges."""
    redactor = redactor or Redactor.default()
    recorder = Recorder(folder / "recordings", redactor)
    for ex in exchanges:
        recorder.record("p", ex)
    files = recorder.files()
    recorder.close()
    for n, source in enumerate((list(exchanges), [e for f in files for e in read_har(f)])):
        result = infer(source, "p", redactor=redactor)
        if result.datapoints:
            out = folder / f"partners{n}" / "p"
            yamlout.write(yamlout.render(result, ["t.har"], out), out)
    return b"\n".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def assert_absent(data: bytes, *secrets: str) -> None:
    for secret in secrets:
        assert secret.encode() not in data, secret
        for form in base64_forms(secret):
            assert form not in data, (secret, form)


def recorded(folder: Path, ex: Exchange) -> Exchange:
    recorder = Recorder(folder / "rec", Redactor.default())
    recorder.record("p", ex)
    [path] = recorder.files()
    recorder.close()
    return read_har(path)[0]


# --- JWTs: secret by shape, whatever they are called --------------------------------------


@pytest.mark.parametrize("name", ["jwt", "assertion", "state", "x"])
def test_jwt_in_a_query_parameter_of_any_name(tmp_path: Path, name: str) -> None:
    data = written(tmp_path, exchange(url=f"/v1/login?{name}={JWT}&page=2"))
    assert_absent(data, JWT, JWT.split(".")[2])
    assert recorded(tmp_path, exchange(url=f"/v1/login?{name}={JWT}&page=2")).url \
        == f"{BASE}/v1/login?{name}={PLACEHOLDER}&page=2"


@pytest.mark.parametrize("ex", [
    exchange(request=f"grant=x&subject={JWT}".encode(),
             request_type="application/x-www-form-urlencoded"),
    exchange(request_headers=(("X-Forwarded-Identity", JWT),)),
    exchange(request=json.dumps({"a": [{"b": JWT}]}).encode(), request_type="application/json"),
    exchange(response=f"<r><who>{JWT}</who></r>".encode(), response_type="application/xml"),
    exchange(url=f"/v1/verify/{JWT}"),
    exchange(response=f"welcome {JWT}!".encode(), response_type="text/plain"),
], ids=["form", "header", "json", "xml", "path", "text"])
def test_jwt_shaped_values_anywhere(tmp_path: Path, ex: Exchange) -> None:
    assert_absent(written(tmp_path, ex), JWT)


# --- XML --------------------------------------------------------------------------------------


SOAP = ("""<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
  <soap:Header><wsse:Security><wsse:UsernameToken>
    <wsse:Username>qa-user</wsse:Username>
    <wsse:Password Type="PasswordText">%s</wsse:Password>
  </wsse:UsernameToken></wsse:Security></soap:Header>
  <soap:Body><GetRates><HotelCode>H1</HotelCode></GetRates></soap:Body>
</soap:Envelope>""")


def test_ws_security_password_in_a_request(tmp_path: Path) -> None:
    ex = exchange(request=(SOAP % SECRET).encode(), request_type="text/xml; charset=utf-8")
    assert_absent(written(tmp_path, ex), SECRET)
    body = recorded(tmp_path, ex).request_body.decode()
    assert '<soap:Envelope xmlns:soap=' in body and "<HotelCode>H1</HotelCode>" in body


@pytest.mark.parametrize("xml", [
    "<Login><user>qa</user><password>%s</password></Login>",
    "<Auth><ClientSecret>%s</ClientSecret></Auth>",
    "<Auth><Credentials><Name>qa</Name><Value>%s</Value></Credentials></Auth>",
    '<Login user="qa" password="%s"/>',
    '<Config><param name="client_secret" value="%s"/></Config>',
    "<Login><password><![CDATA[%s]]></password></Login>",
    "<Login><note>password=%s</note></Login>",
    "<Login><password>%s</password>",  # never closed
    "<Login><password>%s</pass></Login",  # broken
], ids=["element", "client-secret", "container", "attribute", "pair", "cdata", "text",
        "unclosed", "broken"])
def test_xml_secrets_in_requests_and_responses(tmp_path: Path, xml: str) -> None:
    body = (xml % SECRET).encode()
    ex = exchange(request=body, request_type="application/xml", response=body,
                  response_type="application/xml")
    data = written(tmp_path, ex)
    assert_absent(data, SECRET)
    assert PLACEHOLDER.encode() in data


def test_xml_response_copied_into_partner_yaml_is_redacted(tmp_path: Path) -> None:
    body = (f"<Grant><access_token>{SECRET}</access_token><expires>60</expires>"
            f"<echo>issued {SECRET}</echo></Grant>").encode()
    written(tmp_path, exchange(url="/v1/session", response=body, response_type="text/xml"))
    text = (tmp_path / "partners0" / "p" / "partner.yaml").read_text("utf-8")
    assert "<expires>60</expires>" in text and PLACEHOLDER in text
    assert SECRET not in text


def test_xml_with_a_dtd_is_never_expanded(tmp_path: Path) -> None:
    body = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "{SECRET}">]>'
            f"<r><password>{SECRET}</password><x>&e;</x></r>").encode()
    out = Redactor.default().body(body, "application/xml")
    assert SECRET.encode() not in out.split(b"]>", 1)[1]


def test_entity_encoded_jwt_in_xml(tmp_path: Path) -> None:
    hidden = JWT.replace("e", "&#101;", 1)
    assert_absent(written(tmp_path, exchange(response=f"<r>{hidden}</r>".encode(),
                                             response_type="application/xml")), JWT)


# --- forms ------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    f"client_secret={SECRET}&flag".encode(),
    f"flag&client_secret={SECRET}".encode(),
    f"name=caf\xe9&client_secret={SECRET}".encode("latin-1"),
    f"client%5Fsecret={SECRET}&x=1".encode(),
], ids=["bare-key", "bare-key-first", "not-utf-8", "escaped-name"])
def test_form_bodies_that_do_not_parse_strictly(tmp_path: Path, body: bytes) -> None:
    ex = exchange(request=body, request_type="application/x-www-form-urlencoded")
    assert_absent(written(tmp_path, ex), SECRET)
    out = Redactor.default().exchange(ex).request_body
    assert out.replace(PLACEHOLDER.encode(), SECRET.encode()) == body  # the rest as it was


# --- JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    b"\xef\xbb\xbf" + json.dumps({"password": SECRET}).encode(),
    json.dumps({"password": SECRET, "name": "x"}).encode().replace(b'"x"', b'"\xff"'),
    json.dumps({"password": SECRET}).encode("utf-16"),
    json.dumps({"pass\u0077ord": SECRET}).encode().replace(b"w", b"\\u0077", 1),
], ids=["bom", "invalid-utf-8", "utf-16", "escaped-name"])
def test_json_that_is_not_plain_utf_8(tmp_path: Path, body: bytes) -> None:
    ex = exchange(request=body, request_type="application/json", response=body)
    assert_absent(written(tmp_path, ex), SECRET)


def test_json_with_an_invalid_byte_is_stored_as_base64_but_redacted(tmp_path: Path) -> None:
    body = b'{"password":"' + SECRET.encode() + b'","name":"caf\xe9"}'
    rec = recorded(tmp_path, exchange(request=body, request_type="application/json"))
    assert rec.request_body == b'{"password":"REDACTED","name":"caf\xe9"}'


@pytest.mark.parametrize("value", [[SECRET, "x"], {"value": SECRET, "kind": "basic"},
                                   [{"deep": [SECRET]}]], ids=["list", "object", "nested"])
def test_secret_fields_whose_value_is_a_list_or_object(tmp_path: Path, value: object) -> None:
    body = json.dumps({"data": {"client_secret": value, "id": 7}}).encode()
    ex = exchange(request=body, request_type="application/json", response=body)
    assert_absent(written(tmp_path, ex), SECRET)
    assert json.loads(Redactor.default().exchange(ex).request_body) == {
        "data": {"client_secret": PLACEHOLDER, "id": 7}}


def test_json_nested_in_a_string_value(tmp_path: Path) -> None:
    inner = json.dumps({"auth": {"password": SECRET}})
    body = json.dumps({"payload": inner, "wrapped": json.dumps({"payload": inner})}).encode()
    ex = exchange(request=body, request_type="application/json", response=body)
    assert_absent(written(tmp_path, ex), SECRET)
    out = json.loads(Redactor.default().exchange(ex).request_body)
    assert json.loads(out["payload"]) == {"auth": {"password": PLACEHOLDER}}


def test_a_key_given_twice_hides_nothing(tmp_path: Path) -> None:
    body = f'{{"password": "{SECRET}", "password": null}}'.encode()
    assert_absent(written(tmp_path, exchange(request=body, request_type="application/json")),
                  SECRET)


@pytest.mark.parametrize("name", ["passphrase", "pin", "otp", "private_key", "signature",
                                  "newPassword", "x-client-secret", "credentials", "db_pwd",
                                  "passcode", "user[password]"])
def test_more_secret_field_names(tmp_path: Path, name: str) -> None:
    body = json.dumps({name: SECRET}).encode()
    ex = exchange(url=f"/v1/x?{name}={SECRET}", request=body, request_type="application/json")
    assert_absent(written(tmp_path, ex), SECRET)


@pytest.mark.parametrize("name", ["next_page_token", "signature_method", "token_type",
                                  "author", "pinned", "description"])
def test_names_that_only_look_secret_are_kept(name: str) -> None:
    assert not Redactor.default().is_secret_field(name)


# --- multipart --------------------------------------------------------------------------------


def multipart(*parts: str, boundary: str = "b0undary") -> bytes:
    return ("".join(f"--{boundary}\r\n{p}\r\n" for p in parts) + f"--{boundary}--\r\n").encode()


@pytest.mark.parametrize("parts", [
    ['Content-Disposition: form-data; name="password"\r\n\r\n' + SECRET],
    ["Content-Disposition: form-data; name*=utf-8''client%5Fsecret\r\n\r\n" + SECRET],
    ['Content-Disposition: form-data; name="cfg"; filename="c.json"\r\nContent-Type: '
     f'application/json\r\n\r\n{{"api_key": "{SECRET}"}}'],
    ['Content-Disposition: form-data; name="doc"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
     + base64.b64encode(f"password={SECRET}".encode()).decode()],
    ['Content-Disposition: form-data; name="x"\r\nX-Auth-Token: ' + SECRET + "\r\n\r\nx"],
], ids=["named", "rfc2231-name", "json-file", "base64-part", "part-header"])
def test_multipart_parts(tmp_path: Path, parts: list[str]) -> None:
    body = multipart('Content-Disposition: form-data; name="user"\r\n\r\nqa', *parts)
    for ctype in ("multipart/form-data; boundary=b0undary", "multipart/form-data"):
        ex = exchange(request=body, request_type=ctype)
        assert_absent(written(tmp_path / ctype[-3:], ex), SECRET)
    assert b'name="user"\r\n\r\nqa\r\n' in Redactor.default().exchange(ex).request_body


# --- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "secret"), [
    ("X-Authorization", True), ("Authentication", True), ("X-Upstream-Authorization", True),
    ("Authorization", True), ("Proxy-Authorization", True), ("Cookie", True),
    ("Set-Cookie", True), ("X-Session", True), ("X-Client-Secret", True),
    ("X-Signature", True), ("X-Request-Key", True), ("Private-Token", True),
    ("X-Password", True), ("Authentication-Info", True),
    # the allow list, decided one by one (see docs/security.md)
    ("Sec-WebSocket-Key", False), ("Idempotency-Key", False), ("X-Imnot-Session", False),
    ("WWW-Authenticate", False), ("Proxy-Authenticate", False),
    ("Access-Control-Allow-Credentials", False),
    # ordinary headers
    ("Accept", False), ("Content-Type", False), ("Cache-Control", False),
    ("Keep-Alive", False), ("X-Author", False), ("X-Next-Page-Token", False),
    ("User-Agent", False), ("X-Request-Id", False),
])
def test_which_headers_are_secret(name: str, secret: bool) -> None:
    assert Redactor.default().is_secret_header(name) is secret


@pytest.mark.parametrize("name", ["X-Authorization", "Authentication",
                                  "X-Upstream-Authorization"])
def test_auth_headers_that_leaked(tmp_path: Path, name: str) -> None:
    ex = exchange(request_headers=((name, f"Bearer {SECRET}"),),
                  response_headers=((name, SECRET),))
    assert_absent(written(tmp_path, ex), SECRET)


def test_secrets_in_ordinary_header_values(tmp_path: Path) -> None:
    ex = exchange(response_headers=(("Location", f"https://app.example/cb#access_token={SECRET}"
                                                 "&state=1"),
                                    ("Link", f"<{BASE}/x?api_key={SECRET}>; rel=next")))
    assert_absent(written(tmp_path, ex), SECRET)


# --- text and bodies that do not parse --------------------------------------------------------


@pytest.mark.parametrize(("body", "ctype"), [
    (f"user=qa\npassword={SECRET}\n", "text/plain"),
    (f"login ok; password: {SECRET}", "text/plain"),
    (f'{{"password": "{SECRET}", "broken": [1, 2', "application/json"),
    (f"{{'password': '{SECRET}'}}", "application/json"),
    (f"<r><password>{SECRET}</password><r", "application/xml"),
    (f"see\n<password>{SECRET}</password>\n", "text/plain"),
    (f"Authorization: Bearer {SECRET}\r\n", "message/http"),
    (f"secret_key = \"{SECRET} with spaces\"", "text/x-ini"),
], ids=["key=value", "key: value", "broken-json", "quoted-keys", "broken-xml", "tag-in-text",
        "bearer",
        "quoted-value"])
def test_bodies_that_do_not_parse_are_redacted_by_pattern(tmp_path: Path, body: str,
                                                          ctype: str) -> None:
    ex = exchange(request=body.encode(), request_type=ctype, response=body.encode(),
                  response_type=ctype)
    assert_absent(written(tmp_path, ex), SECRET)


def test_binary_body_with_a_secret_pattern_is_redacted_before_base64(tmp_path: Path) -> None:
    body = b"\x00\x01\xfe\xffpassword=" + SECRET.encode() + b"\x00\x02"
    ex = exchange(response=body, response_type="application/octet-stream")
    assert_absent(written(tmp_path, ex), SECRET)
    assert recorded(tmp_path, ex).response_body == b"\x00\x01\xfe\xffpassword=REDACTED\x00\x02"


def test_base64_gzip_and_undecodable_bodies(tmp_path: Path) -> None:
    doc = json.dumps({"client_secret": SECRET}).encode()
    for n, (body, headers) in enumerate([
            (base64.b64encode(doc), ()),
            (base64.urlsafe_b64encode(doc).rstrip(b"="), ()),
            (base64.encodebytes(doc * 4), ()),  # wrapped at 76 columns
            (gzip.compress(doc), ()),
            (b"\x28\xb5\x2f\xfd" + doc, ()),  # zstd: cannot be opened here
            (b"\x8b\x02\x80" + doc + b"\x03", (("Content-Encoding", "br"),)),
    ]):
        ex = exchange(response=body, response_type="application/octet-stream",
                      response_headers=headers)
        assert_absent(written(tmp_path / str(n), ex), SECRET)


# --- the pre-check ----------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    b'{"reservationId": "RES-1", "guest": {"name": "Zo\xc3\xab"}, "rooms": [1, 2]}',
    b"<r><HotelCode>H1</HotelCode></r>",
    b'{"city": "Z\\u00fcrich"}', b"<city>Z&#252;rich</city>",
    b"plain text, nothing here",
])
def test_pre_check_lets_ordinary_bodies_through_unparsed(body: bytes) -> None:
    assert not may_hold_secrets(body, Redactor.default().names.may_name)


@pytest.mark.parametrize("body", [
    b'{"x": "' + JWT.encode() + b'"}',
    b'{"pass\\u0077ord": "x"}',
    b"client%5Fsecret=x",
    b"<r>&#101;yJ</r>", b"<r>&#x65;yJ</r>",
    json.dumps({"password": "x"}).encode("utf-16"),
    b"\xff\xfe\x00garbage",
    gzip.compress(b'{"password": "x"}'),
    b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\nx\r\n--b--",
    base64.b64encode(b'{"password": "x"}'),
    b'{"note": "Bearer abc123"}',
], ids=["jwt", "json-escape", "percent", "char-ref", "hex-char-ref", "utf-16", "not-utf-8",
        "gzip",
        "multipart", "base64", "bearer"])
def test_pre_check_cannot_be_bypassed(body: bytes) -> None:
    assert may_hold_secrets(body, Redactor.default().names.may_name)


def test_nothing_secret_means_the_same_exchange_back() -> None:
    ex = exchange(url="/v1/rooms?page=2", request=b'{"a": 1}', request_type="application/json",
                  request_headers=(("Accept", "application/json"),))
    assert Redactor.default().exchange(ex) is ex


def test_the_live_exchange_is_not_changed() -> None:
    ex = exchange(request=json.dumps({"password": SECRET}).encode(),
                  request_type="application/json")
    out = Redactor.default().exchange(ex)
    assert SECRET.encode() in ex.request_body and SECRET.encode() not in out.request_body


# --- options and the scrub of copies ----------------------------------------------------------


def test_names_added_by_the_options(tmp_path: Path) -> None:
    redactor = Redactor.default(extra_headers=["X-Tenant"], extra_fields=["color"])
    ex = exchange(request=json.dumps({"color": SECRET}).encode(), request_type="application/json",
                  request_headers=(("X-Tenant", SECRET + "-t"),))
    assert_absent(written(tmp_path, ex, redactor=redactor), SECRET)
    assert not Redactor.default().is_secret_field("color")


def test_secret_values_come_from_every_new_placement() -> None:
    exchanges = [
        exchange(request=(SOAP % "ws-pass-1111").encode(), request_type="text/xml"),
        exchange(request=b'<Login password="attr-pass-2222"/>', request_type="text/xml"),
        exchange(request=multipart('Content-Disposition: form-data; name="pin"\r\n\r\n'
                                   "mp-pin-3333"), request_type="multipart/form-data"),
        exchange(url=f"/x?state={JWT}"),
        exchange(request=json.dumps({"otp": ["otp-4444-x"]}).encode(),
                 request_type="application/json"),
    ]
    found = secret_values(exchanges, Redactor.default())
    for secret in ("ws-pass-1111", "attr-pass-2222", "mp-pin-3333", JWT, "otp-4444-x"):
        assert secret in found


def test_secrets_echoed_in_ordinary_fields_are_scrubbed_from_the_yaml(tmp_path: Path) -> None:
    ex = exchange(request=b'<Login><password>echo-pass-5555</password></Login>',
                  request_type="text/xml",
                  response=json.dumps({"message": "welcome echo-pass-5555"}).encode())
    assert_absent(written(tmp_path, ex), "echo-pass-5555")


def test_a_body_the_redactor_cannot_go_through_is_not_written(monkeypatch) -> None:
    from imnot_proxy.recording.redact import bodies

    def fail(*args: object) -> bytes:
        raise RecursionError
    monkeypatch.setattr(bodies.Dispatch, "body", fail)
    ex = exchange(request=json.dumps({"password": SECRET}).encode(),
                  request_type="application/json")
    assert Redactor.default().exchange(ex).request_body.startswith(PLACEHOLDER.encode())


def test_base64_of_binary_holding_a_secret_pattern() -> None:
    body = base64.b64encode(b"\x00" * 300 + f"password={SECRET}".encode())
    out = Redactor.default().body(body, "application/octet-stream")
    assert base64.b64decode(out).endswith(b"password=REDACTED")


def test_typed_credential_objects(tmp_path: Path) -> None:
    body = json.dumps({"credentials": [{"type": "password", "value": SECRET}]}).encode()
    assert_absent(written(tmp_path, exchange(request=body, request_type="application/json")),
                  SECRET)
    single = json.dumps({"type": "password", "value": SECRET, "temporary": False}).encode()
    out = json.loads(Redactor.default().body(single, "application/json"))
    assert out == {"type": "password", "value": PLACEHOLDER, "temporary": False}


def test_password_in_the_url_userinfo(tmp_path: Path) -> None:
    ex = Exchange(0.0, "GET", f"https://qa:{SECRET}@api.partner.example/v1/x", (), b"", 200,
                  (), b"ok")
    assert_absent(written(tmp_path, ex), SECRET)
    assert Redactor.default().exchange(ex).url == \
        f"https://qa:{PLACEHOLDER}@api.partner.example/v1/x"


def test_html_form_fields_redact_only_their_value() -> None:
    page = (f'<form><input name="user" value="qa"><input type="password" name="password" '
            f'value="{SECRET}"><p>Forgot it?</p></form>').encode()
    out = Redactor.default().body(page, "text/html")
    assert SECRET.encode() not in out and b"<p>Forgot it?</p></form>" in out


def test_a_typical_exchange_is_not_parsed(monkeypatch) -> None:
    """The hot path: headers, a query and JSON bodies with nothing secret-looking are let
    through by the pre-check, without any parser or pattern running."""
    from imnot_proxy.recording.redact import bodies, form

    def parsed(*args: object) -> object:
        raise AssertionError("parsed")
    monkeypatch.setattr(bodies.Dispatch, "document", parsed)
    monkeypatch.setattr(form, "redact", parsed)
    body = json.dumps({"reservationId": "RES-1", "guest": "Zoë", "rooms": [{"rate": 120.5}],
                       "links": {"self": "/reservations/RES-1"}}).encode()
    ex = exchange(url="/v1/reservations?page=2&limit=20", request=body,
                  request_type="application/json", response=body,
                  request_headers=(("Authorization", f"Bearer {SECRET}"),
                                   ("Accept", "application/json"), ("User-Agent", "qa/1.0")),
                  response_headers=(("Cache-Control", "no-cache"), ("X-Request-Id", "r-1")))
    out = Redactor.default().exchange(ex)
    assert out.request_headers[1] == ("Authorization", PLACEHOLDER)
    assert out.request_body is ex.request_body and out.response_body is ex.response_body
