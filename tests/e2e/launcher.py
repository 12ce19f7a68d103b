"""Starting the proxy as a real process on 127.0.0.1, waiting for it, and stopping it.

``Launcher`` is the one way the suites start a proxy process:

- ``Launcher.mitmdump(script, confdir, ...)``: ``mitmdump -s <addon script>``;
- ``Launcher.mitmweb(script, confdir, ...)``: ``mitmweb -s <addon script>``, web UI on a second port;
- ``Launcher.imnot_start(workdir, *args, ...)``: ``imnot-proxy start`` (lean engine, or
  ``--web``);
- ``Launcher(argv, port=..., workdir=...)``: any other command line that listens on ``port``
  (the container image's entrypoint run as another user, for instance).

It is ready when every port it should listen on accepts a connection. ``stop()`` sends
SIGTERM, waits, then kills. Its output goes to a log file (a pipe could fill up and block a
chatty proxy) and is read back with ``log_text()``. ``environment()`` is the one place
where a child process's environment is built, and ``run()`` uses it for one-shot commands
(the CLI, curl, a health check).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self, TypedDict, TypeVar, Unpack

__all__ = [
    "IMNOT_CLI",
    "LOCALHOST",
    "Launcher",
    "ProxyStartError",
    "environment",
    "find_program",
    "free_port",
    "port_accepts",
    "run",
    "wait_until",
]

LOCALHOST = "127.0.0.1"
# ``imnot-proxy`` from this checkout, whether or not the console script is installed.
IMNOT_CLI = (sys.executable, "-m", "imnot_proxy.cli")
# Variables that send a client through another proxy or change the CAs it trusts.
PROXY_SETTINGS = frozenset({
    "http_proxy", "https_proxy", "no_proxy", "all_proxy", "ssl_cert_file", "ssl_cert_dir",
    "requests_ca_bundle", "curl_ca_bundle", "node_extra_ca_certs", "node_use_env_proxy",
})
# Given to every launched proxy: output reaches the log at once, and rich does not wrap
# log lines at 80 columns.
PROCESS_ENV = {"PYTHONUNBUFFERED": "1", "COLUMNS": "200"}

T = TypeVar("T")
Options = Mapping[str, str | int | float | bool]


class LaunchOptions(TypedDict, total=False):
    """What every kind of proxy accepts besides its own arguments (see ``Launcher``)."""

    env: Mapping[str, str | None]
    inherit_env: bool
    drop_imnot_env: bool
    ready_ports: Sequence[int]
    ready_timeout: float
    stop_timeout: float


# --------------------------------------------------------------------------- waiting


def free_port() -> int:
    """Return a currently unused TCP port on 127.0.0.1 (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def port_accepts(port: int, host: str = LOCALHOST) -> bool:
    """Whether something accepts TCP connections on ``host:port`` right now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


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


# --------------------------------------------------------------------------- environment


def environment(
    extra: Mapping[str, str | None] | None = None,
    *,
    inherit: bool = True,
    drop_imnot: bool = False,
    drop_proxy_settings: bool = False,
) -> dict[str, str]:
    """The environment of a child process.

    It starts from this process's environment (``inherit``) or from nothing.
    ``drop_imnot`` removes the inherited ``IMNOT_*`` variables (admin key, proxy URL),
    ``drop_proxy_settings`` the proxy and CA settings of any case (``https_proxy``,
    ``SSL_CERT_FILE``, ...). ``extra`` comes last; a None value removes that variable.
    """
    env = dict(os.environ) if inherit else {}
    if drop_imnot:
        env = {k: v for k, v in env.items() if not k.startswith("IMNOT_")}
    if drop_proxy_settings:
        env = {k: v for k, v in env.items() if k.lower() not in PROXY_SETTINGS}
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(
    argv: Sequence[str | Path],
    *,
    env: Mapping[str, str | None] | None = None,
    inherit_env: bool = True,
    drop_imnot: bool = False,
    drop_proxy_settings: bool = False,
    cwd: Path | str | None = None,
    stdin: str | None = None,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion and capture its output as text.

    A non-zero exit is returned, not raised. ``stdin`` is the text to send (no input
    without it). The environment is built by ``environment()`` from the other arguments.
    """
    return subprocess.run(
        [str(arg) for arg in argv],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        env=environment(env, inherit=inherit_env, drop_imnot=drop_imnot,
                        drop_proxy_settings=drop_proxy_settings),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def find_program(name: str) -> str:
    """``name`` from the running interpreter's bin directory, else from PATH.

    The bin directory wins so that the tests run the mitmproxy and imnot-proxy installed
    next to the code under test.
    """
    bindir = Path(sys.executable).parent
    found = shutil.which(name, path=str(bindir)) or shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found in {bindir} or on PATH")
    return found


# --------------------------------------------------------------------------- launcher


class ProxyStartError(RuntimeError):
    """The process exited or never listened; the message carries its command and output."""


def _option_value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _mitmproxy_args(script: Path | str, confdir: Path, port: int, options: Options) -> list[str]:
    args = ["-q", "--listen-host", LOCALHOST, "--listen-port", str(port),
            "--set", f"confdir={confdir}", "--set", "connection_strategy=lazy", "-s", str(script)]
    for key, value in options.items():
        args += ["--set", f"{key}={_option_value(value)}"]
    return args


class Launcher:
    """One proxy process on 127.0.0.1; ``start()`` returns once it listens.

    ``port`` is where it serves proxy traffic; ``ready_ports`` are other ports it must
    listen on before it counts as started (an admin listener), and so is ``web_port``, a
    web UI (``web_url``). ``name`` prefixes its log files. ``env`` is applied
    over the inherited environment (or over nothing, without ``inherit_env``); a None
    value removes a variable, ``drop_imnot_env`` removes every inherited ``IMNOT_*``.
    The log files go to ``workdir``; ``cwd`` is the process's working directory (the
    test's when None). ``confdir`` is where mitmproxy keeps its CA (``ca_cert``).

    The same object can be started again after ``stop()`` or ``kill9()``: same command,
    port, environment, confdir; ``log_text()`` covers every run.
    """

    def __init__(
        self,
        argv: Sequence[str | Path],
        *,
        port: int,
        workdir: Path,
        env: Mapping[str, str | None] | None = None,
        inherit_env: bool = True,
        drop_imnot_env: bool = False,
        cwd: Path | None = None,
        confdir: Path | None = None,
        ready_ports: Sequence[int] = (),
        web_port: int | None = None,
        name: str = "proxy",
        ready_timeout: float = 30.0,
        stop_timeout: float = 15.0,
    ) -> None:
        self.argv = [str(arg) for arg in argv]
        self.port = port
        self.workdir = Path(workdir)
        self.env = dict(env or {})
        self.inherit_env = inherit_env
        self.drop_imnot_env = drop_imnot_env
        self.cwd = cwd
        self.confdir = confdir
        self.web_port = web_port
        self.ready_ports = [port, *ready_ports, *([web_port] if web_port is not None else [])]
        self.name = name
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.log_paths: list[Path] = []
        self._proc: subprocess.Popen[bytes] | None = None

    # -- the kinds of proxy

    @classmethod
    def mitmdump(
        cls,
        script: Path | str,
        confdir: Path,
        *,
        options: Options | None = None,
        extra_args: Sequence[str] = (),
        port: int | None = None,
        **kwargs: Unpack[LaunchOptions],
    ) -> Launcher:
        """``mitmdump -q -s script`` with ``--set key=value`` for each of ``options``.

        It listens on 127.0.0.1 (a free port unless ``port`` is given), keeps its CA in
        ``confdir`` and connects upstream lazily, as ``imnot-proxy start`` does.
        ``extra_args`` go last, as they are. Other keyword arguments: see the class.
        """
        port = free_port() if port is None else port
        argv = [find_program("mitmdump"), *_mitmproxy_args(script, confdir, port, options or {}),
                *extra_args]
        return cls(argv, port=port, workdir=confdir, confdir=confdir, name="mitmdump",
                   **kwargs)

    @classmethod
    def mitmweb(
        cls,
        script: Path | str,
        confdir: Path,
        *,
        options: Options | None = None,
        extra_args: Sequence[str] = (),
        port: int | None = None,
        web_port: int | None = None,
        **kwargs: Unpack[LaunchOptions],
    ) -> Launcher:
        """``mitmweb -q -s script``, like ``mitmdump()``, with its UI on 127.0.0.1:``web_port``.

        No browser is opened; it counts as started once both ports listen.
        """
        port = free_port() if port is None else port
        web_port = free_port() if web_port is None else web_port
        web: dict[str, str | int | float | bool] = {
            "web_host": LOCALHOST, "web_port": web_port, "web_open_browser": False,
            **(options or {})}
        argv = [find_program("mitmweb"), *_mitmproxy_args(script, confdir, port, web),
                *extra_args]
        return cls(argv, port=port, workdir=confdir, confdir=confdir, web_port=web_port,
                   name="mitmweb", **kwargs)

    @classmethod
    def imnot_start(
        cls,
        workdir: Path,
        *args: str | Path,
        port: int | None = None,
        confdir: Path | None = None,
        web_port: int | None = None,
        mitmproxy_args: Sequence[str] = (),
        cwd: Path | None = None,
        **kwargs: Unpack[LaunchOptions],
    ) -> Launcher:
        """``imnot-proxy start <args> --port <port>`` run in ``workdir`` (or ``cwd``).

        ``confdir`` adds ``--confdir``. ``web_port`` adds ``--web`` (mitmweb, its UI
        there, no browser opened). ``mitmproxy_args`` follow a ``--``, for mitmproxy.
        """
        port = free_port() if port is None else port
        argv: list[str | Path] = [*IMNOT_CLI, "start", *args, "--port", str(port)]
        after: list[str] = []
        if confdir is not None:
            argv += ["--confdir", confdir]
        if web_port is not None:
            argv.append("--web")
            after += ["--set", f"web_port={web_port}", "--set", "web_open_browser=false"]
        after += mitmproxy_args
        if after:
            argv += ["--", *after]
        return cls(argv, port=port, workdir=workdir, cwd=cwd or workdir, confdir=confdir,
                   web_port=web_port, name="imnot", **kwargs)

    # -- lifecycle

    def start(self) -> Self:
        """Spawn the process and block until every ready port accepts connections."""
        if self.alive:
            raise RuntimeError(f"{self.name} on port {self.port} is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        fd, log_name = tempfile.mkstemp(prefix=f"{self.name}-{self.port}-", suffix=".log",
                                        dir=self.workdir)
        self.log_paths.append(Path(log_name))
        env = environment({**PROCESS_ENV, **self.env}, inherit=self.inherit_env,
                          drop_imnot=self.drop_imnot_env)
        with os.fdopen(fd, "wb") as log:
            self._proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, env=env, cwd=self.cwd)
        try:
            self._wait_ready()
        except BaseException:
            self.kill9()
            raise
        return self

    def _wait_ready(self) -> None:
        proc = self._proc
        assert proc is not None

        def listening() -> bool:
            if proc.poll() is not None:
                raise ProxyStartError(f"{self.name} exited with code {proc.returncode} before "
                                      f"listening on {self.ready_ports}\n{self._report()}")
            return all(port_accepts(port) for port in self.ready_ports) and proc.poll() is None

        try:
            wait_until(listening, timeout=self.ready_timeout, interval=0.05,
                       message=f"{self.name} did not listen on {self.ready_ports}")
        except AssertionError as exc:
            raise ProxyStartError(f"{exc}\n{self._report()}") from None

    def _report(self) -> str:
        return f"command: {self.argv}\n--- output ---\n{self.log_text()}"

    def restart(self) -> Self:
        """Stop (if still running) and start again with the same command and port."""
        self.stop()
        return self.start()

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM, wait up to ``timeout`` (``stop_timeout``) seconds, then SIGKILL.

        Returns the exit code (None if never started); a stopped process stays stopped.
        """
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=self.stop_timeout if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

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
        """``http://127.0.0.1:<port>``: the proxy address, and the base URL of direct calls."""
        return f"http://{LOCALHOST}:{self.port}"

    def proxy_url(self, username: str | None = None, password: str = "") -> str:
        """Proxy URL, optionally carrying Basic credentials (``http://user:pass@host:port``)."""
        if username is None:
            return self.url
        userinfo = f"{username}:{password}" if password else username
        return f"http://{userinfo}@{LOCALHOST}:{self.port}"

    @property
    def web_url(self) -> str:
        if self.web_port is None:
            raise RuntimeError(f"{self.name} has no web UI")
        return f"http://{LOCALHOST}:{self.web_port}"

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
        """Everything the process wrote to stdout and stderr, every run, oldest first."""
        texts = []
        for path in self.log_paths:
            try:
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
            except FileNotFoundError:
                continue
        return "\n".join(texts)

    @property
    def ca_cert(self) -> Path:
        """mitmproxy's CA certificate in ``confdir``, waiting until it is fully written."""
        if self.confdir is None:
            raise RuntimeError(f"{self.name} was started without a known confdir")
        path = self.confdir / "mitmproxy-ca-cert.pem"

        def written() -> bool:
            try:
                return b"-----END CERTIFICATE-----" in path.read_bytes()
            except FileNotFoundError:
                return False

        wait_until(written, timeout=self.ready_timeout, message=f"{path} was never written")
        return path
