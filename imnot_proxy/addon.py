"""mitmproxy glue: options, hooks and commands around the engine, nothing more.

``request`` decides in one place what a flow is: the admin API (admin host,
or an admin path sent straight to the proxy port), a partner route (mocked),
a partner host or direct request without a route (``imnot_unmatched``), or
anything else (untouched). The engine is swapped as a whole on reload, so a
request sees the old table or the new one, never a mix.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import gc
import ipaddress
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Optional

from mitmproxy import command, ctx, exceptions, http
from mitmproxy import types as mtypes
from mitmproxy.net.http import status_codes
from mitmproxy.proxy import mode_specs

from . import loader, watch
from .admin import AdminApi, AdminService, ReloadReport, diff_routes
from .clock import now_iso
from .engine import Engine, EngineSettings, Mocked, Unmatched
from .errors import RequestError, StoreError
from .interception import allow_patterns
from .jsonlog import FLOW_FIELD, use_json_logs
from .messages import MockResponse, RequestView, encode_json
from .recording.har import from_flow
from .recording.recorder import Recorder, partner_name_for
from .recording.redact import Redactor
from .routing import Match, Miss
from .seeding import seed_payloads
from .store import Store, open_store

logger = logging.getLogger("imnot_proxy")

SESSION_HEADER = "X-Imnot-Session"
REASONS = {code: text.encode() for code, text in status_codes.RESPONSES.items()}
# mitmproxy enforces choices= for command-line flags only, not for --set or the set command.
CHOICES = {
    "imnot_unmatched": ("404", "passthrough", "record"),
    "imnot_mode": ("mock", "record"),
    "imnot_intercept": ("partners", "all"),
}
WATCH_INTERVAL = 1.0
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "::",
                         socket.gethostname().lower(), socket.getfqdn().lower()})


class ImnotProxy:
    """Answers partner hosts from partner YAML; leaves every other flow alone."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.store: Store | None = None
        self.admin: AdminApi | None = None
        self._report: ReloadReport | None = None
        self._journal: deque[dict] = deque(maxlen=500)
        self._connect_sessions: dict[str, str] = {}
        self._tasks: set[asyncio.Task] = set()
        self._watcher: asyncio.Task | None = None
        self._recording: Recorder | None = None
        self._admin_host = "imnot.proxy"
        self._unmatched = "404"
        self._mode = "mock"
        self._log_passthrough = False
        self._upstream_login: str | None = None
        self._flow_log = True
        self._record_exact: frozenset[str] = frozenset()
        self._record_suffixes: tuple[str, ...] = ()

    # --- lifecycle --------------------------------------------------------------

    def load(self, loader_: Any) -> None:
        loader_.add_option(
            "imnot_partners", Sequence[str], ["partners"],
            "Partner definitions: directories (holding */partner.yaml or *.yaml) or files.",
        )
        loader_.add_option(
            "imnot_db", str, "",
            "State store: a SQLite file path or sqlite:///path. "
            "Default: imnot.db beside the (first) partners directory.",
        )
        loader_.add_option(
            "imnot_unmatched", str, "404",
            "What a request for a partner host with no matching route gets: "
            "404 (a JSON error naming the closest routes), passthrough (sent upstream), "
            "or record (spy mode: sent upstream and recorded).",
            choices=["404", "passthrough", "record"],
        )
        loader_.add_option(
            "imnot_mode", str, "mock",
            "mock: answer partner hosts from the partner files; record: forward them to the "
            "real partner and record every exchange (a partner's `mode:` overrides this).",
            choices=["mock", "record"],
        )
        loader_.add_option(
            "imnot_record_hosts", Sequence[str], [],
            "Hosts (or *.suffix) to forward and record even though no partner file names them.",
        )
        loader_.add_option(
            "imnot_recordings", str, "",
            "Directory for recorded HAR files. Default: recordings/ beside the partners directory.",
        )
        loader_.add_option(
            "imnot_redact_headers", Sequence[str], [],
            "More header names to redact in recordings (Authorization, cookies and API-key "
            "headers always are).",
        )
        loader_.add_option(
            "imnot_redact_fields", Sequence[str], [],
            "More JSON/form/query field names to redact in recordings (passwords, secrets and "
            "tokens always are).",
        )
        loader_.add_option(
            "imnot_admin_host", str, "imnot.proxy",
            "Virtual host that serves the admin API through the proxy.",
        )
        loader_.add_option(
            "imnot_admin_key", Optional[str], None,  # noqa: UP045 - mitmproxy option type
            "Bearer key for the admin API (default: the IMNOT_ADMIN_KEY environment variable). "
            "Without a key the admin API is open.",
        )
        loader_.add_option(
            "imnot_intercept", str, "partners",
            "Which HTTPS connections to decrypt: partners (partner, admin and recorded hosts; "
            "every other CONNECT passes through as opaque TLS) or all (mitmproxy's default).",
            choices=["partners", "all"],
        )
        loader_.add_option(
            "imnot_upstream_auth", Optional[str], None,  # noqa: UP045 - mitmproxy option type
            "user:password for the upstream proxy of --mode upstream: (imnot-proxy start "
            "--upstream http://user:pass@host:port). Unlike upstream_auth, it leaves the "
            "client's own proxy credentials free to name the session.",
        )
        loader_.add_option(
            "imnot_json_logs", bool, False,
            "Write imnot_proxy's log lines to stderr as JSON objects, for log shippers.",
        )
        loader_.add_option(
            "imnot_log_passthrough", bool, False,
            "Also log one line per request that passes through untouched.",
        )
        loader_.add_option(
            "imnot_watch", bool, False,
            "Reload the partner files when they change on disk.",
        )
        loader_.add_option(
            "imnot_callback_allow", Sequence[str], [],
            "Hosts (or *.suffix) that callbacks may be sent to, besides loopback addresses.",
        )
        loader_.add_option(
            "imnot_default_limit", int, 50,
            "Page size of paginated datapoints when the request gives none.",
        )

    def configure(self, updated: set[str]) -> None:
        for name, allowed in CHOICES.items():
            value = getattr(ctx.options, name)
            if name in updated and value not in allowed:
                raise exceptions.OptionsError(
                    f"Cannot parse {name} option {value}: must be one of {', '.join(allowed)}")
        if "connection_strategy" in updated and ctx.options.connection_strategy != "lazy" \
                and self.engine is not None:
            self.running()
        if "imnot_json_logs" in updated:
            use_json_logs(ctx.options.imnot_json_logs, logger)
        # Read per request, so kept as attributes rather than looked up in ctx.options each time.
        self._admin_host = ctx.options.imnot_admin_host
        self._unmatched = ctx.options.imnot_unmatched
        self._mode = ctx.options.imnot_mode
        self._log_passthrough = ctx.options.imnot_log_passthrough
        self._upstream_login = _basic(ctx.options.imnot_upstream_auth)
        verbosity = getattr(ctx.options, "termlog_verbosity", "info")
        # A flow line nobody prints still costs a trip through every addon: skip it then.
        self._flow_log = ctx.options.imnot_json_logs or verbosity in ("info", "debug")
        if "imnot_db" in updated or "imnot_partners" in updated or self.store is None:
            self._open_store()
        if updated & {"imnot_partners", "imnot_db", "imnot_default_limit",
                      "imnot_callback_allow"} or self.engine is None:
            self.reload(initial=self.engine is None)
        if updated & {"imnot_recordings", "imnot_redact_headers", "imnot_redact_fields",
                      "imnot_partners"} and self._recording is not None:
            self._recording.close()
            self._recording = None
        if updated & {"imnot_intercept", "imnot_admin_host", "imnot_record_hosts"}:
            if ctx.options.imnot_intercept == "all" and "imnot_intercept" in updated:
                ctx.options.update(allow_hosts=[])
            self._sync_hosts()
        if "imnot_record_hosts" in updated:
            hosts = [h.strip().lower() for h in ctx.options.imnot_record_hosts if h.strip()]
            self._record_exact = frozenset(h for h in hosts if not h.startswith("*."))
            self._record_suffixes = tuple(h[1:] for h in hosts if h.startswith("*."))
        if "imnot_watch" in updated and self._watcher is not None and not ctx.options.imnot_watch:
            self._watcher.cancel()
            self._watcher = None
        if ctx.options.imnot_watch and self._watcher is None and _loop_running():
            self._watcher = self._spawn(self._watch(), "imnot watch")

    def running(self) -> None:
        gc.freeze()  # the loaded tables are long-lived: keep them out of every GC pass
        if ctx.options.connection_strategy != "lazy":
            logger.warning(
                "imnot_proxy: connection_strategy is %r; use 'lazy' so that mocking never "
                "contacts (or needs) the real partner host", ctx.options.connection_strategy)
        listen = ctx.options.listen_host
        if listen not in ("127.0.0.1", "localhost", "::1") and not self.admin_key():
            logger.warning(
                "imnot_proxy: WARNING: listening on %s without an admin key: anyone who can "
                "reach the port can change the mocks. Set imnot_admin_key or IMNOT_ADMIN_KEY.",
                listen or "all interfaces")
        if ctx.options.imnot_watch and self._watcher is None:
            self._watcher = self._spawn(self._watch(), "imnot watch")

    def done(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._recording is not None:
            self._recording.close()
        if self.store is not None:
            self.store.close()

    def _open_store(self) -> None:
        target = ctx.options.imnot_db or str(default_db(ctx.options.imnot_partners))
        try:
            store = open_store(target)
        except (StoreError, ValueError) as exc:
            raise exceptions.OptionsError(f"Cannot open imnot_db {target}: {exc}") from exc
        if self.store is not None:
            self.store.close()
        self.store = store
        self.admin = AdminApi(AdminService(self, store))
        self.engine = None

    # --- runtime (used by the admin API and the commands) ----------------------------

    def current_engine(self) -> Engine:
        assert self.engine is not None
        return self.engine

    def reload(self, *, initial: bool = False) -> ReloadReport:
        """Load the partner files and swap the engine, all or nothing.

        At start-up broken files are skipped so the others serve; later, any
        error keeps the last good engine serving.
        """
        result = loader.load_paths(ctx.options.imnot_partners)
        for problem in result.problems:
            logger.warning("imnot_proxy: %s", problem)
        problems = [str(p) for p in result.errors]
        if result.errors and not initial:
            logger.warning("imnot_proxy: reload rejected, the last good definitions keep serving")
            self._report = ReloadReport(False, [s.name for s in result.partners],
                                        problems=problems, at=now_iso())
            return self._report
        return self.apply(result.partners, problems=problems)

    def apply(self, partners: list[loader.PartnerSource], *,
              problems: list[str] | None = None) -> ReloadReport:
        """Build an engine for these partners and swap it in, in one assignment."""
        assert self.store is not None
        settings = EngineSettings(ctx.options.imnot_default_limit, self.dispatch,
                                  self._callback_refusal)
        engine = Engine(partners, self.store, settings)
        seeded = seed_payloads(partners, self.store)
        if seeded:
            logger.info("imnot_proxy: payload files loaded for %s", ", ".join(seeded))
        added, removed = diff_routes(self.engine, engine)
        self.engine = engine
        self._sync_hosts()
        logger.info("imnot_proxy: %d partners, %d routes", len(partners), len(engine.router))
        self._report = ReloadReport(True, [s.name for s in partners], added, removed,
                                    problems or [], now_iso())
        return self._report

    def last_report(self) -> ReloadReport | None:
        return self._report

    def partners_dirs(self) -> list[Path]:
        return [Path(p) for p in ctx.options.imnot_partners if Path(p).is_dir()]

    def journal(self, limit: int) -> list[dict]:
        return [journal_view(e) for e in list(self._journal)[-limit:][::-1]]

    def admin_key(self) -> str | None:
        return ctx.options.imnot_admin_key or os.environ.get("IMNOT_ADMIN_KEY") or None

    def dispatch(self, job: Any) -> None:
        self._spawn(job.run(), "imnot callback")

    def _spawn(self, coro: Any, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _sync_hosts(self) -> None:
        """Keep mitmproxy's TLS interception in step with the partner hosts (interception.py)."""
        if self.engine is None or ctx.options.imnot_intercept != "partners":
            return
        hosts = [*self.engine.hosts(), ctx.options.imnot_admin_host,
                 *ctx.options.imnot_record_hosts]
        patterns = allow_patterns(hosts)
        if list(ctx.options.allow_hosts) != patterns:
            ctx.options.update(allow_hosts=patterns)

    async def _watch(self) -> None:
        previous = watch.signature(ctx.options.imnot_partners)
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            current = watch.signature(ctx.options.imnot_partners)
            if current == previous:
                continue
            await asyncio.sleep(WATCH_INTERVAL / 2)  # let an editor finish writing
            previous = watch.signature(ctx.options.imnot_partners)
            try:
                self.reload()
            except Exception:  # noqa: BLE001 - the watcher must survive anything
                logger.exception("imnot_proxy: reload after a file change failed")

    # --- hooks --------------------------------------------------------------------

    def http_connect(self, flow: http.HTTPFlow) -> None:
        """HTTPS carries the proxy credentials on CONNECT only: keep the user as session."""
        user = proxy_user(flow.request.headers.get("proxy-authorization"))
        if user:
            self._connect_sessions[flow.client_conn.id] = user

    def http_connect_upstream(self, flow: http.HTTPFlow) -> None:
        """The CONNECT that mitmproxy sends to the upstream proxy carries the upstream login."""
        if self._upstream_login:
            flow.request.headers["proxy-authorization"] = self._upstream_login

    def client_disconnected(self, client: Any) -> None:
        self._connect_sessions.pop(client.id, None)

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        engine = self.engine
        if engine is None:
            return
        started = time.perf_counter()
        req = flow.request
        host = req.pretty_host.lower()
        path, _, query = req.path.partition("?")
        direct = self._is_direct(flow, host)
        try:
            if host == self._admin_host or (direct and is_admin_path(path)):
                self._answer(flow, self.admin.handle(self._view(flow, path, query)),  # type: ignore[union-attr]
                             {"admin": True})
                return
            found = engine.router.resolve(host, req.method, path, direct=direct)
            recording = None if direct else self._recording_for(engine, host, found)
            if recording is not None:
                self._start_recording(flow, recording, found)
                return
            if isinstance(found, Miss):
                if not direct and (not found.host_known or self._unmatched == "passthrough"):
                    self._forward(flow)
                    if found.host_known:
                        entry = self._remember(flow, "passthrough", None, started)
                        if self._log_passthrough:
                            logger.info("imnot passthrough %s %s", req.method, req.pretty_url,
                                        extra={FLOW_FIELD: journal_view(entry)})
                    elif self._log_passthrough:
                        logger.info("passthrough %s %s", req.method, req.pretty_url)
                    return
                session = self._session(flow)
                outcome: Any = Unmatched(found, _miss_response(found, req.method, path))
            else:
                session = self._session(flow)
                view = self._view(flow, path, query, session)
                outcome = Mocked(found.route, engine.call(found, view), found.params)
            self._mark(flow, outcome, started, session)
        except Exception as exc:  # noqa: BLE001 - fail closed: never fall through to the partner
            logger.exception("imnot_proxy error on %s %s", req.method, req.pretty_url)
            flow.response = http.Response.make(
                500, encode_json({"detail": f"imnot_proxy error: {exc}"}),
                {"content-type": "application/json"})
            flow.metadata["imnot"] = {"kind": "error", "error": str(exc)}
            flow.comment = f"imnot error: {exc}"

    def response(self, flow: http.HTTPFlow) -> None:
        self._finish_recording(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._finish_recording(flow)

    # --- record mode ------------------------------------------------------------------

    def _recording_for(self, engine: Engine, host: str, found: Any) -> str | None:
        """The partner whose traffic this request is recorded for, or None to mock it."""
        owner = engine.host_owner(host)
        if owner is None and isinstance(found, Match):
            owner = found.route.partner
        if owner is not None:
            if (engine.modes.get(owner) or self._mode) == "record":
                return owner
            if isinstance(found, Miss) and self._unmatched == "record":
                return owner
            return None
        if host in self._record_exact or any(host.endswith(s) for s in self._record_suffixes):
            return partner_name_for(host)
        return None

    def _start_recording(self, flow: http.HTTPFlow, partner: str, found: Any) -> None:
        self._forward(flow)
        flow.metadata["imnot"] = {"kind": "record", "partner": partner,
                                  "started": time.perf_counter()}
        flow.comment = f"imnot record {partner} {flow.request.method} {flow.request.path}"

    def _finish_recording(self, flow: http.HTTPFlow) -> None:
        meta = flow.metadata.get("imnot")
        if not meta or meta.get("kind") != "record" or meta.get("recorded"):
            return
        meta["recorded"] = True
        exchange = replace(from_flow(flow), partner=meta["partner"])
        try:
            self._recorder().record(meta["partner"], exchange)
        except OSError:
            # A recording that cannot be written must not pass for a recorded one.
            logger.exception("imnot_proxy: cannot write the recording for %s", meta["partner"])
            raise
        status = flow.response.status_code if flow.response else "error"
        entry = self._remember(flow, "record", flow.comment, meta["started"])
        if self._flow_log:
            view = journal_view(entry)
            logger.info("%s -> %s (%.1f ms)", flow.comment, status, view["ms"],
                        extra={FLOW_FIELD: view})

    def _recorder(self) -> Recorder:
        if self._recording is None:
            directory = Path(ctx.options.imnot_recordings or default_recordings(
                ctx.options.imnot_partners))
            redactor = Redactor.default(ctx.options.imnot_redact_headers,
                                        ctx.options.imnot_redact_fields)
            self._recording = Recorder(directory, redactor)
        return self._recording

    # --- helpers --------------------------------------------------------------------

    def _view(self, flow: http.HTTPFlow, path: str, query: str,
              session: str | None = None) -> RequestView:
        req = flow.request
        return RequestView(
            method=req.method, path=path, query_string=query, headers=req.headers,
            body=(req.raw_content if not req.headers.get("content-encoding")
                  else req.get_content(strict=False)) or b"",
            scheme=req.scheme, host=req.pretty_host, port=req.port,
            session=session if session is not None else self._session(flow),
        )

    def _session(self, flow: http.HTTPFlow) -> str | None:
        headers = flow.request.headers
        session = headers.get(SESSION_HEADER)
        if session:
            return session.strip() or None
        user = proxy_user(headers.get("proxy-authorization"))
        return user or self._connect_sessions.get(flow.client_conn.id)

    def _forward(self, flow: http.HTTPFlow) -> None:
        """Ready a request to go upstream: our headers out, the upstream proxy's login in
        (plain HTTP in upstream mode goes to that proxy as an absolute-form request)."""
        self._strip_ours(flow.request)
        login = self._upstream_login
        if (login and flow.request.scheme == "http"
                and isinstance(flow.client_conn.proxy_mode, mode_specs.UpstreamMode)):
            flow.request.headers["proxy-authorization"] = login

    @staticmethod
    def _strip_ours(req: http.Request) -> None:
        """Our session header and the proxy credentials are for us, never for an upstream."""
        if SESSION_HEADER in req.headers:
            del req.headers[SESSION_HEADER]
        if "proxy-authorization" in req.headers:
            del req.headers["proxy-authorization"]

    def _is_direct(self, flow: http.HTTPFlow, host: str) -> bool:
        """An origin-form request sent straight to the proxy port, as to the original server."""
        client = flow.client_conn
        if client.tls or client.sockname is None:
            return False
        if flow.request.port != client.sockname[1]:
            return False
        if host in LOCAL_NAMES or host == str(client.sockname[0]):
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return address.is_loopback or str(client.sockname[0]) in ("0.0.0.0", "::")

    @staticmethod
    def _answer(flow: http.HTTPFlow, response: MockResponse, meta: dict) -> None:
        now = time.time()
        flow.response = http.Response(b"HTTP/1.1", response.status,
                                      REASONS.get(response.status, b""),
                                      http.Headers(response.wire_headers), response.body, None,
                                      now, now)
        flow.metadata["imnot"] = meta
        flow.is_replay = "response"

    def _mark(self, flow: http.HTTPFlow, outcome: Any, started: float,
              session: str | None) -> None:
        if isinstance(outcome, Mocked):
            route = outcome.route
            meta = {"kind": "mock", "partner": route.partner, "datapoint": route.datapoint,
                    "pattern": route.pattern, "step": outcome.response.step, "session": session,
                    "route": route.label}
            comment = f"imnot mock {route.owner}"
            if outcome.response.step:
                comment += f" {outcome.response.step}"
        else:
            closest = ", ".join(r.label for r in outcome.miss.closest) or "none"
            meta = {"kind": "miss", "closest": [r.label for r in outcome.miss.closest],
                    "session": session}
            comment = f"imnot miss {flow.request.method} {flow.request.path} · closest: {closest}"
        if session:
            comment += f" · session {session}"
        self._answer(flow, outcome.response, meta)
        flow.comment = comment
        entry = self._remember(flow, meta["kind"], comment, started)
        if self._flow_log:
            view = journal_view(entry)
            logger.info("%s -> %d (%.1f ms)", comment, outcome.response.status, view["ms"],
                        extra={FLOW_FIELD: view})

    def _remember(self, flow: http.HTTPFlow, kind: str, note: str | None,
                  started: float) -> tuple:
        """Keep a journal line for a partner request; formatted only when read (journal_view)."""
        req = flow.request
        entry = (time.time(), kind, req.method, req.scheme, req.host, req.port, req.path,
                 flow.response.status_code if flow.response else None,
                 flow.metadata.get("imnot"), note, time.perf_counter() - started)
        self._journal.append(entry)
        return entry

    def _callback_refusal(self, url: str) -> str | None:
        return callback_refusal(url, ctx.options.imnot_callback_allow)

    # --- commands (the same code as the admin API) ----------------------------------

    @command.command("imnot.reload")
    def reload_command(self) -> str:
        """Reload the partner files; a broken file keeps the last good definitions serving."""
        report = self.reload()
        if not report.ok:
            return "reload rejected: " + "; ".join(report.problems)
        return f"reloaded {len(report.partners)} partners"

    @command.command("imnot.routes")
    def routes_command(self) -> Sequence[str]:
        """List the partner routes: host, method, path, partner/datapoint, pattern."""
        if self.engine is None:
            return []
        return [f"{r.host} {r.method} {r.path} {r.owner} [{r.pattern}]"
                for r in self.engine.router.routes]

    @command.command("imnot.sessions.reset")
    def sessions_reset_command(self) -> int:
        """Delete every session; returns how many were deleted."""
        assert self.admin is not None
        return self.admin.service.clear_sessions()["deleted"]

    @command.command("imnot.payload.set")
    def payload_set_command(self, partner: str, datapoint: str, path: mtypes.Path) -> str:
        """Upload a JSON file as the global payload of partner/datapoint."""
        assert self.admin is not None
        try:
            body = Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise exceptions.CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            self.admin.service.set_payload(partner, datapoint, body)
        except RequestError as exc:
            raise exceptions.CommandError(str(exc.detail)) from exc
        return f"payload set for {partner}/{datapoint}"


def default_db(partners: Sequence[str]) -> Path:
    first = Path(partners[0]) if partners else Path("partners")
    base = first.parent if first.is_file() or first.suffix in (".yaml", ".yml") else first
    return base.absolute().parent / "imnot.db"


def journal_view(entry: tuple) -> dict:
    """The JSON shape of a journal entry (see ``ImnotProxy._remember``)."""
    at, kind, method, scheme, host, port, path, status, meta, note, seconds = entry
    meta = meta or {}
    default = 443 if scheme == "https" else 80
    authority = host if port == default else f"{host}:{port}"
    return {
        "at": datetime.fromtimestamp(at, UTC).isoformat(timespec="microseconds").replace(
            "+00:00", "Z"),
        "kind": kind, "method": method, "url": f"{scheme}://{authority}{path}", "status": status,
        "partner": meta.get("partner"), "datapoint": meta.get("datapoint"),
        "route": meta.get("route"), "step": meta.get("step"), "session": meta.get("session"),
        "closest": meta.get("closest"), "note": note, "ms": round(seconds * 1000, 2),
    }


def default_recordings(partners: Sequence[str]) -> Path:
    return default_db(partners).parent / "recordings"


def is_admin_path(path: str) -> bool:
    return path.startswith("/imnot/") or path == "/healthz"


def _basic(user_password: str | None) -> str | None:
    if not user_password:
        return None
    return "Basic " + base64.b64encode(user_password.encode("utf-8")).decode("ascii")


def proxy_user(value: str | None) -> str | None:
    """The user name of ``Proxy-Authorization: Basic ...``."""
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None
    user = decoded.partition(":")[0].strip()
    return user or None


def callback_refusal(url: str, allow: Sequence[str]) -> str | None:
    """Why a callback URL may not be used, or None when it may."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"callback URL {url!r} must be an absolute http(s) URL"
    host = parts.hostname.lower()
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    for allowed in allow:
        allowed = allowed.lower()
        if host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:])):
            return None
    return (f"callback host '{host}' is not allowed: only loopback and the hosts in "
            "imnot_callback_allow receive callbacks")


def _miss_response(miss: Miss, method: str, path: str) -> MockResponse:
    from .engine import miss_response

    return miss_response(miss, RequestView(method, path))


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False
