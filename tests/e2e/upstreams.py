"""Servers on 127.0.0.1 for the proxy to talk to: recording origins (HTTP and TLS), callback
targets that can fail on purpose, and a small corporate-style forward proxy to chain to.

Each one runs in background threads from ``start()`` (or ``with``) to ``close()``, which
ends open connections, joins every thread and closes every socket.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import select
import socket
import socketserver
import ssl
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from .launcher import LOCALHOST

__all__ = [
    "CallbackReceiver",
    "ForwardProxy",
    "Handler",
    "HandlerResult",
    "RecordedRequest",
    "Seen",
    "TlsUpstreamServer",
    "UpstreamServer",
]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the upstream server received it."""

    method: str
    path: str
    headers: Message
    body: bytes
    client_address: tuple[str, int] = field(default=(LOCALHOST, 0))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


HandlerBody = bytes | str | Mapping[str, Any] | list[Any]
HandlerResult = tuple[int, Mapping[str, str], HandlerBody]
Handler = Callable[[str, str, Message, bytes], HandlerResult]


def default_handler(method: str, path: str, headers: Message, body: bytes) -> HandlerResult:
    """Answer 200 with a JSON body that identifies the upstream and echoes the path."""
    return 200, {}, {"upstream": True, "path": path}


def _encode_body(body: HandlerBody, headers: dict[str, str]) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        return body.encode("utf-8")
    headers.setdefault("Content-Type", "application/json")
    return json.dumps(body).encode("utf-8")


class _RecordingHandler(BaseHTTPRequestHandler):
    """Dispatches every method to the owning UpstreamServer's handler function."""

    protocol_version = "HTTP/1.1"
    timeout = 30
    server: _RecordingHTTPServer

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        owner = self.server.owner
        body = self._read_body()
        request = RecordedRequest(self.command, self.path, self.headers, body, self.client_address)
        try:
            status, response_headers, response_body = owner.respond(request)
            out_headers = dict(response_headers)
            payload = _encode_body(response_body, out_headers)
        except Exception:
            status, out_headers = 500, {"Content-Type": "text/plain; charset=utf-8"}
            payload = traceback.format_exc().encode("utf-8")
        finally:
            owner._record(request)
        self.send_response(status)
        lowered = {key.lower() for key in out_headers}
        for key, value in out_headers.items():
            self.send_header(key, value)
        if "content-length" not in lowered:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(payload)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging; requests are inspected via ``.requests``."""


class _RecordingHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that can forcibly end keep-alive connections on close.

    Handler threads are non-daemon and joined on close; open connections are shut
    down first so idle keep-alive handlers do not hold the join.
    """

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, owner: UpstreamServer, ssl_context: ssl.SSLContext | None) -> None:
        self.owner = owner
        self.ssl_context = ssl_context
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._closing = False
        super().__init__((LOCALHOST, 0), _RecordingHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        if self.ssl_context is not None:
            # The handshake runs later in the handler thread so a stalled client cannot
            # block the accept loop.
            sock = self.ssl_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
            closing = self._closing
        if closing:
            _hard_shutdown(request)
        super().process_request(request, client_address)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(_RecordingHandler.timeout)
            try:
                request.do_handshake()
            except (OSError, ValueError):
                return
        super().finish_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connection resets from clients are expected in tests; report anything else."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            self._closing = True
            connections = list(self._connections)
        for sock in connections:
            _hard_shutdown(sock)


def _hard_shutdown(sock: socket.socket) -> None:
    try:
        # socket.socket.shutdown on the fd, bypassing SSLSocket.shutdown's TLS state handling.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


class UpstreamServer:
    """A recording HTTP origin server on 127.0.0.1 running in a background thread.

    ``handler(method, path, headers, body) -> (status, headers, body)`` decides the
    answer; a str body is sent as text, a dict/list as JSON, bytes as is. Every
    request is recorded (also when the handler raises, which answers 500).
    """

    scheme = "http"

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler: Handler = handler or default_handler
        self._requests: list[RecordedRequest] = []
        self._cond = threading.Condition()
        self._server: _RecordingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _ssl_context(self) -> ssl.SSLContext | None:
        return None

    def respond(self, request: RecordedRequest) -> HandlerResult:
        """Produce the answer for ``request``; subclasses override to add behaviour."""
        return self.handler(request.method, request.path, request.headers, request.body)

    def _record(self, request: RecordedRequest) -> None:
        with self._cond:
            self._requests.append(request)
            self._cond.notify_all()

    # -- lifecycle

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("server already started")
        self._server = _RecordingHTTPServer(self, self._ssl_context())
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting, end open connections, join all threads, close the socket."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- inspection

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"{self.scheme}://{LOCALHOST}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot copy of the requests received so far, in arrival order."""
        with self._cond:
            return list(self._requests)

    def clear(self) -> None:
        with self._cond:
            self._requests.clear()

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until at least ``n`` requests were received; return the snapshot."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._requests) >= n, timeout=timeout):
                seen = [f"{r.method} {r.path}" for r in self._requests]
                raise AssertionError(
                    f"expected {n} request(s) within {timeout}s, got {len(seen)}: {seen}"
                )
            return list(self._requests)


class TlsUpstreamServer(UpstreamServer):
    """UpstreamServer over TLS with a throwaway CA and a leaf for localhost/127.0.0.1.

    ``cert_path`` is the CA certificate a client (or mitmproxy's
    ``ssl_verify_upstream_trusted_ca``) must trust.
    """

    scheme = "https"

    def __init__(self, handler: Handler | None = None) -> None:
        super().__init__(handler)
        self._certdir: tempfile.TemporaryDirectory[str] | None = None
        self._cert_path: Path | None = None

    @property
    def cert_path(self) -> Path:
        if self._cert_path is None:
            raise RuntimeError("server not started")
        return self._cert_path

    def _ssl_context(self) -> ssl.SSLContext:
        self._certdir = tempfile.TemporaryDirectory(prefix="tls-upstream-")
        certdir = Path(self._certdir.name)
        ca_pem, chain_pem, key_pem = _make_ca_and_leaf()
        self._cert_path = certdir / "ca.pem"
        self._cert_path.write_bytes(ca_pem)
        (certdir / "chain.pem").write_bytes(chain_pem)
        (certdir / "key.pem").write_bytes(key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certdir / "chain.pem", certdir / "key.pem")
        return context

    def close(self) -> None:
        super().close()
        if self._certdir is not None:
            self._certdir.cleanup()
            self._certdir = None


def _make_ca_and_leaf() -> tuple[bytes, bytes, bytes]:
    """Return (CA cert PEM, leaf+CA chain PEM, leaf key PEM) valid for localhost/127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    not_before = now - datetime.timedelta(hours=1)
    not_after = now + datetime.timedelta(days=2)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harness test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address(LOCALHOST))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    ca_pem = ca_cert.public_bytes(pem)
    chain_pem = leaf_cert.public_bytes(pem) + ca_pem
    key_pem = leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca_pem, chain_pem, key_pem


class CallbackReceiver(UpstreamServer):
    """An UpstreamServer for webhook/callback targets that can fail on purpose.

    The first ``fail_first_n`` requests are answered 500 (still recorded), which lets
    tests exercise a sender's retry logic; later ones go to ``handler``.
    """

    def __init__(self, handler: Handler | None = None, fail_first_n: int = 0) -> None:
        super().__init__(handler or _callback_ok)
        self.fail_first_n = fail_first_n
        self._answered = 0
        self._answered_lock = threading.Lock()

    def respond(self, request: RecordedRequest) -> HandlerResult:
        with self._answered_lock:
            self._answered += 1
            attempt = self._answered
        if attempt <= self.fail_first_n:
            return 500, {}, {"error": "induced failure", "attempt": attempt}
        return super().respond(request)


def _callback_ok(method: str, path: str, headers: Message, body: bytes) -> HandlerResult:
    return 200, {}, {"ok": True}


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
