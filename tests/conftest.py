"""Shared fixtures: a settable clock, a temporary store, partner text loading, the small
partner of the process-level tests, and ``addon_context``, the one wrapper around
mitmproxy's unstable ``taddons`` helpers."""

from __future__ import annotations

import contextlib
import shutil
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from mitmproxy.test import taddons
from redis_server import RedisServer  # tests/ is on sys.path, as for store_contract

from imnot_proxy import loader
from imnot_proxy.store import SqliteStore

REPO = Path(__file__).resolve().parents[1]
PARTNERS = REPO / "partners"
HELLO_PARTNER = REPO / "tests" / "e2e" / "partners" / "hello" / "acme.yaml"


class Clock:
    """A clock that moves only when a test says so; inject it wherever time is read."""

    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the whole run (skips, or fails under IMNOT_REQUIRE_REDIS=1,
    when it is not installed). Tests keep apart by key prefix, or flush it."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.shutdown()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "imnot.db", clock=clock)
    yield opened
    opened.close()


def load_text(yaml_text: str, tmp_path: Path, *, name: str = "partner.yaml",
              strict: bool = False) -> loader.LoadResult:
    """Write one partner file (dedented) under ``tmp_path`` and load it."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(yaml_text), encoding="utf-8")
    return loader.load_paths([path], strict=strict)


@pytest.fixture(name="load_text")
def load_text_fixture() -> Callable[..., loader.LoadResult]:
    """``load_text(yaml_text, tmp_path)`` for test modules (conftest is not importable)."""
    return load_text


@pytest.fixture
def partners_dir(tmp_path: Path) -> Path:
    """A private copy of the repository's example partners, safe to edit."""
    target = tmp_path / "partners"
    shutil.copytree(PARTNERS, target)
    return target


def write_hello_partner(folder: Path, *, hosts: Sequence[str] | None = None,
                        datapoints: Sequence[Mapping[str, Any]] = ()) -> Path:
    """Write the partner ``acme`` (``tests/e2e/partners/hello/acme.yaml``) into ``folder``.

    ``GET /hello`` answers ``{"hello": "acme"}``; ``GET /items`` serves an uploaded
    payload. ``hosts`` replaces its host list (``api.acme.test``); ``datapoints`` are
    added after its own. Returns the file written, ``folder / "acme.yaml"``.
    """
    partner = yaml.safe_load(HELLO_PARTNER.read_text(encoding="utf-8"))
    if hosts is not None:
        partner["hosts"] = list(hosts)
    partner["datapoints"] += [dict(datapoint) for datapoint in datapoints]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "acme.yaml"
    path.write_text(yaml.safe_dump(partner, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(name="write_hello_partner", scope="session")
def write_hello_partner_fixture() -> Callable[..., Path]:
    """``write_hello_partner(folder, hosts=..., datapoints=...)``, for any fixture scope."""
    return write_hello_partner


@contextlib.contextmanager
def addon_context(*addons: object) -> Iterator[taddons.context]:
    """``taddons.context`` that never leaks its event loop (mitmproxy < 12.2.1 does)."""
    with taddons.context(*addons) as tctx:
        yield tctx
    loop = tctx.master.event_loop
    if not loop.is_running() and not loop.is_closed():
        loop.close()


@pytest.fixture(name="addon_context")
def addon_context_fixture() -> Callable[..., contextlib.AbstractContextManager]:
    return addon_context
