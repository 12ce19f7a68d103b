"""Sessions from the session header and the proxy credentials (pure, no proxy)."""

from __future__ import annotations

import base64

import pytest

from imnot_proxy.messages import CIHeaders
from imnot_proxy.sessions import SESSION_HEADER, ConnectSessions, proxy_user, strip_ours


def basic(user: str, password: str = "x") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(("value", "user"), [
    (basic("s1", "pw"), "s1"),
    ("basic " + base64.b64encode(b"s2:").decode(), "s2"),
    ("Basic " + base64.b64encode(b"only-user").decode(), "only-user"),
    ("Basic " + base64.b64encode(b":pw").decode(), None),
    ("Bearer abc", None),
    ("Basic ***", None),
    (None, None),
])
def test_proxy_user(value, user):
    assert proxy_user(value) == user



def test_header_wins_then_own_credentials_then_the_connect():
    sessions = ConnectSessions()
    sessions.remember("c1", basic("from-connect"))
    assert sessions.session_of(CIHeaders(), "c1") == "from-connect"
    assert sessions.session_of(CIHeaders({"proxy-authorization": basic("own")}), "c1") == "own"
    both = CIHeaders({SESSION_HEADER: " s9 ", "proxy-authorization": basic("own")})
    assert sessions.session_of(both, "c1") == "s9"
    assert sessions.session_of(CIHeaders(), "c2") is None
    sessions.forget("c1")
    assert sessions.session_of(CIHeaders(), "c1") is None and len(sessions) == 0


def test_a_connect_without_basic_credentials_names_no_session():
    sessions = ConnectSessions()
    sessions.remember("c1", "Bearer abc")
    sessions.remember("c2", None)
    assert len(sessions) == 0


def test_strip_ours_removes_the_session_header_and_the_proxy_credentials():
    headers = CIHeaders({SESSION_HEADER: "s1", "proxy-authorization": basic("u"), "x-kept": "1"})
    strip_ours(headers)
    assert dict(headers) == {"x-kept": "1"}
