"""Property: a secret placed anywhere never reaches a written byte.

Hypothesis places a made-up secret in a header, the query, a form body, JSON at any depth
(also inside a string, under a list or an object), an XML element or attribute, a
multipart part, ``key=value`` text, or a JWT under a name of no meaning; a body may be sent
as base64 or gzip of itself. The exchange goes through the recorder (a HAR file) and
``record to-yaml`` (from the raw exchange and from the recorded file); neither the secret
nor its base64 may be in anything written. Derandomized with no example database, so every
run tries the same examples.
"""

from __future__ import annotations

import base64
import gzip
import json
import string
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imnot_proxy.recording.exchange import Exchange

from .test_redact import BASE, assert_absent, written

WORD = st.text(string.ascii_lowercase, min_size=1, max_size=8)
FIELDS = ("password", "passwd", "client_secret", "api_key", "access_token", "refresh_token",
          "private_key", "passphrase", "pin", "otp", "signature", "new_password",
          "session_id", "credentials")
HEADERS = ("Authorization", "X-Authorization", "Authentication", "X-Upstream-Authorization",
           "Cookie", "X-Api-Key", "X-Auth-Token", "X-Client-Secret", "X-Session-Id",
           "Private-Token", "X-Signature", "Proxy-Authorization")


@st.composite
def secrets(draw: st.DrawFn) -> str:
    """A made-up value that nothing else in an exchange can contain by chance."""
    alnum = string.ascii_letters + string.digits
    return (f"Sq{draw(st.text(alnum, min_size=5, max_size=10))}"
            f"7{draw(st.text(alnum, min_size=4, max_size=10))}")


@st.composite
def field_names(draw: st.DrawFn) -> str:
    """A secret field name as some API spells it: client_secret, clientSecret, CLIENT-SECRET."""
    words = draw(st.sampled_from(FIELDS)).split("_")
    style = draw(st.sampled_from(["snake", "camel", "kebab", "upper", "plain"]))
    if style == "camel":
        return words[0] + "".join(w.title() for w in words[1:])
    if style == "kebab":
        return "-".join(words)
    if style == "upper":
        return "_".join(words).upper()
    return "_".join(words) if style == "snake" else "".join(words)


def jwt(claims: dict[str, Any]) -> str:
    def part(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{part('signature-bytes')}"


@st.composite
def json_holding(draw: st.DrawFn, secret: str) -> Any:
    """A JSON value with the secret under a secret name somewhere inside."""
    name = draw(field_names())
    value: Any = draw(st.sampled_from([secret, [secret], {"value": secret},
                                       [{"x": [secret]}]]))
    node: Any = {name: value}
    for _ in range(draw(st.integers(0, 4))):
        wrap = draw(st.sampled_from(["dict", "list", "string"]))
        if wrap == "dict":
            node = {**draw(st.dictionaries(WORD, st.integers(), max_size=3)), draw(WORD): node}
        elif wrap == "list":
            node = [draw(st.integers()), node, draw(WORD)]
        else:
            node = {draw(WORD): json.dumps(node)}  # a JSON document inside a string
    return node


@st.composite
def xml_holding(draw: st.DrawFn, secret: str) -> str:
    name = draw(field_names()).replace("-", "_")
    prefix = draw(st.sampled_from(["", "wsse:", "ns1:"]))
    if draw(st.booleans()):
        inner = f'<{prefix}Login user="qa" {name}="{secret}"/>'
    else:
        value = draw(st.sampled_from([secret, f"<![CDATA[{secret}]]>", f" {secret} "]))
        inner = f"<{prefix}{name} Type=\"t\">{value}</{prefix}{name}>"
    for _ in range(draw(st.integers(0, 3))):
        tag = draw(WORD)
        inner = f"<{tag}><other>x</other>{inner}</{tag}>"
    return f'<?xml version="1.0"?><Envelope xmlns:wsse="w" xmlns:ns1="n">{inner}</Envelope>'


@st.composite
def placed(draw: st.DrawFn) -> tuple[Exchange, list[str]]:
    """An exchange with one secret placed in it, and the strings that must not be written."""
    secret = draw(secrets())
    hidden = [secret]
    kind = draw(st.sampled_from(["header", "query", "form", "json", "xml", "multipart",
                                 "text", "jwt"]))
    url, headers, body, ctype = "/v1/op", [], b"", ""
    if kind == "header":
        value = draw(st.sampled_from([secret, f"Bearer {secret}", f"sid={secret}; Path=/"]))
        headers.append((draw(st.sampled_from(HEADERS)), value))
    elif kind == "query":
        url += f"?{draw(WORD)}=1&{draw(field_names())}={secret}"
    elif kind == "form":
        pairs = [f"{draw(WORD)}=1", f"{draw(field_names())}={secret}", draw(WORD)]
        body, ctype = "&".join(draw(st.permutations(pairs))).encode(), \
            "application/x-www-form-urlencoded"
    elif kind == "json":
        body, ctype = json.dumps(draw(json_holding(secret))).encode(), "application/json"
    elif kind == "xml":
        body, ctype = draw(xml_holding(secret)).encode(), draw(
            st.sampled_from(["application/xml", "text/xml", "application/soap+xml"]))
    elif kind == "multipart":
        name = draw(field_names())
        part = draw(st.sampled_from([
            f'Content-Disposition: form-data; name="{name}"\r\n\r\n{secret}',
            f'Content-Disposition: form-data; name="f"; filename="a.json"\r\n'
            f'Content-Type: application/json\r\n\r\n{{"{name}": "{secret}"}}']))
        body = (f'--bnd\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n'
                f"--bnd\r\n{part}\r\n--bnd--\r\n").encode()
        ctype = draw(st.sampled_from(["multipart/form-data; boundary=bnd",
                                      "multipart/form-data"]))
    elif kind == "text":
        name = draw(field_names())
        line = draw(st.sampled_from([f"{name}={secret}", f"{name}: {secret}",
                                     f'"{name}": "{secret}"', f"<{name}>{secret}</{name}>"]))
        body, ctype = f"{draw(WORD)}\n{line}\n{draw(WORD)}".encode(), "text/plain"
    else:
        token = jwt({"sub": draw(WORD), "pwd": secret})
        hidden.append(token)
        where = draw(st.sampled_from(["query", "header", "json", "form", "xml"]))
        if where == "query":
            url += f"?{draw(WORD)}={token}"
        elif where == "header":
            headers.append((f"X-{draw(WORD)}", token))
        elif where == "json":
            body, ctype = json.dumps({draw(WORD): [token]}).encode(), "application/json"
        elif where == "form":
            body, ctype = f"{draw(WORD)}={token}".encode(), "application/x-www-form-urlencoded"
        else:
            body, ctype = f"<r><{draw(WORD)}>{token}</{draw(WORD)}></r>".encode(), "text/xml"
    wrapper = draw(st.sampled_from(["", "", "base64", "base64-mime", "gzip"])) if body else ""
    if wrapper.startswith("base64"):
        encode = base64.encodebytes if wrapper == "base64-mime" else base64.b64encode
        body, ctype = encode(body), draw(st.sampled_from(["text/plain", ""]))
    elif wrapper == "gzip":
        body = gzip.compress(body)
    typed = [("Content-Type", ctype)] if ctype else []
    if draw(st.booleans()):  # in the request
        ex = Exchange(0.0, "POST", BASE + url, tuple(typed + headers), body, 200,
                      (("Content-Type", "application/json"),), b'{"ok": true}')
    else:
        ex = Exchange(0.0, "GET", BASE + url, (), b"", 200, tuple(typed + headers),
                      body or b"ok")
    return ex, hidden


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(placed())
def test_a_secret_anywhere_never_reaches_a_written_byte(case: tuple[Exchange, list[str]]) -> None:
    ex, hidden = case
    with tempfile.TemporaryDirectory() as folder:
        data = written(Path(folder), ex)
    assert_absent(data, *hidden)
