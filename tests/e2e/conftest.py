"""Fixtures for the end-to-end suites: real ``mitmdump -s`` processes running imnot_proxy.

A process costs about a second, so each module starts the few it needs through the
module-scoped ``start_imnot`` factory and its tests isolate themselves with sessions
or distinct datapoints. ``Imnot`` wraps one running proxy with the clients the tests
use (through the proxy, straight to its port, admin calls) and can restart it on the
same port, confdir and database to check persistence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from compat_fixtures import require

from .harness import (
    CallbackReceiver,
    Handler,
    Launcher,
    Reply,
    UpstreamServer,
    direct_request,
    proxied_request,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared"
ENTRY_SCRIPT = REPO_ROOT / "imnot_proxy" / "_mitm" / "entry.py"
REPO_PARTNERS = REPO_ROOT / "partners"
E2E_PARTNERS = Path(__file__).resolve().parent / "partners"

SESSION_HEADER = "X-Imnot-Session"
Body = bytes | str | Mapping[str, Any] | list[Any] | None


def encode(body: Body) -> bytes | None:
    """Bytes go as they are, text as UTF-8, anything else as JSON."""
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


class Imnot:
    """One running imnot_proxy and the ways a client talks to it."""

    def __init__(self, proc: Launcher, partners: Sequence[Path | str] = ()) -> None:
        self.proc = proc
        self.partners = [Path(p) for p in partners]  # the partner paths it was started with
        # Set by a test that provokes a known addon bug on a proxy of its own.
        self.expect_tracebacks = False

    # --- addresses ------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the proxy address and the direct base URL."""
        return self.proc.url

    @property
    def port(self) -> int:
        return self.proc.port

    @property
    def ca_cert(self) -> Path:
        return self.proc.ca_cert

    # --- clients ----------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        body: Body = None,
        *,
        headers: Mapping[str, str] | None = None,
        session: str | None = None,
        user: str | None = None,
        cafile: Path | None = None,
    ) -> Reply:
        """A request for ``url`` through the proxy; ``user`` becomes the proxy credentials.

        HTTPS trusts the proxy's generated CA and nothing else unless ``cafile`` says
        otherwise.
        """
        all_headers = dict(headers or {})
        if session is not None:
            all_headers[SESSION_HEADER] = session
        if urlsplit(url).scheme == "https" and cafile is None:
            cafile = self.ca_cert
        return proxied_request(
            self.proc.proxy_url(user), method, url, encode(body), all_headers, cafile=cafile
        )

    def direct(
        self,
        method: str,
        path: str,
        body: Body = None,
        *,
        headers: Mapping[str, str] | None = None,
        session: str | None = None,
    ) -> Reply:
        """An origin-form request sent straight to the proxy port, as to the original server."""
        all_headers = dict(headers or {})
        if session is not None:
            all_headers[SESSION_HEADER] = session
        return direct_request(self.url, method, path, encode(body), all_headers)

    def admin(self, method: str, path: str, body: Body = None) -> Reply:
        """An admin API call on the proxy port."""
        return self.direct(method, f"/imnot/admin/{path.lstrip('/')}", body)

    def upload(self, partner: str, datapoint: str, payload: Any, *, outcome: str | None = None) -> None:
        """Set the global payload of a datapoint."""
        query = f"?outcome={outcome}" if outcome else ""
        reply = self.admin("POST", f"{partner}/{datapoint}/payload{query}", payload)
        assert reply.status == 200, reply.text

    def new_session(
        self, partner: str, datapoint: str, payload: Any, *, outcome: str | None = None
    ) -> str:
        """Upload a session payload; returns the new session id."""
        query = f"?outcome={outcome}" if outcome else ""
        reply = self.admin("POST", f"{partner}/{datapoint}/payload/session{query}", payload)
        assert reply.status == 200, reply.text
        session_id = reply.json()["session_id"]
        assert isinstance(session_id, str) and session_id
        return session_id

    # --- lifecycle --------------------------------------------------------------

    def start(self) -> Imnot:
        self.proc.start()
        return self

    def stop(self) -> int | None:
        return self.proc.stop()

    def kill9(self) -> int | None:
        return self.proc.kill9()

    def restart(self) -> Imnot:
        """Stop, then start again on the same port, confdir (CA), options and database."""
        self.proc.restart()
        return self

    def log_text(self) -> str:
        """Output of every process this proxy ran, oldest first."""
        return self.proc.log_text()

    def tracebacks(self) -> list[str]:
        """Unhandled errors the addon logged: each one would be a 500 or a lost callback."""
        return self.log_text().split("Traceback (most recent call last)")[1:]


StartImnot = Callable[..., Imnot]


@pytest.fixture(scope="module")
def start_imnot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartImnot]:
    """Start imnot_proxy processes that live until the end of the module.

    ``start_imnot(*partner_paths, name=..., **options)``: every partner path becomes
    one ``--set imnot_partners=...``; options are other ``imnot_*`` or mitmproxy
    options. Each proxy gets its own confdir and database. At the end the processes
    are stopped and their logs checked for tracebacks.
    """
    started: list[Imnot] = []

    def start(*partners: Path | str, name: str = "imnot", **options: str | int | bool) -> Imnot:
        base = tmp_path_factory.mktemp(name)
        opts: dict[str, str | int | bool] = {"imnot_db": str(base / "imnot.db"), **options}
        extra: list[str] = []
        for partner in partners:
            extra += ["--set", f"imnot_partners={partner}"]
        proc = Launcher.mitmdump(ENTRY_SCRIPT, base / "conf", options=opts, extra_args=extra)
        imnot = Imnot(proc, partners)
        started.append(imnot)
        return imnot.start()

    yield start

    crashed: list[str] = []
    for imnot in started:
        imnot.stop()
        if not imnot.expect_tracebacks:
            crashed += imnot.tracebacks()
    assert not crashed, "imnot_proxy logged tracebacks:\n" + "\n---\n".join(crashed)


def proxy_partners(*paths: Path) -> Sequence[Path]:
    """The given partner paths of the original imnot, skipping the module when one is missing
    (failing it in CI: ``compat_fixtures.require``)."""
    require(*paths)
    return paths


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamServer]:
    """A plain HTTP origin on 127.0.0.1 that records what reaches it."""
    with UpstreamServer() as server:
        yield server


MakeReceiver = Callable[..., CallbackReceiver]


@pytest.fixture(scope="module")
def receivers(start_imnot: StartImnot) -> Iterator[MakeReceiver]:
    """Make callback targets on 127.0.0.1 that stay up until the module's proxies stop.

    A receiver records a request before it answers, so closing it as soon as a test
    saw the request could cut the proxy's read of the answer short; keeping them all
    open until the end of the module rules that out.
    """
    made: list[CallbackReceiver] = []

    def make(handler: Handler | None = None, fail_first_n: int = 0) -> CallbackReceiver:
        server = CallbackReceiver(handler, fail_first_n=fail_first_n).start()
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


@pytest.fixture
def receiver(receivers: MakeReceiver) -> CallbackReceiver:
    """A fresh callback target that answers 200 and records every delivery."""
    return receivers()
