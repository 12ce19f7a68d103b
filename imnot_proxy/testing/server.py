"""The one proxy of a test run: started on first use, shared by every xdist worker, stopped
with the run; or a proxy that is already running (``--imnot-url``).

A run directory holds what the workers share: ``proxy.json`` (where the proxy listens, its
CA, the supervisor's pid), ``proxy.lock`` (taken while one worker checks for or starts the
proxy, so it is started once), ``proxy.alive`` (locked by the supervisor while it lives)
and the proxy's store, confdir, CA bundle and log. Only the run's main process stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..ca import PEM_END, write_bundle
from ..client import AdminCallError, AdminClient

LOCALHOST = "127.0.0.1"
START_TIMEOUT = 30.0  # seconds a proxy may take to listen
STOP_TIMEOUT = 15.0
START_TRIES = 3  # a free port can be taken between choosing and binding it
# Options every self-started proxy gets: request bodies in the journal (redacted) for the
# body assertions, and a journal that holds a whole run's requests.
TEST_OPTIONS = ("imnot_journal_bodies=4096", "imnot_journal_size=20000")


class ServerError(Exception):
    """The proxy could not be started or reached; the message says why and what to do."""


@dataclass(frozen=True)
class ServerInfo:
    url: str  # http://127.0.0.1:<port>: the proxy, and the base of admin calls
    ca_cert: str | None  # the proxy's CA certificate (PEM)
    ca_bundle: str | None  # the system CAs plus that CA, for settings that replace them
    supervisor: int | None = None  # pid, when this run started the proxy
    proxy: int | None = None

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].rstrip("/"))


@dataclass(frozen=True)
class StartSpec:
    partners: Path
    owner: int  # pid of the run's main process
    options: Sequence[str] = ()  # more NAME=VALUE proxy options


# --- locks ------------------------------------------------------------------------------


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` across processes (released if the holder dies)."""
    import fcntl

    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_free(path: Path) -> bool:
    """Whether nobody holds ``path``'s lock: the supervisor that held it has ended."""
    import fcntl

    try:
        handle = open(path, "a+")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return True
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def wait_for(condition, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise ServerError(f"{what} (waited {timeout:g} s)")
        time.sleep(0.05)


# --- attach, start, stop ---------------------------------------------------------------------


def healthy(url: str, key: str | None = None) -> bool:
    try:
        reply = AdminClient(url, key, timeout=2.0).call("GET", "/healthz")
    except AdminCallError:
        return False
    return isinstance(reply, dict) and reply.get("status") == "ok"


def attach(url: str, key: str | None, ca_cert: str | None, run_dir: Path | None) -> ServerInfo:
    """A proxy that is already running; its CA comes from ``ca_cert`` (a bundle is written
    into ``run_dir`` when given)."""
    url = url.rstrip("/")
    if not healthy(url, key):
        raise ServerError(f"no imnot-proxy answers at {url}/healthz (--imnot-url)")
    bundle = None
    if ca_cert:
        if not Path(ca_cert).is_file():
            raise ServerError(f"--imnot-ca {ca_cert}: no such file")
        if run_dir is not None:  # one per process: xdist workers attach at the same time
            bundle = str(write_bundle(Path(ca_cert), run_dir / f"ca-bundle-{os.getpid()}.pem"))
    return ServerInfo(url, ca_cert, bundle)


def shared(run_dir: Path, spec: StartSpec, key: str | None) -> ServerInfo:
    """The run's proxy: the one a worker already started, else a new one."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with locked(run_dir / "proxy.lock"):
        state = run_dir / "proxy.json"
        if state.exists():
            info = ServerInfo(**json.loads(state.read_text("utf-8")))
            if healthy(info.url, key):
                return info
        info = start(run_dir, spec, key)
        state.write_text(json.dumps(asdict(info)), "utf-8")
        return info


def start(run_dir: Path, spec: StartSpec, key: str | None) -> ServerInfo:
    if not spec.partners.exists():
        raise ServerError(f"no partner files at {spec.partners}: set --imnot-partners (or "
                          "imnot_partners in the pytest configuration)")
    problem = ""
    for _ in range(START_TRIES):
        port = free_port()
        try:
            return _start_on(run_dir, spec, key, port)
        except PortTaken as exc:
            problem = str(exc)
    raise ServerError(problem)


class PortTaken(ServerError):
    pass


def _start_on(run_dir: Path, spec: StartSpec, key: str | None, port: int) -> ServerInfo:
    confdir = run_dir / "conf"
    command = [sys.executable, "-m", "imnot_proxy.cli", "start", "--host", LOCALHOST,
               "--port", str(port), "--partners", str(spec.partners.absolute()),
               "--db", str(run_dir / "imnot.db"), "--confdir", str(confdir), "--no-watch", "--"]
    for option in (*TEST_OPTIONS, *spec.options):
        command += ["--set", option]
    log_path = run_dir / f"proxy-{port}.log"
    alive = run_dir / "proxy.alive"
    supervisor = [sys.executable, "-m", "imnot_proxy.testing.supervise", "--owner",
                  str(spec.owner), "--alive", str(alive), "--", *command]
    # posix_spawn, not Popen: the supervisor outlives this worker and is waited for through
    # its lock, so no process handle is kept for it.
    pid = os.posix_spawn(sys.executable, supervisor, {**os.environ, "PYTHONUNBUFFERED": "1"},
                         file_actions=[
                             (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                             (os.POSIX_SPAWN_OPEN, 1, str(log_path),
                              os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                             (os.POSIX_SPAWN_DUP2, 1, 2)],
                         setsid=True)
    url = f"http://{LOCALHOST}:{port}"

    def ready() -> bool:
        ended, status = os.waitpid(pid, os.WNOHANG)
        if ended:
            text = log_path.read_text("utf-8", "replace")
            cls = PortTaken if "already in use" in text else ServerError
            raise cls(f"the imnot proxy exited with code {os.waitstatus_to_exitcode(status)} "
                      f"before listening on {url}:\n{text[-3000:]}")
        return healthy(url, key) and _written(confdir / "mitmproxy-ca-cert.pem")

    try:
        wait_for(ready, START_TIMEOUT, f"the imnot proxy did not answer at {url}/healthz; "
                                       f"its log is {log_path}")
    except PortTaken:
        raise
    except ServerError:
        _kill(pid)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        raise
    ca_cert = confdir / "mitmproxy-ca-cert.pem"
    bundle = write_bundle(ca_cert, run_dir / "ca-bundle.pem")
    proxy_pid = alive.read_text("utf-8").strip()
    return ServerInfo(url, str(ca_cert), str(bundle), pid,
                      int(proxy_pid) if proxy_pid.isdigit() else None)


def stop(run_dir: Path) -> None:
    """Stop the proxy this run started, if any, and wait until it has ended."""
    state = run_dir / "proxy.json"
    if not state.exists():
        return
    info = ServerInfo(**json.loads(state.read_text("utf-8")))
    if info.supervisor is None:
        return
    alive = run_dir / "proxy.alive"
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.supervisor, signal.SIGTERM)
    try:
        wait_for(lambda: lock_free(alive), STOP_TIMEOUT, "the imnot proxy did not stop")
    except ServerError:
        for pid in (info.proxy, info.supervisor):
            if pid is not None:
                _kill(pid)
    with contextlib.suppress(ChildProcessError):  # reap it when this process started it
        os.waitpid(info.supervisor, 0)
    state.unlink()


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _written(path: Path) -> bool:
    try:
        return PEM_END in path.read_bytes()
    except FileNotFoundError:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])
