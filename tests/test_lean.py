"""The lean engine: exactly the addons it should load, and ``imnot-proxy start`` end to end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e.harness import (
    IMNOT_CLI,
    LOCALHOST,
    Launcher,
    UpstreamServer,
    free_port,
    proxied_request,
    run,
)
from mitmproxy import exceptions
from mitmproxy.options import Options
from mitmproxy.proxy.layers.http import HttpRequestHook
from mitmproxy.test import tflow

from imnot_proxy.lean import LeanMaster

pytestmark = pytest.mark.filterwarnings("error")

# Growing this set costs every request a hook call per addon; see docs/performance.md.
EXPECTED_ADDONS = {
    "TermLog", "Core", "Block", "DisableH2C", "Proxyserver", "NextLayer", "TlsConfig",
    "UpstreamAuth", "ErrorCheck", "ImnotProxy",
}


def _names(print_flows: bool) -> list[str]:
    master = LeanMaster(Options(), print_flows=print_flows)
    try:
        return master.addon_names()
    finally:
        master.release_logging()


async def test_lean_master_loads_only_the_expected_addons() -> None:
    names = _names(print_flows=False)
    assert len(names) == len(set(names))
    assert set(names) == EXPECTED_ADDONS
    assert names[-1] == "ImnotProxy"


async def test_print_flows_adds_only_the_dumper() -> None:
    assert set(_names(print_flows=True)) == EXPECTED_ADDONS | {"Dumper"}


async def test_hook_index_calls_implementers_in_order_and_follows_the_chain(
        caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    class Note:
        def __init__(self, name: str, halt: bool = False, fail: bool = False) -> None:
            self.name, self.halt, self.fail = name, halt, fail

        def request(self, flow: object) -> None:
            calls.append(self.name)
            if self.fail:
                raise ValueError("boom")
            if self.halt:
                raise exceptions.AddonHalt

    class Silent:
        pass

    master = LeanMaster(Options())
    try:
        first, halt, last = Note("first", fail=True), Note("halt", halt=True), Note("last")
        master.addons.add(first, Silent())
        await master.addons.trigger_event(HttpRequestHook(tflow.tflow()))
        master.addons.add(halt, last)
        await master.addons.trigger_event(HttpRequestHook(tflow.tflow()))
        master.addons.remove(first)
        await master.addons.trigger_event(HttpRequestHook(tflow.tflow()))
    finally:
        master.release_logging()
    assert calls == ["first", "first", "halt", "halt"]
    assert "Addon error: boom" in caplog.text


def _start_args(tmp_path: Path, write_partner: Callable[..., Path]) -> list[str | Path]:
    write_partner(tmp_path / "partners")
    return ["--host", LOCALHOST, "--partners", tmp_path / "partners", "--db", tmp_path / "lean.db",
            "--confdir", tmp_path / "conf"]


@pytest.fixture
def lean_proxy(tmp_path: Path, write_hello_partner: Callable[..., Path]) -> Iterator[Launcher]:
    with Launcher.imnot_start(tmp_path, *_start_args(tmp_path, write_hello_partner)) as proxy:
        yield proxy


def test_start_serves_http_https_and_passes_others_through(lean_proxy: Launcher,
                                                           tmp_path: Path) -> None:
    proxy = lean_proxy.url
    ca = tmp_path / "conf" / "mitmproxy-ca-cert.pem"

    reply = proxied_request(proxy, "GET", "http://api.acme.test/hello")
    assert (reply.status, reply.json()) == (200, {"hello": "acme"})
    reply = proxied_request(proxy, "GET", "https://api.acme.test/hello", cafile=ca)
    assert (reply.status, reply.json()) == (200, {"hello": "acme"})

    with UpstreamServer(lambda m, p, h, b: (200, {}, {"upstream": p})) as upstream:
        reply = proxied_request(proxy, "GET", f"{upstream.url}/elsewhere?x=1",
                                headers={"X-Imnot-Session": "s1"})
        assert (reply.status, reply.json()) == (200, {"upstream": "/elsewhere?x=1"})
        (seen,) = upstream.requests
        assert seen.headers.get("X-Imnot-Session") is None

    assert lean_proxy.stop() == 0  # SIGTERM
    # A clean close checkpoints SQLite's write-ahead log and removes it.
    assert not (tmp_path / "lean.db-wal").exists()


def test_unknown_option_is_refused_with_a_pointer_to_full(
        tmp_path: Path, write_hello_partner: Callable[..., Path]) -> None:
    done = run([*IMNOT_CLI, "start", *_start_args(tmp_path, write_hello_partner),
                "--port", str(free_port()), "--", "--set", "map_local=x"])
    assert done.returncode == 1
    assert "map_local" in done.stderr and "--full" in done.stderr
