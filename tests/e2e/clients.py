"""Stdlib HTTP(S) clients for the e2e suites: through a proxy, straight to a port, and a
TLS client that reports the certificate it was shown.

Each call opens its own connection and closes it before returning; 4xx and 5xx answers
are ordinary ``Reply`` values, never exceptions.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .launcher import LOCALHOST

__all__ = ["Reply", "TlsReply", "direct_request", "proxied_request", "tls_get"]


@dataclass
class Reply:
    """A complete HTTP response; 4xx/5xx are ordinary replies, never exceptions."""

    status: int
    reason: str
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


def _read_reply(response: http.client.HTTPResponse) -> Reply:
    body = response.read()
    return Reply(
        status=response.status, reason=response.reason, headers=response.headers, body=body
    )


def _basic_credentials(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _tls_context(cafile: Path | str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cafile) if cafile is not None else None)


def _send(
    conn: http.client.HTTPConnection,
    method: str,
    target: str,
    body: bytes | None,
    headers: Mapping[str, str],
) -> Reply:
    conn.request(method.upper(), target, body=body, headers=dict(headers))
    return _read_reply(conn.getresponse())


def _request_target(path: str, query: str) -> str:
    target = path or "/"
    return f"{target}?{query}" if query else target


def proxied_request(
    proxy_url: str,
    method: str,
    url: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    cafile: Path | str | None = None,
    timeout: float = 10.0,
    connect_headers: Mapping[str, str] | None = None,
) -> Reply:
    """Send one request through an HTTP proxy and return the full reply.

    Credentials in ``proxy_url`` (``http://user[:pass]@host:port``) become a Basic
    ``Proxy-Authorization`` header: on the request itself for ``http://`` URLs and on
    the CONNECT for ``https://`` URLs. This is done with http.client because urllib
    silently drops proxy credentials whose password is empty (``user@host``).
    A CONNECT answered with anything but 2xx is returned as the Reply.
    """
    proxy = urlsplit(proxy_url)
    if proxy.hostname is None:
        raise ValueError(f"proxy URL without host: {proxy_url!r}")
    proxy_port = proxy.port or 8080
    auth: dict[str, str] = {}
    if proxy.username is not None:
        auth["Proxy-Authorization"] = _basic_credentials(
            unquote(proxy.username), unquote(proxy.password or "")
        )

    target = urlsplit(url)
    if target.hostname is None:
        raise ValueError(f"URL without host: {url!r}")
    request_headers = dict(headers or {})

    if target.scheme == "http":
        for key, value in auth.items():
            request_headers.setdefault(key, value)
        conn = http.client.HTTPConnection(proxy.hostname, proxy_port, timeout=timeout)
        try:
            return _send(conn, method, url, body, request_headers)
        finally:
            conn.close()

    if target.scheme != "https":
        raise ValueError(f"unsupported scheme in {url!r}")
    host = target.hostname
    port = target.port or 443
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    tunnel_headers = {"Host": authority, **auth, **dict(connect_headers or {})}

    with socket.create_connection((proxy.hostname, proxy_port), timeout=timeout) as raw:
        head = f"CONNECT {authority} HTTP/1.1\r\n"
        head += "".join(f"{key}: {value}\r\n" for key, value in tunnel_headers.items())
        raw.sendall((head + "\r\n").encode("latin-1"))
        connect_response = http.client.HTTPResponse(raw, method="CONNECT")
        try:
            connect_response.begin()
            if not 200 <= connect_response.status < 300:
                return _read_reply(connect_response)
        finally:
            connect_response.close()
        # wrap_socket detaches raw's descriptor, so closing raw afterwards is a no-op.
        tls = _tls_context(cafile).wrap_socket(raw, server_hostname=host)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.sock = tls
    try:
        return _send(
            conn, method, _request_target(target.path, target.query), body, request_headers
        )
    finally:
        conn.close()


def direct_request(
    base_url: str,
    method: str,
    path: str = "/",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    cafile: Path | str | None = None,
    timeout: float = 10.0,
) -> Reply:
    """Send one request straight to ``base_url`` (no proxy), e.g. to the proxy's own port."""
    base = urlsplit(base_url)
    if base.hostname is None:
        raise ValueError(f"URL without host: {base_url!r}")
    conn: http.client.HTTPConnection
    if base.scheme == "https":
        conn = http.client.HTTPSConnection(
            base.hostname, base.port or 443, timeout=timeout, context=_tls_context(cafile)
        )
    elif base.scheme == "http":
        conn = http.client.HTTPConnection(base.hostname, base.port or 80, timeout=timeout)
    else:
        raise ValueError(f"unsupported scheme in {base_url!r}")
    if not path.startswith("/"):
        path = "/" + path
    prefix = base.path.rstrip("/")
    try:
        return _send(conn, method, prefix + path, body, dict(headers or {}))
    finally:
        conn.close()


@dataclass
class TlsReply:
    """A reply over a CONNECT tunnel, with the certificate the client was shown."""

    reply: Reply
    peer_der: bytes

    @property
    def issuer(self) -> str:
        from cryptography import x509

        return x509.load_der_x509_certificate(self.peer_der).issuer.rfc4514_string()


def tls_get(proxy_port: int, host: str, port: int, path: str, cafile: Path, *,
            user: str | None = None, timeout: float = 10.0) -> TlsReply:
    """GET ``https://host:port/path`` through the proxy, verifying against ``cafile`` only."""
    context = ssl.create_default_context(cafile=str(cafile))
    raw = socket.create_connection((LOCALHOST, proxy_port), timeout=timeout)
    try:
        head = f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        if user is not None:
            token = base64.b64encode(f"{user}:x".encode()).decode("ascii")
            head += f"Proxy-Authorization: Basic {token}\r\n"
        raw.sendall((head + "\r\n").encode("latin-1"))
        response = http.client.HTTPResponse(raw, method="CONNECT")
        try:
            response.begin()
            assert response.status == 200, f"CONNECT {host}:{port} -> {response.status}"
        finally:
            response.close()
        tls = context.wrap_socket(raw, server_hostname=host)
    except BaseException:
        raw.close()
        raise
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.sock = tls
    try:
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        conn.request("GET", path, headers={"Host": f"{host}:{port}"})
        answer = conn.getresponse()
        reply = Reply(answer.status, answer.reason, answer.headers, answer.read())
        return TlsReply(reply, der)
    finally:
        conn.close()
