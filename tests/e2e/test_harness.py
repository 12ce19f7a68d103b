"""Self-tests for the e2e harness: servers, clients, the environment builder and the launcher
with real mitmdump and mitmweb processes."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import textwrap
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from .harness import (
    CallbackReceiver,
    HandlerResult,
    Launcher,
    ProxyStartError,
    TlsUpstreamServer,
    UpstreamServer,
    direct_request,
    environment,
    free_port,
    proxied_request,
    wait_until,
)

# Warnings are errors; a socket closed late by the interpreter (unraisable) is not.
pytestmark = pytest.mark.filterwarnings("error", "ignore::pytest.PytestUnraisableExceptionWarning")

MOCK_ADDON = textwrap.dedent(
    '''
    """Answers host mock.test itself and lets everything else through."""
    import json

    from mitmproxy import http


    class Mock:
        def __init__(self):
            self.connect_auth = {}

        def load(self, loader):
            loader.add_option("mock_greeting", str, "hello", "Echoed in mock answers.")

        def http_connect(self, flow):
            self.connect_auth[flow.client_conn.id] = flow.request.headers.get("proxy-authorization")

        def request(self, flow):
            if flow.request.pretty_host != "mock.test":
                return
            from mitmproxy import ctx

            status = 404 if flow.request.path.startswith("/missing") else 200
            payload = {
                "mock": True,
                "method": flow.request.method,
                "path": flow.request.path,
                "scheme": flow.request.scheme,
                "body": flow.request.get_text(),
                "greeting": ctx.options.mock_greeting,
                "proxy_auth": flow.request.headers.get("proxy-authorization"),
                "connect_auth": self.connect_auth.get(flow.client_conn.id),
            }
            flow.response = http.Response.make(
                status, json.dumps(payload), {"content-type": "application/json"}
            )


    addons = [Mock()]
    '''
)


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def addon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("addon") / "mock_addon.py"
    path.write_text(MOCK_ADDON)
    return path


@pytest.fixture(scope="module")
def proxy(addon: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    """One mitmdump for the tests that only send requests (the addon keeps no state)."""
    with Launcher.mitmdump(
        addon, tmp_path_factory.mktemp("proxy") / "conf", options={"mock_greeting": "hi there"}
    ) as running:
        yield running


@pytest.fixture
def upstream() -> Iterator[UpstreamServer]:
    with UpstreamServer() as server:
        yield server


# --------------------------------------------------------------------------- utilities


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_wait_until_returns_value_and_times_out() -> None:
    calls = iter(range(100))
    assert wait_until(lambda: next(calls) >= 3, timeout=5) is True
    with pytest.raises(AssertionError, match="never true"):
        wait_until(lambda: False, timeout=0.1, message="never true")


def test_environment_inherits_drops_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMNOT_ADMIN_KEY", "inherited")
    monkeypatch.setenv("https_proxy", "http://corp.test:3128")
    monkeypatch.setenv("SSL_CERT_FILE", "/elsewhere.pem")
    monkeypatch.setenv("HARNESS_KEEP", "1")
    env = environment({"HARNESS_EXTRA": "x", "HARNESS_KEEP": None})
    assert (env["IMNOT_ADMIN_KEY"], env["https_proxy"], env["HARNESS_EXTRA"]) == (
        "inherited", "http://corp.test:3128", "x")
    assert "HARNESS_KEEP" not in env

    clean = environment({"IMNOT_URL": "http://x"}, drop_imnot=True, drop_proxy_settings=True)
    assert clean["HARNESS_KEEP"] == "1" and clean["IMNOT_URL"] == "http://x"
    assert not {"IMNOT_ADMIN_KEY", "https_proxy", "SSL_CERT_FILE"} & set(clean)
    assert environment({"PATH": "/bin", "GONE": None}, inherit=False) == {"PATH": "/bin"}


# --------------------------------------------------------------------------- upstream servers


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
def test_upstream_records_every_method(upstream: UpstreamServer, method: str) -> None:
    body = None if method in ("GET", "HEAD") else b'{"n": 1}'
    reply = direct_request(upstream.url, method, "/p?q=1", body=body, headers={"X-Test": "yes"})

    assert reply.status == 200
    if method == "HEAD":
        assert reply.body == b""
        assert reply.headers["Content-Length"] == str(
            len(json.dumps({"upstream": True, "path": "/p?q=1"}))
        )
    else:
        assert reply.json() == {"upstream": True, "path": "/p?q=1"}
    [seen] = upstream.wait_for_requests(1)
    assert (seen.method, seen.path, seen.headers["x-test"]) == (method, "/p?q=1", "yes")
    assert seen.body == (body or b"")


def test_upstream_custom_handler_and_error_status_not_raised() -> None:
    def handler(method: str, path: str, headers: Message, body: bytes) -> HandlerResult:
        return 418, {"X-Teapot": "1"}, "short and stout"

    with UpstreamServer(handler) as server:
        reply = direct_request(server.url, "GET", "/tea")
    assert (reply.status, reply.headers["x-teapot"], reply.text) == (418, "1", "short and stout")


def test_upstream_handler_exception_answers_500_and_is_recorded() -> None:
    def handler(method: str, path: str, headers: Message, body: bytes) -> HandlerResult:
        raise ValueError("boom")

    with UpstreamServer(handler) as server:
        reply = direct_request(server.url, "POST", "/x", body=b"data")
        assert reply.status == 500
        assert "ValueError: boom" in reply.text
        assert server.wait_for_requests(1)[0].body == b"data"


def test_wait_for_requests_times_out_with_message(upstream: UpstreamServer) -> None:
    with pytest.raises(AssertionError, match="expected 1 request"):
        upstream.wait_for_requests(1, timeout=0.1)


def test_close_ends_idle_keepalive_connections() -> None:
    server = UpstreamServer().start()
    with socket.create_connection(("127.0.0.1", server.port)) as idle:
        idle.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        server.wait_for_requests(1)
        server.close()
        idle.settimeout(5)
        received = b""
        while chunk := idle.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200")


def test_tls_upstream_trusted_via_cert_path() -> None:
    with TlsUpstreamServer() as server:
        assert server.url.startswith("https://127.0.0.1:")
        reply = direct_request(server.url, "POST", "/secure", body=b"x", cafile=server.cert_path)
        assert reply.json() == {"upstream": True, "path": "/secure"}
        localhost = direct_request(
            f"https://localhost:{server.port}", "GET", "/", cafile=server.cert_path
        )
        assert localhost.status == 200
        with pytest.raises(ssl.SSLCertVerificationError):
            direct_request(server.url, "GET", "/untrusted")
        assert [r.path for r in server.wait_for_requests(2)] == ["/secure", "/"]


def test_callback_receiver_fails_first_n() -> None:
    with CallbackReceiver(fail_first_n=2) as receiver:
        statuses = [
            direct_request(receiver.url, "POST", "/hook", body=b"{}").status for _ in range(3)
        ]
        assert statuses == [500, 500, 200]
        assert len(receiver.wait_for_requests(3)) == 3


# --------------------------------------------------------------------------- mitmdump


def test_proxy_answers_mock_host(proxy: Launcher) -> None:
    reply = proxied_request(proxy.url, "POST", "http://mock.test/x", body=b"payload")
    assert reply.status == 200
    assert reply.json() | {"connect_auth": None} == {
        "mock": True,
        "method": "POST",
        "path": "/x",
        "scheme": "http",
        "body": "payload",
        "greeting": "hi there",
        "proxy_auth": None,
        "connect_auth": None,
    }


def test_proxy_error_status_and_head(proxy: Launcher) -> None:
    missing = proxied_request(proxy.url, "GET", "http://mock.test/missing")
    assert missing.status == 404
    assert missing.json()["path"] == "/missing"
    head = proxied_request(proxy.url, "HEAD", "http://mock.test/x")
    assert (head.status, head.body) == (200, b"")


def test_proxy_passes_through_to_upstream(proxy: Launcher, upstream: UpstreamServer) -> None:
    reply = proxied_request(
        proxy.url, "PUT", f"{upstream.url}/thing?a=b", body=b"abc", headers={"X-K": "v"}
    )
    assert reply.json() == {"upstream": True, "path": "/thing?a=b"}
    [seen] = upstream.wait_for_requests(1)
    assert (seen.method, seen.path, seen.body, seen.headers["x-k"]) == (
        "PUT",
        "/thing?a=b",
        b"abc",
        "v",
    )


def test_proxy_https_mock_host_trusting_ca(proxy: Launcher) -> None:
    reply = proxied_request(proxy.url, "GET", "https://mock.test/x?y=1", cafile=proxy.ca_cert)
    assert reply.status == 200
    assert reply.json()["scheme"] == "https"
    assert reply.json()["path"] == "/x?y=1"
    with pytest.raises(ssl.SSLCertVerificationError):
        proxied_request(proxy.url, "GET", "https://mock.test/x")


def test_proxy_https_to_tls_upstream(addon: Path, tmp_path: Path) -> None:
    with TlsUpstreamServer() as server:
        options = {"ssl_verify_upstream_trusted_ca": str(server.cert_path)}
        with Launcher.mitmdump(addon, tmp_path / "conf", options=options) as proxy:
            reply = proxied_request(proxy.url, "GET", f"{server.url}/tls", cafile=proxy.ca_cert)
        assert reply.json() == {"upstream": True, "path": "/tls"}
        assert server.wait_for_requests(1)[0].path == "/tls"


def test_proxy_authorization_sent_for_http_and_connect(proxy: Launcher) -> None:
    assert proxy.proxy_url("mysession") == f"http://mysession@127.0.0.1:{proxy.port}"

    plain = proxied_request(proxy.proxy_url("mysession"), "GET", "http://mock.test/x")
    assert plain.json()["proxy_auth"] == basic("mysession")

    tls = proxied_request(
        proxy.proxy_url("mysession"), "GET", "https://mock.test/x", cafile=proxy.ca_cert
    )
    assert tls.json()["connect_auth"] == basic("mysession")
    assert tls.json()["proxy_auth"] is None

    with_password = proxied_request(proxy.proxy_url("u", "p%40ss"), "GET", "http://mock.test/x")
    assert with_password.json()["proxy_auth"] == basic("u", "p@ss")

    anonymous = proxied_request(proxy.url, "GET", "https://mock.test/x", cafile=proxy.ca_cert)
    assert anonymous.json()["connect_auth"] is None


def test_connect_rejection_is_returned_as_reply(addon: Path, tmp_path: Path) -> None:
    options = {"proxyauth": "user:secret"}
    with Launcher.mitmdump(addon, tmp_path / "conf", options=options) as proxy:
        rejected = proxied_request(proxy.url, "GET", "https://mock.test/x", cafile=proxy.ca_cert)
        assert rejected.status == 407
        accepted = proxied_request(
            proxy.proxy_url("user", "secret"), "GET", "https://mock.test/x", cafile=proxy.ca_cert
        )
        assert accepted.status == 200


def test_direct_request_to_proxy_port(proxy: Launcher) -> None:
    reply = direct_request(proxy.url, "GET", "/")
    assert reply.status >= 400


def test_kill9_and_restart_on_same_port(addon: Path, tmp_path: Path) -> None:
    confdir = tmp_path / "conf"
    first = Launcher.mitmdump(addon, confdir).start()
    try:
        ca_before = first.ca_cert.read_bytes()
        assert proxied_request(first.url, "GET", "http://mock.test/x").status == 200
        assert first.kill9() == -9
        assert not first.alive
        with pytest.raises(ConnectionRefusedError):
            proxied_request(first.url, "GET", "http://mock.test/x", timeout=2)
    finally:
        first.stop()

    with Launcher.mitmdump(addon, confdir, port=first.port) as second:
        assert second.url == first.url
        assert second.ca_cert.read_bytes() == ca_before
        reply = proxied_request(second.url, "GET", "https://mock.test/again", cafile=first.ca_cert)
        assert reply.json()["path"] == "/again"
    assert not second.alive
    assert second.returncode == 0


def test_early_exit_raises_with_output(addon: Path, tmp_path: Path) -> None:
    proxy = Launcher.mitmdump(addon, tmp_path / "conf", extra_args=["--mode", "no-such-mode"])
    with pytest.raises(ProxyStartError, match="exited with code") as excinfo:
        proxy.start()
    assert "no-such-mode" in str(excinfo.value)
    assert not proxy.alive
    assert "no-such-mode" in proxy.log_text()


def test_mitmweb_serves_the_addon_and_its_ui(addon: Path, tmp_path: Path) -> None:
    with Launcher.mitmweb(addon, tmp_path / "conf", options={"mock_greeting": "web"}) as web:
        assert web.web_port is not None and web.web_port != web.port
        reply = proxied_request(web.url, "GET", "https://mock.test/w", cafile=web.ca_cert)
        assert (reply.status, reply.json()["greeting"]) == (200, "web")
        assert direct_request(web.web_url, "GET", "/").status in (200, 403)
    assert web.returncode == 0
    assert "mock.test" not in web.log_text()  # -q: no flow lines
