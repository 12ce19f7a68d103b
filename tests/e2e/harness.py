"""End-to-end test harness: a real mitmdump subprocess, stdlib HTTP(S) clients, and
recording upstream servers, all bound to 127.0.0.1.

Every wait is a condition polled against a deadline, and every process, socket,
thread and file the harness opens is closed again by ``stop()``/``close()`` or the
context manager exit.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import unquote, urlsplit

__all__ = [
    "LOCALHOST",
    "CallbackReceiver",
    "Handler",
    "HandlerResult",
    "ProxyProcess",
    "ProxyStartError",
    "RecordedRequest",
    "Reply",
    "TlsUpstreamServer",
    "UpstreamServer",
    "direct_request",
    "find_mitmdump",
    "free_port",
    "proxied_request",
    "wait_until",
]

LOCALHOST = "127.0.0.1"

T = TypeVar("T")


# --------------------------------------------------------------------------- utilities


def free_port() -> int:
    """Return a currently unused TCP port on 127.0.0.1 (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str = "condition not met",
) -> T:
    """Poll ``predicate`` until it returns something truthy and return that value.

    Raises AssertionError with ``message`` when ``timeout`` seconds pass first, so a
    failing wait reads like a failed assertion in the test report.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} (waited {timeout:.1f}s)")
        time.sleep(interval)


def _port_accepts(port: int, host: str = LOCALHOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- mitmdump


class ProxyStartError(RuntimeError):
    """mitmdump exited or never started listening; the message carries its output."""


def find_mitmdump() -> Path:
    """Locate ``mitmdump`` in the same environment as the running interpreter.

    The interpreter's own bin directory wins over PATH so that the tests always
    exercise the mitmproxy installed next to the code under test.
    """
    bindir = Path(sys.executable).parent
    candidate = shutil.which("mitmdump", path=str(bindir))
    if candidate is None:
        candidate = shutil.which("mitmdump")
    if candidate is None:
        raise FileNotFoundError(f"mitmdump not found in {bindir} or on PATH")
    return Path(candidate)


def _option_value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def terminate(proc: subprocess.Popen | None, timeout: float) -> int | None:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL; the exit code (None if never run)."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class ProxyProcess:
    """A real ``mitmdump`` subprocess listening on 127.0.0.1.

    Output goes to a log file inside ``confdir`` rather than a pipe, so a chatty
    proxy can never block on a full pipe buffer; read it with ``log_text()``.
    Pass ``port=`` (and the same ``confdir``) to restart on the same address with
    the same CA after ``stop()``/``kill9()``.
    """

    def __init__(
        self,
        script: str | Path,
        confdir: Path,
        options: Mapping[str, str | int | float | bool] | None = None,
        extra_args: Iterable[str] = (),
        env: Mapping[str, str | None] | None = None,
        port: int | None = None,
        ready_timeout: float = 20.0,
    ) -> None:
        self.script = Path(script)
        self.confdir = Path(confdir)
        self.options: dict[str, str] = {k: _option_value(v) for k, v in (options or {}).items()}
        self.extra_args = list(extra_args)
        self.env_overrides = dict(env or {})
        self.port = port if port is not None else free_port()
        self.ready_timeout = ready_timeout
        self.log_path: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle

    def command(self) -> list[str]:
        """The exact argv used to start mitmdump (useful in failure messages)."""
        cmd = [
            str(find_mitmdump()),
            "-q",
            "--listen-host",
            LOCALHOST,
            "--listen-port",
            str(self.port),
            "--set",
            f"confdir={self.confdir}",
            "--set",
            "connection_strategy=lazy",
            "-s",
            str(self.script),
        ]
        for key, value in self.options.items():
            cmd += ["--set", f"{key}={value}"]
        return cmd + self.extra_args

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        for key, value in self.env_overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def start(self) -> Self:
        """Spawn mitmdump and block until it is alive and accepting TCP connections."""
        if self._proc is not None:
            raise RuntimeError("ProxyProcess already started")
        self.confdir.mkdir(parents=True, exist_ok=True)
        fd, log_name = tempfile.mkstemp(
            prefix=f"mitmdump-{self.port}-", suffix=".log", dir=self.confdir
        )
        self.log_path = Path(log_name)
        with os.fdopen(fd, "wb") as log:
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._environment(),
            )
        try:
            self._wait_ready()
        except BaseException:
            self.kill9()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if self._proc.poll() is not None:
                raise ProxyStartError(
                    f"mitmdump exited with code {self._proc.returncode} before listening on "
                    f"port {self.port}\ncommand: {self.command()}\n--- output ---\n{self.log_text()}"
                )
            if _port_accepts(self.port) and self._proc.poll() is None:
                return
            if time.monotonic() >= deadline:
                raise ProxyStartError(
                    f"mitmdump did not listen on port {self.port} within {self.ready_timeout}s\n"
                    f"command: {self.command()}\n--- output ---\n{self.log_text()}"
                )
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> int | None:
        """Graceful shutdown: SIGTERM, wait up to ``timeout`` seconds, then SIGKILL."""
        return terminate(self._proc, timeout)

    def kill9(self) -> int | None:
        """Simulate a crash: SIGKILL without any chance to clean up, then reap."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        return proc.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- inspection

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def proxy_url(self, username: str | None = None, password: str = "") -> str:
        """Proxy URL, optionally carrying Basic credentials (``http://user:pass@host:port``)."""
        if username is None:
            return self.url
        userinfo = f"{username}:{password}" if password else username
        return f"http://{userinfo}@{LOCALHOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_text(self) -> str:
        """Everything mitmdump wrote to stdout/stderr so far."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    @property
    def ca_cert(self) -> Path:
        """mitmproxy's CA certificate in ``confdir``, waiting until it is fully written."""
        path = self.confdir / "mitmproxy-ca-cert.pem"

        def written() -> bool:
            try:
                return b"-----END CERTIFICATE-----" in path.read_bytes()
            except FileNotFoundError:
                return False

        wait_until(written, timeout=self.ready_timeout, message=f"{path} was never written")
        return path


# --------------------------------------------------------------------------- HTTP client


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


# --------------------------------------------------------------------------- upstream servers


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
