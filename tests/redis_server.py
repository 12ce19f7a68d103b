"""A real ``redis-server`` for the tests: its own port on 127.0.0.1, its own folder.

``tls=`` makes it listen for TLS only (certificates from ``CertAuthority``, a throwaway CA
made here), ``unix=True`` on a unix socket only (in a short temporary folder: a socket path
has at most 107 bytes).

Debian's ``redis-server`` (or any on PATH). Where it is missing the tests that need it
skip with one line saying how to install it; with ``IMNOT_REQUIRE_REDIS=1`` (set by
``.ci/run``) they fail instead, so CI cannot pass without running them.
"""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL_HINT = ("redis-server not found: install it (Debian/Ubuntu: apt-get install "
                "redis-server; macOS: brew install redis) to run the Redis tests")


def require_redis_server() -> str:
    found = shutil.which("redis-server")
    if found is None:
        if os.environ.get("IMNOT_REQUIRE_REDIS") == "1":
            pytest.fail(f"IMNOT_REQUIRE_REDIS=1 but {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    return found


def _socket_path(folder: Path) -> Path:
    path = folder / "redis.sock"
    if len(str(path)) < 100:
        return path
    return Path(tempfile.mkdtemp(prefix="imnot-redis-")) / "redis.sock"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Issued:
    """A certificate and its unencrypted key, PEM files; ``ca`` is the issuer's certificate."""

    cert: Path
    key: Path
    ca: Path


class CertAuthority:
    """A throwaway CA in ``folder`` (``ca.pem``) that issues server and client certificates."""

    def __init__(self, folder: Path, name: str = "imnot test CA"):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()),
                           critical=False)
            .sign(self.key, hashes.SHA256()))
        self.pem = folder / "ca.pem"
        self.pem.write_bytes(_pem(self.cert))

    def issue(self, stem: str, hosts: Sequence[str] = ("127.0.0.1", "localhost"), *,
              client: bool = False) -> Issued:
        """A leaf certificate for ``hosts`` (IP addresses or DNS names), for a server or,
        with ``client=True``, for a client of mutual TLS."""
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(self.name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256()))
        cert_path, key_path = self.folder / f"{stem}.pem", self.folder / f"{stem}.key"
        cert_path.write_bytes(_pem(cert))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)
        return Issued(cert_path, key_path, self.pem)


def _pem(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class Tls:
    """How a TLS-only server is set up: its certificate, and whether it asks clients for
    theirs (``--tls-auth-clients no|optional|yes``); ``client`` is what the helper itself
    presents (to ``ping`` and ``cli``) when asked."""

    server: Issued
    auth_clients: str = "no"
    client: Issued | None = None


class RedisServer:
    """``redis-server`` on a free loopback port; ``restart()`` keeps port, folder and data.

    With ``tls=`` it listens for TLS only on that port; with ``unix=True`` on a unix socket
    only (``socket_path``)."""

    def __init__(self, folder: Path, *, password: str | None = None, aof: bool = True,
                 extra: Sequence[str] = (), tls: Tls | None = None, unix: bool = False):
        self.binary = require_redis_server()
        self.folder = folder
        self.port = 0 if unix else _free_port()
        self.password = password
        self.aof = aof
        self.extra = list(extra)
        self.tls = tls
        self.socket_path: Path | None = _socket_path(folder) if unix else None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The URL of the server without TLS parameters (``tls_query`` has them)."""
        auth = f":{self.password}@" if self.password else ""
        if self.socket_path is not None:
            return f"unix://{auth}{self.socket_path}"
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{auth}127.0.0.1:{self.port}/0"

    def tls_query(self) -> str:
        """``ssl_ca_certs=…`` (and the client certificate when the server asks for one)."""
        assert self.tls is not None
        query = f"ssl_ca_certs={self.tls.server.ca}"
        if self.tls.client is not None and self.tls.auth_clients != "no":
            query += f"&ssl_certfile={self.tls.client.cert}&ssl_keyfile={self.tls.client.key}"
        return query

    def argv(self) -> list[str]:
        args = [self.binary, "--bind", "127.0.0.1",
                "--dir", str(self.folder), "--save", "", "--daemonize", "no",
                "--appendonly", "yes" if self.aof else "no", "--appendfsync", "always",
                "--logfile", str(self.folder / "redis.log")]
        if self.socket_path is not None:
            args += ["--port", "0", "--unixsocket", str(self.socket_path),
                     "--unixsocketperm", "700"]
        elif self.tls is not None:
            args += ["--port", "0", "--tls-port", str(self.port),
                     "--tls-cert-file", str(self.tls.server.cert),
                     "--tls-key-file", str(self.tls.server.key),
                     "--tls-ca-cert-file", str(self.tls.server.ca),
                     "--tls-auth-clients", self.tls.auth_clients]
        else:
            args += ["--port", str(self.port)]
        if self.password:
            args += ["--requirepass", self.password]
        return args + self.extra

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.folder / "redis.log")
                text = "\n".join(log.read_text().splitlines()[-20:]) if log.exists() else ""
                raise RuntimeError(f"redis-server did not start on {self.port}:\n{text}")
            time.sleep(0.02)
        return self

    def _connect(self) -> socket.socket:
        if self.socket_path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(0.5)
            try:
                sock.connect(str(self.socket_path))
            except OSError:
                sock.close()
                raise
            return sock
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
        if self.tls is None:
            return sock
        context = ssl.create_default_context(cafile=str(self.tls.server.ca))
        context.check_hostname = False  # whether it is up; the names it carries are the test's
        if self.tls.client is not None:
            context.load_cert_chain(self.tls.client.cert, self.tls.client.key)
        return context.wrap_socket(sock, server_hostname="127.0.0.1")

    def ping(self) -> bool:
        try:
            with self._connect() as sock:
                auth = (f"AUTH {self.password}\r\n" if self.password else "").encode()
                sock.sendall(auth + b"PING\r\n")
                data = b""
                while b"PONG" not in data:
                    chunk = sock.recv(256)
                    if not chunk:
                        return False
                    data += chunk
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """A hard stop (SIGKILL): what a crash or a lost host looks like to the clients."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def shutdown(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def restart(self) -> RedisServer:
        self.stop()
        return self.start()

    def cli(self, *args: str) -> str:
        import redis

        if self.socket_path is not None:
            client = redis.Redis(unix_socket_path=str(self.socket_path),
                                 password=self.password, protocol=2)
        elif self.tls is not None:
            mine = self.tls.client
            client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                                 protocol=2, ssl=True, ssl_ca_certs=str(self.tls.server.ca),
                                 ssl_certfile=str(mine.cert) if mine else None,
                                 ssl_keyfile=str(mine.key) if mine else None)
        else:
            client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                                 protocol=2)
        try:
            reply = client.execute_command(*args)
        finally:
            client.close()
        return reply.decode() if isinstance(reply, bytes) else str(reply)
