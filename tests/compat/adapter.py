"""Run the original imnot 1.5.0's own HTTP tests against imnot_proxy.

``scripts/original-suite`` copies this file as ``conftest.py`` beside the ``tests/`` folder
of the unpacked original, in a virtual environment that has the original installed (its
tests import it). Nothing here is imported by imnot_proxy's own test run.

The original's tests build a FastAPI app per test and drive it with Starlette's
``TestClient``; their state lives in a ``SessionStore`` (one SQLite file per test). Here:

* every store (keyed by its database path, as two stores on one file share their state in
  the original) is a *backend*: one ``imnot-proxy start`` process with its own store, on a
  loopback port, answering in base-URL mode. A fresh process per store is what gives each
  test the empty state it expects: payloads, rate-limit buckets and ids cannot be wiped
  through the admin API;
* an app's routes come from ``register_routes``/``create_app`` (a partners directory, or
  the directory its partner files were loaded from) or from the pattern handler factories
  mounted with ``app.add_api_route`` (turned into generated partner files). The proxy's
  partners directory is a symbolic link pointed at that directory, then reloaded, so the
  tests' own file edits, ``POST /imnot/admin/partners`` and ``POST /imnot/admin/reload``
  act on the same files as they would in the original. An app with neither partners nor
  a directory gets a link to a missing directory, like ``imnot start`` without one;
* ``TestClient(app)`` is an ``httpx.Client`` that sends each request to the app's backend;
* ``SessionStore`` writes (``store_global_payload``, ``store_session_payload``) go through
  the admin API. Any other use of the store reads the original's internals and fails with
  ``InternalsUsed``, so those tests show up as expected differences with reason
  "internals".

Selection: a test is run when it drives an app over HTTP, that is when its body, a helper
it calls, or a fixture it uses (directly or through other fixtures or helpers) constructs
``TestClient``. The rest are deselected.

Environment (set by the gate): ``IMNOT_COMPAT_PROXY`` (JSON argv that runs ``imnot-proxy``),
or ``IMNOT_COMPAT_PYTHON`` and ``IMNOT_COMPAT_FORKSERVER`` (the proxy's Python and
``forkserver.py``, to fork the proxies from a pre-imported interpreter);
``IMNOT_COMPAT_WORK`` (a scratch directory); ``IMNOT_COMPAT_RESULTS`` (where the per-test
outcomes are written as JSON).
"""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import os
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import fastapi
import fastapi.testclient
import httpx
import imnot.api.server as original_server
import imnot.engine.patterns.async_ as original_polling
import imnot.engine.patterns.fetch as original_fetch
import imnot.engine.patterns.oauth as original_oauth
import imnot.engine.patterns.paginated as original_paginated
import imnot.engine.patterns.push as original_callback
import imnot.engine.patterns.static as original_static
import imnot.engine.router as original_router
import imnot.engine.session_store as original_session_store
import pytest
import starlette.testclient
import yaml

PROXY_ARGV: list[str] = json.loads(os.environ.get("IMNOT_COMPAT_PROXY", '["imnot-proxy"]'))
PYTHON = os.environ.get("IMNOT_COMPAT_PYTHON")  # with a fork server: the proxy's Python
FORKSERVER = os.environ.get("IMNOT_COMPAT_FORKSERVER")
WORK = Path(os.environ.get("IMNOT_COMPAT_WORK") or "/tmp/imnot-compat")
RESULTS = os.environ.get("IMNOT_COMPAT_RESULTS")
START_TIMEOUT = 30.0
DEFAULT_LIMIT = 50


class AdapterError(RuntimeError):
    """The adapter could not reproduce what the test set up (a message for the summary)."""


class InternalsUsed(AdapterError):
    """The test reaches into the original's internals, which a proxy does not have."""


# --------------------------------------------------------------------------- processes


class Spawned:
    """A proxy process started as a child of this one."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, cwd: Path):
        with open(log, "ab") as out:
            self.proc = subprocess.Popen([*PROXY_ARGV, *argv], stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ForkServer:
    """``forkserver.py`` in the proxy's environment: forks ``imnot-proxy start`` children
    from an interpreter that has already imported it (about 0.05 s instead of 1 s each)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([PYTHON, FORKSERVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        hello = json.loads(self.proc.stdout.readline() or "{}")
        if "ready" not in hello:
            raise AdapterError(f"fork server did not start: {hello}")

    def call(self, request: dict) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Forked:
    """A proxy process forked by the fork server."""

    server: ForkServer | None = None

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, cwd: Path):
        if Forked.server is None:
            Forked.server = ForkServer()
        self.pid = Forked.server.call(
            {"start": argv, "env": env, "log": str(log), "cwd": str(cwd)})["pid"]
        self.stopped = False

    def alive(self) -> bool:
        """Running and not a zombie (the fork server reaps it only when told to stop it)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return not self.stopped
        state = next((line for line in status.splitlines() if line.startswith("State:")), "")
        return not self.stopped and "Z" not in state.split()[1:2]

    def stop(self) -> None:
        if not self.stopped and Forked.server is not None:
            Forked.server.call({"stop": self.pid})
        self.stopped = True


def launcher() -> type:
    return Forked if PYTHON and FORKSERVER else Spawned


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Config:
    """What a proxy process is started with (the rest is changed by reloading)."""

    admin_key: str | None = None
    default_limit: int = DEFAULT_LIMIT
    ui: bool = True  # the original's UIConfig: enabled, default_theme
    ui_theme: str = "dark"


_slot_ids = itertools.count(1)


class Slot:
    """One proxy process with its store, its log and its partners link."""

    def __init__(self, config: Config):
        self.config = config
        self.dir = WORK / f"proxy-{next(_slot_ids)}"
        self.dir.mkdir(parents=True)
        self.link = self.dir / "partners"
        self.empty = self.dir / "empty"
        self.empty.mkdir()
        self.link.symlink_to(self.empty)
        self.target: Path = self.empty
        self.port = _free_port()
        self.proc: Spawned | Forked | None = None
        self.log = self.dir / "proxy.log"
        self.launch()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        argv = ["start", "--host", "127.0.0.1", "--port", str(self.port),
                "--partners", str(self.link), "--db", str(self.dir / "imnot.db"),
                "--confdir", str(WORK / "confdir"), "--no-watch", "--",
                "-q", "--set", f"imnot_default_limit={self.config.default_limit}",
                "--set", f"imnot_ui={str(self.config.ui).lower()}",
                "--set", f"imnot_ui_theme={self.config.ui_theme}"]
        env = {k: v for k, v in os.environ.items() if k != "IMNOT_ADMIN_KEY"}
        if self.config.admin_key:
            env["IMNOT_ADMIN_KEY"] = self.config.admin_key
        self.proc = launcher()(argv, env, self.log, self.dir)
        self.ready = False

    def wait_ready(self) -> None:
        if self.ready:
            return
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc is None or not self.proc.alive():
                break
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1.0).status_code == 200:
                    self.ready = True
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        self.stop()
        raise AdapterError(f"imnot-proxy did not start on port {self.port}: {tail}")

    def restart(self, config: Config) -> None:
        """Same store and partners, other start options (the store keeps the state)."""
        self.stop()
        self.config = config
        self.launch()

    def point_at(self, target: Path) -> None:
        """Make the partners link name ``target`` (atomically) and reload."""
        tmp = self.dir / "partners.new"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target.resolve())
        tmp.replace(self.link)
        reply = self.admin("POST", "/imnot/admin/reload")
        if reply.status_code != 200 and target.exists():  # a missing directory is the point
            raise AdapterError(f"imnot_proxy refused the test's partner files in {target}: "
                               f"{reply.status_code} {reply.text}")
        self.target = target

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.config.admin_key:
            headers["Authorization"] = f"Bearer {self.config.admin_key}"
        return httpx.request(method, self.base + path, headers=headers, timeout=30.0, **kwargs)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        self.ready = False
        if proc is not None:
            proc.stop()


class Pool:
    """Keeps one proxy starting in the background, so a test rarely waits for a start-up.

    The spare is started with the configuration last asked for: consecutive tests tend to
    use the same one.
    """

    def __init__(self) -> None:
        self.spare: Slot | None = None

    def take(self, config: Config) -> Slot:
        slot, self.spare = self.spare, None
        if slot is None or slot.config != config:
            if slot is not None:
                slot.stop()
            slot = Slot(config)
        slot.wait_ready()  # before the next one starts: the first start writes the CA
        self.spare = Slot(config)
        return slot

    def close(self) -> None:
        if self.spare is not None:
            self.spare.stop()
            self.spare = None


POOL = Pool()


# --------------------------------------------------------------------------- what an app serves


@dataclass
class Mounted:
    """A handler made by one of the original's pattern factories, mounted on an app."""

    pattern: str
    partner: str
    datapoint: str
    endpoint: Any  # the original's EndpointDef
    pagination: dict | None
    path: str
    methods: list[str]


@dataclass(eq=False)  # one per app, compared by identity
class AppInfo:
    app: Any
    store: CompatStore | None = None
    registered: bool = False  # register_routes / create_app
    partners_dir: Path | None = None
    partners: list = field(default_factory=list)
    admin_key: str | None = None
    default_limit: int = DEFAULT_LIMIT
    ui_config: Any = None  # the original's UIConfig, or None for its defaults
    mounted: list[Mounted] = field(default_factory=list)
    generated: dict[str, Path] = field(default_factory=dict)  # files -> their directory

    def config(self) -> Config:
        ui = self.ui_config
        if ui is None:
            return Config(self.admin_key, self.default_limit)
        return Config(self.admin_key, self.default_limit, ui.enabled, ui.default_theme)

    def target(self, scratch: Path) -> Path:
        """The directory this app's partner files are in (written for mounted handlers)."""
        if self.registered and self.mounted:
            raise AdapterError("an app with both register_routes and mounted handlers")
        if self.mounted:
            files = yaml_files(self.mounted)
            key = json.dumps(files, sort_keys=True)
            if key not in self.generated:
                where = scratch / f"generated-{next(_generated_ids)}"
                for name, body in files.items():
                    (where / name).mkdir(parents=True)
                    (where / name / "partner.yaml").write_text(body)
                self.generated[key] = where
            return self.generated[key]
        if self.partners_dir is not None:
            return Path(self.partners_dir)
        dirs = {Path(p.source_path).parent.parent for p in self.partners}
        if len(dirs) > 1:
            raise AdapterError(f"partners loaded from several directories: {sorted(dirs)}")
        if dirs:  # served from where they were loaded (the app itself has no directory)
            return dirs.pop()
        if self.registered:  # no partners and no directory: `imnot start` without one
            return scratch / "no-partners-directory"
        return scratch / "empty"


APPS: dict[int, AppInfo] = {}
_generated_ids = itertools.count(1)


def app_info(app: Any) -> AppInfo:
    info = APPS.get(id(app))
    if info is None or info.app is not app:
        info = APPS[id(app)] = AppInfo(app)
    return info


def _endpoint_yaml(mounted: Mounted, method: str) -> dict:
    ep = mounted.endpoint
    out: dict[str, Any] = {"method": method, "path": mounted.path}
    if ep.step is not None:
        out["step"] = ep.step
    out["response"] = dict(ep.response or {})
    if ep.validate is not None:
        out["validate"] = ep.validate
    if ep.rate_limit is not None:
        out["rate_limit"] = ep.rate_limit
    return out


def yaml_files(mounted: list[Mounted]) -> dict[str, str]:
    """Partner files (by partner name) declaring the mounted handlers, as the original's
    loader would have parsed them."""
    partners: dict[str, dict[str, dict]] = {}
    for m in mounted:
        datapoints = partners.setdefault(m.partner, {})
        dp = datapoints.setdefault(m.datapoint, {"name": m.datapoint, "pattern": m.pattern,
                                                 "endpoints": []})
        if m.pagination is not None:
            dp["pagination"] = m.pagination
        dp["endpoints"] += [_endpoint_yaml(m, method) for method in m.methods]
    return {name: yaml.safe_dump({"partner": name, "datapoints": list(dps.values())},
                                 sort_keys=False)
            for name, dps in partners.items()}


# --------------------------------------------------------------------------- backends


class Backend:
    """The proxy standing in for one original store (and the apps built on it)."""

    def __init__(self, key: str):
        self.key = key
        self.slot: Slot | None = None
        self.apps: list[AppInfo] = []

    def attach(self, info: AppInfo) -> None:
        self.apps = [a for a in self.apps if a is not info]
        self.apps.append(info)  # the last attached app is the one store writes go to

    def ensure(self, info: AppInfo | None = None) -> Slot:
        """Make the proxy serve ``info``'s routes (by default the last attached app)."""
        info = info or (self.apps[-1] if self.apps else AppInfo(None))
        config = info.config()
        if self.slot is None:
            self.slot = POOL.take(config)
        elif self.slot.config != config:
            self.slot.restart(config)
            self.slot.wait_ready()
        target = info.target(self.slot.dir)
        if target != self.slot.target:
            self.slot.point_at(target)
        return self.slot

    def stop(self) -> None:
        if self.slot is not None:
            self.slot.stop()
            self.slot = None


BACKENDS: dict[str, Backend] = {}


def backend_for_store(db_path: Any) -> Backend:
    key = str(Path(db_path).absolute())
    return BACKENDS.setdefault(key, Backend(key))


def backend_for_app(info: AppInfo) -> Backend:
    if info.store is not None:
        return info.store.backend
    return BACKENDS.setdefault(f"app-{id(info.app)}", Backend(f"app-{id(info.app)}"))


# --------------------------------------------------------------------------- stand-ins


class CompatStore:
    """Stands in for the original's ``SessionStore``: writes go through the admin API."""

    def __init__(self, db_path: Any = original_session_store.DEFAULT_DB_PATH) -> None:
        self.db_path = Path(db_path)
        self.backend = backend_for_store(db_path)

    def init(self) -> None:
        pass

    def close(self) -> None:
        pass

    def _post(self, path: str, payload: Any) -> httpx.Response:
        slot = self.backend.ensure()
        reply = slot.admin("POST", path, json=payload)
        if reply.status_code != 200:
            raise AdapterError(f"admin POST {path} answered {reply.status_code} {reply.text}")
        return reply

    def store_global_payload(self, partner: str, datapoint: str, payload: Any) -> None:
        self._post(f"/imnot/admin/{partner}/{datapoint}/payload", payload)

    def store_session_payload(self, partner: str, datapoint: str, payload: Any) -> str:
        reply = self._post(f"/imnot/admin/{partner}/{datapoint}/payload/session", payload)
        return reply.json()["session_id"]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise InternalsUsed(f"the test reads the original's store: SessionStore.{name}")


class CompatClient(httpx.Client):
    """Stands in for Starlette's ``TestClient``: the same requests, sent to the proxy."""

    __test__ = False  # the tests import it as ``TestClient``

    def __init__(self, app: Any, base_url: str = "http://testserver",
                 raise_server_exceptions: bool = True, root_path: str = "",
                 backend: str = "asyncio", backend_options: Any = None,
                 cookies: Any = None, headers: Any = None, follow_redirects: bool = True,
                 client: Any = None) -> None:
        super().__init__(headers=headers, cookies=cookies, follow_redirects=follow_redirects,
                         timeout=30.0, limits=httpx.Limits(max_keepalive_connections=0))
        self.app = app
        self.info = app_info(app)
        self.backend = backend_for_app(self.info)
        self.backend.attach(self.info)

    def request(self, method: str, url: Any, **kwargs: Any) -> httpx.Response:
        slot = self.backend.ensure(self.info)
        parts = urlsplit(str(url))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, slot.base + target, **kwargs)

    def __enter__(self) -> CompatClient:
        return self


def compat_register_routes(app: Any, partners: list, store: Any, admin_key: str | None = None,
                           partners_dir: Path | None = None, base_url: str = "",
                           default_limit: int = DEFAULT_LIMIT, ui_config: Any = None) -> None:
    info = app_info(app)
    info.registered, info.partners, info.store = True, list(partners), store
    info.admin_key, info.partners_dir, info.default_limit = admin_key, partners_dir, default_limit
    info.ui_config = ui_config
    store.backend.attach(info)


def compat_create_app(partners_dir: Path | None = original_server.DEFAULT_PARTNERS_DIR,
                      db_path: Path = original_server.DEFAULT_DB_PATH,
                      admin_key: str | None = None, base_url: str = "",
                      default_limit: int = DEFAULT_LIMIT, ui_config: Any = None) -> Any:
    app = fastapi.FastAPI(title="imnot")
    compat_register_routes(app, [], CompatStore(db_path), admin_key=admin_key,
                           partners_dir=partners_dir, default_limit=default_limit,
                           ui_config=ui_config)
    return app


def _tagging(factory: Callable, pattern: str) -> Callable:
    """Wrap a pattern factory: same handler, tagged with what it serves."""
    signature = inspect.signature(factory)

    def make(*args: Any, **kwargs: Any) -> Any:
        handler = factory(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        dp = a.get("datapoint")  # a DatapointDef; static gets a name, oauth nothing
        handler.__imnot_compat__ = {
            "pattern": pattern,
            "partner": a.get("partner") or a.get("partner_name") or "oauthpartner",
            "datapoint": dp.name if dp is not None else a.get("dp_name") or "token",
            "endpoint": a["endpoint"], "store": a.get("store"),
            "pagination": getattr(dp, "pagination", None) if pattern == "paginated" else None,
            "default_limit": a.get("default_limit"),
        }
        return handler

    make.__wrapped__ = factory
    return make


def _tagging_polling(factory: Callable) -> Callable:
    def make(partner: str, datapoint: Any, store: Any) -> dict:
        handlers = factory(partner, datapoint, store)
        for endpoint in datapoint.endpoints:
            handlers[endpoint.step].__imnot_compat__ = {
                "pattern": "polling", "partner": partner, "datapoint": datapoint.name,
                "endpoint": endpoint, "store": store, "pagination": None, "default_limit": None}
        return handlers

    return make


_original_add_api_route = fastapi.FastAPI.add_api_route


def _add_api_route(self: Any, path: str, endpoint: Callable, **kwargs: Any) -> None:
    tag = getattr(endpoint, "__imnot_compat__", None)
    if tag is not None:
        info = app_info(self)
        info.mounted.append(Mounted(tag["pattern"], tag["partner"], tag["datapoint"],
                                    tag["endpoint"], tag["pagination"], path,
                                    [m.upper() for m in kwargs.get("methods") or ["GET"]]))
        if tag["default_limit"] is not None:
            info.default_limit = tag["default_limit"]
        if tag["store"] is not None:
            info.store = tag["store"]
            tag["store"].backend.attach(info)
    return _original_add_api_route(self, path, endpoint, **kwargs)


def install() -> None:
    """Swap the original's app, store and client for the stand-ins (before tests import)."""
    fastapi.testclient.TestClient = CompatClient
    starlette.testclient.TestClient = CompatClient
    original_session_store.SessionStore = CompatStore
    original_router.register_routes = compat_register_routes
    original_server.create_app = compat_create_app
    fastapi.FastAPI.add_api_route = _add_api_route
    original_fetch.make_fetch_handler = _tagging(original_fetch.make_fetch_handler, "fetch")
    original_paginated.make_paginated_handler = _tagging(
        original_paginated.make_paginated_handler, "paginated")
    original_callback.make_push_handler = _tagging(original_callback.make_push_handler,
                                                   "callback")
    original_static.make_static_handler = _tagging(original_static.make_static_handler,
                                                   "static")
    original_oauth.make_oauth_handler = _tagging(original_oauth.make_oauth_handler, "oauth")
    original_polling.make_async_handlers = _tagging_polling(original_polling.make_async_handlers)


install()


# --------------------------------------------------------------------------- selection


class _ModuleCalls:
    """Which module-level functions of a test file construct ``TestClient``, directly or
    through other module-level functions they call."""

    def __init__(self, path: Path):
        tree = ast.parse(path.read_text())
        self.functions: dict[str, ast.AST] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions.setdefault(node.name, node)
        self.memo: dict[str, bool] = {}

    @staticmethod
    def _called(node: ast.AST) -> set[str]:
        names = set()
        for call in ast.walk(node):
            if isinstance(call, ast.Call):
                func = call.func
                if isinstance(func, ast.Name):
                    names.add(func.id)
                elif isinstance(func, ast.Attribute):
                    names.add(func.attr)
        return names

    def uses_client(self, name: str, seen: frozenset = frozenset()) -> bool:
        if name in self.memo:
            return self.memo[name]
        node = self.functions.get(name)
        if node is None or name in seen:
            return False
        called = self._called(node)
        result = "TestClient" in called or any(
            self.uses_client(c, seen | {name}) for c in called)
        self.memo[name] = result
        return result


_modules: dict[Path, _ModuleCalls] = {}


def drives_http(item: pytest.Item) -> bool:
    path = Path(str(item.fspath))
    calls = _modules.get(path)
    if calls is None:
        calls = _modules[path] = _ModuleCalls(path)
    function = getattr(item, "originalname", None) or item.name.split("[")[0]
    return calls.uses_client(function) or any(
        calls.uses_client(name) for name in getattr(item, "fixturenames", ()))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = [item for item in items if drives_http(item)]
    kept = {id(item) for item in selected}
    deselected = [item for item in items if id(item) not in kept]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = selected
    _results["collected"] = len(selected) + len(deselected)
    _results["selected"] = [item.nodeid for item in selected]


# --------------------------------------------------------------------------- running and results


_results: dict[str, Any] = {"collected": 0, "selected": [], "outcomes": {}}


@pytest.fixture(autouse=True)
def _fresh_backends():
    """Every test starts with no proxies; the ones it started are stopped after it."""
    yield
    for backend in BACKENDS.values():
        backend.stop()
    BACKENDS.clear()
    APPS.clear()


def _first_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    outcomes = _results["outcomes"]
    entry = outcomes.setdefault(report.nodeid, {"outcome": "passed", "message": ""})
    if report.failed and entry["outcome"] != "failed":
        entry["outcome"] = "failed"
        entry["message"] = f"{report.when}: {_first_line(report)}"
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    POOL.close()
    for backend in BACKENDS.values():
        backend.stop()
    if RESULTS:
        Path(RESULTS).write_text(json.dumps(_results, indent=1))


def pytest_unconfigure(config: pytest.Config) -> None:
    POOL.close()
    if Forked.server is not None:
        Forked.server.close()
        Forked.server = None
