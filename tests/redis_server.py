"""A real ``redis-server`` for the tests: its own port on 127.0.0.1, its own folder.

Debian's ``redis-server`` (or any on PATH). Where it is missing the tests that need it
skip with one line saying how to install it; with ``IMNOT_REQUIRE_REDIS=1`` (set by
``.ci/run``) they fail instead, so CI cannot pass without running them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``redis-server`` on a free loopback port; ``restart()`` keeps port, folder and data."""

    def __init__(self, folder: Path, *, password: str | None = None, aof: bool = True,
                 extra: Sequence[str] = ()):
        self.binary = require_redis_server()
        self.folder = folder
        self.port = _free_port()
        self.password = password
        self.aof = aof
        self.extra = list(extra)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.folder), "--save", "", "--daemonize", "no",
                "--appendonly", "yes" if self.aof else "no", "--appendfsync", "always",
                "--logfile", str(self.folder / "redis.log")]
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
                text = log.read_text() if log.exists() else ""
                raise RuntimeError(f"redis-server did not start on {self.port}:\n{text}")
            time.sleep(0.02)
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
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

        client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                             protocol=2)
        try:
            reply = client.execute_command(*args)
        finally:
            client.close()
        return reply.decode() if isinstance(reply, bytes) else str(reply)
