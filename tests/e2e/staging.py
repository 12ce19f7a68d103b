"""Helpers for the staging recipes: ``imnot-proxy start`` as a real process, a recording
forward proxy to chain to, and a TLS client that reports the certificate it was shown.

Everything binds or connects to 127.0.0.1 only; every wait has a deadline.
"""

from __future__ import annotations

import base64
import http.client
import os
import select
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from .harness import LOCALHOST, Reply, free_port, terminate, wait_until

# mitmproxy logs "HTTP(S) proxy listening at …" ("… (upstream mode) listening at" etc.).
READY_MARKS = (b") listening at", b"proxy listening at")


class CliProxy:
    """``imnot-proxy <args>`` (normally ``start``) as a subprocess, output in a log file."""

    def __init__(self, args: Sequence[str], workdir: Path, *, port: int | None = None,
                 env: Mapping[str, str | None] | None = None, inherit_env: bool = True,
                 ready: Sequence[bytes] = (), timeout: float = 30.0, cwd: Path | None = None,
                 program: Sequence[str] = (), prefix: Sequence[str] = ()) -> None:
        """``program`` replaces ``python -m imnot_proxy.cli``; ``prefix`` runs before it
        (e.g. ``setpriv`` to change user); without ``inherit_env`` the child gets only ``env``."""
        self.port = port or free_port()
        self.args = list(args)
        self.workdir = workdir
        self.env_overrides = dict(env or {})
        self.inherit_env = inherit_env
        self.ready = list(ready)
        self.timeout = timeout
        self.cwd = cwd or workdir
        self.program = list(program) or [sys.executable, "-m", "imnot_proxy.cli"]
        self.prefix = list(prefix)
        self.log_path = workdir / f"imnot-{self.port}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [*self.prefix, *self.program, *self.args]

    def start(self) -> Self:
        env = dict(os.environ) if self.inherit_env else {}
        env.update(PYTHONUNBUFFERED="1", COLUMNS="200")
        for key, value in self.env_overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, env=env, cwd=self.cwd)

        def listening() -> bool:
            if self._proc is not None and self._proc.poll() is not None:
                raise AssertionError(f"imnot-proxy exited with {self._proc.returncode}:\n"
                                     f"{self.command()}\n{self.log_text()}")
            text = self.log_path.read_bytes()
            return any(m in text for m in READY_MARKS) and all(m in text for m in self.ready)

        try:
            wait_until(listening, timeout=self.timeout,
                       message=f"imnot-proxy did not start: {self.command()}")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 15.0) -> int | None:
        return terminate(self._proc, timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""


# --------------------------------------------------------------------------- forward proxy


@dataclass(frozen=True)
class Seen:
    """One request the forward proxy received: CONNECT authority or absolute URL."""

    method: str
    target: str
    proxy_authorization: str | None


class _ProxyHandler(socketserver.BaseRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(10)
        reader = sock.makefile("rb")
        line = reader.readline(65536).decode("latin-1").strip()
        if not line:
            return
        headers: list[tuple[str, str]] = []
        while True:
            raw = reader.readline(65536).decode("latin-1")
            if raw in ("\r\n", "\n", ""):
                break
            name, _, value = raw.partition(":")
            headers.append((name.strip(), value.strip()))
        method, target, _ = line.split(" ", 2)
        auth = next((v for k, v in headers if k.lower() == "proxy-authorization"), None)
        self.server.owner._record(Seen(method, target, auth))
        if method == "CONNECT":
            self._tunnel(sock, target)
        else:
            length = int(next((v for k, v in headers if k.lower() == "content-length"), 0))
            body = reader.read(length) if length else b""
            self._forward(sock, method, target, headers, body)

    def _tunnel(self, sock: socket.socket, authority: str) -> None:
        host, _, port = authority.rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except OSError:
            sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with upstream:
            sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            pair = {sock: upstream, upstream: sock}
            while not self.server.closing:
                readable, _, _ = select.select(list(pair), [], [], 0.2)
                for src in readable:
                    try:
                        data = src.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        return
                    pair[src].sendall(data)

    def _forward(self, sock: socket.socket, method: str, url: str,
                 headers: list[tuple[str, str]], body: bytes) -> None:
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=10)
        kept = {k: v for k, v in headers
                if not k.lower().startswith("proxy-") and k.lower() != "connection"}
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            conn.request(method, path, body=body or None, headers=kept)
            response = conn.getresponse()
            payload = response.read()
        except OSError:
            sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        finally:
            conn.close()
        head = f"HTTP/1.1 {response.status} {response.reason}\r\n"
        for key, value in response.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                head += f"{key}: {value}\r\n"
        head += f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        sock.sendall(head.encode("latin-1") + payload)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, owner: ForwardProxy) -> None:
        self.owner = owner
        self.closing = False
        super().__init__((LOCALHOST, 0), _ProxyHandler)


class ForwardProxy:
    """A small corporate-style HTTP proxy: absolute-form requests and CONNECT tunnels.

    ``seen`` lists what reached it, with the ``Proxy-Authorization`` each one carried.
    """

    def __init__(self) -> None:
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server: _ProxyServer | None = None
        self._thread: threading.Thread | None = None

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self._seen.append(seen)

    @property
    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self) -> Self:
        self._server = _ProxyServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is None:
            return
        self._server.closing = True
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


# --------------------------------------------------------------------------- TLS client


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
