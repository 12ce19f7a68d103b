"""The pytest plugin (entry point ``pytest11: imnot``): imnot_proxy as fixtures.

- ``imnot_server`` (run-wide): the proxy with the project's partners, started on first use
  in a subprocess on a free port and shared by every pytest-xdist worker, or the one at
  ``--imnot-url``;
- ``imnot`` (per test): an isolated session on it (``session.Imnot``), deleted afterwards;
- ``@pytest.mark.imnot(payloads={...}, env=True, strict=...)``;
- ``--imnot-strict``: a partner request of the test's session that matched no route fails
  the test;
- a failed test's report gets its session's request log.

Nothing happens in a run that uses none of the fixtures: the proxy starts on first use,
and this module imports only the standard library and pytest until then.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .server import ServerInfo
    from .session import Imnot

SESSION_KEY = pytest.StashKey["Imnot"]()
RUN_DIR = "imnot_run_dir"  # workerinput keys, from the xdist controller to its workers
OWNER = "imnot_owner_pid"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("imnot", "imnot_proxy partner mocks")
    group.addoption("--imnot-url", help="use the imnot proxy running at this URL instead of "
                                         "starting one (ini: imnot_url)")
    group.addoption("--imnot-partners", help="partner files of the proxy the run starts "
                                              "(ini: imnot_partners; default: <rootdir>/partners)")
    group.addoption("--imnot-strict", action="store_true", default=None,
                    help="fail a test whose session made a partner request that matched no "
                         "route (ini: imnot_strict)")
    group.addoption("--imnot-ca", help="CA certificate of the proxy at --imnot-url "
                                        "(default: ~/.mitmproxy/mitmproxy-ca-cert.pem if present)")
    group.addoption("--imnot-key", help="admin key of the proxy (default: $IMNOT_ADMIN_KEY)")
    parser.addini("imnot_url", "use the imnot proxy running at this URL")
    parser.addini("imnot_partners", "partner files of the proxy the run starts", type="paths")
    parser.addini("imnot_strict", "fail tests whose partner requests matched no route",
                  type="bool", default=False)
    parser.addini("imnot_options", "more proxy options (NAME=VALUE) for the proxy the run "
                                   "starts", type="linelist")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "imnot(payloads=None, env=False, strict=None): payloads to upload into the "
                   "test's session ({'partner/datapoint': body}), env=True to set HTTPS_PROXY "
                   "and the CA variables for the test, strict to override --imnot-strict")


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's main process stops the proxy the run started (workers never do)."""
    if hasattr(config, "workerinput"):
        return
    run_dir = config.stash.get(_RUN_DIR_KEY, None)
    if run_dir is None:
        return
    from . import server

    try:
        server.stop(run_dir)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


_RUN_DIR_KEY = pytest.StashKey[Path]()


def _run_dir(config: pytest.Config) -> Path:
    """The directory the run's processes share (made by the main process)."""
    worker = getattr(config, "workerinput", None)
    if worker is not None and worker.get(RUN_DIR):
        return Path(worker[RUN_DIR])
    if _RUN_DIR_KEY not in config.stash:
        config.stash[_RUN_DIR_KEY] = Path(tempfile.mkdtemp(prefix="imnot-pytest-"))
    return config.stash[_RUN_DIR_KEY]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, in the main process: tell each worker where the run's proxy is kept."""
    node.workerinput[RUN_DIR] = str(_run_dir(node.config))
    node.workerinput[OWNER] = os.getpid()


def _option(config: pytest.Config, name: str) -> Any:
    value = config.getoption(f"imnot_{name}")
    return value if value is not None else config.getini(f"imnot_{name}")


@pytest.fixture(scope="session")
def imnot_server(pytestconfig: pytest.Config) -> ServerInfo:
    """The run's imnot proxy (see the module docstring); ``url``, ``ca_cert``, ``ca_bundle``."""
    from . import server

    key = pytestconfig.getoption("imnot_key") or os.environ.get("IMNOT_ADMIN_KEY")
    url = _option(pytestconfig, "url")
    try:
        if url:
            ca = pytestconfig.getoption("imnot_ca")
            default_ca = Path("~/.mitmproxy/mitmproxy-ca-cert.pem").expanduser()
            if ca is None and default_ca.is_file():
                ca = str(default_ca)
            return server.attach(url, key, ca, _run_dir(pytestconfig))
        partners = pytestconfig.getoption("imnot_partners")
        if partners is None:
            configured = pytestconfig.getini("imnot_partners")
            partners = configured[0] if configured else pytestconfig.rootpath / "partners"
        worker = getattr(pytestconfig, "workerinput", {})
        spec = server.StartSpec(Path(partners), int(worker.get(OWNER, os.getpid())),
                                tuple(pytestconfig.getini("imnot_options")))
        return server.shared(_run_dir(pytestconfig), spec, key)
    except server.ServerError as exc:
        pytest.fail(f"imnot: {exc}", pytrace=False)


@pytest.fixture
def imnot(imnot_server: ServerInfo, request: pytest.FixtureRequest) -> Iterator[Imnot]:
    """This test's own session on the run's proxy (``imnot_proxy.testing.Imnot``)."""
    from ..client import AdminClient
    from .session import Imnot, ImnotError, session_name

    key = request.config.getoption("imnot_key") or os.environ.get("IMNOT_ADMIN_KEY")
    client = AdminClient(imnot_server.url, key)
    name = session_name(request.node.name)
    session = Imnot(imnot_server, client, name)
    try:
        session._call("POST", "/imnot/admin/sessions", json.dumps({"session_id": name}).encode())
    except ImnotError as exc:
        pytest.fail(f"imnot: cannot open a session: {exc}", pytrace=False)
    request.node.stash[SESSION_KEY] = session
    marker = request.node.get_closest_marker("imnot")
    options = marker.kwargs if marker is not None else {}
    try:
        session.payloads(options.get("payloads") or {})
        if options.get("env"):
            with session.env():
                yield session
        else:
            yield session
    finally:
        session.close()


def _strict(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("imnot")
    if marker is not None and marker.kwargs.get("strict") is not None:
        return bool(marker.kwargs["strict"])
    return bool(_option(item.config, "strict"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    result = yield
    session = item.stash.get(SESSION_KEY, None)
    if session is not None and _strict(item):
        misses = session.misses()
        if misses:
            from .calls import format_calls

            pytest.fail(f"imnot strict: {len(misses)} partner request(s) matched no route "
                        f"(--imnot-strict)\n{format_calls(misses, session.session)}",
                        pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    session = item.stash.get(SESSION_KEY, None)
    if session is not None and report.failed:
        try:
            text = session.log()
        except Exception as exc:  # noqa: BLE001 - the report must not fail in turn
            text = f"could not read the journal: {exc}"
        report.sections.append((f"imnot requests (session {session.session})", text))
    return report
