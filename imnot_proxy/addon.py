"""The mitmproxy addon: hooks and commands around the engine, nothing more.

``request`` hands each flow to ``Engine.handle`` (through ``flows.view_of``) and
turns the one outcome it gets back into the flow: an answer (mock, miss, admin),
forward untouched, or forward and record. Options are declared in ``settings``,
partner definitions are loaded and swapped by ``definitions``.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from mitmproxy import command, ctx, exceptions, http
from mitmproxy import types as mtypes

from . import errorpages, flows, proxyoptions, replicas, watch
from .admin import AdminApi, AdminService
from .definitions import Definitions
from .engine import Admin, Engine, EngineSettings, Forward, Policy, Record, Verify
from .engine.callback import callback_refusal
from .errors import RequestError, StoreError
from .faultglue import FaultGlue
from .journal import Journal, MemoryJournal
from .journalbody import BodyCapture
from .jsonlog import FLOW_FIELD, use_json_logs
from .messages import error_response
from .recording.capture import capture
from .recording.drift import format_drift_line
from .recording.live import LiveRecording
from .recording.verify import VerifySide
from .sessions import ConnectSessions
from .settings import ENGINE_OPTIONS, OPTIONS, Settings, is_loopback
from .store import Store, open_store
from .tasks import Tasks, loop_running
from .yamlsafe import Limits

logger = logging.getLogger("imnot_proxy")

ADMIN_TIMEOUT = 30.0  # seconds an admin change may take before its client gets a 503


class StoreOptionsError(exceptions.OptionsError):
    """The store cannot be opened (bad URL, wrong password, unreachable): exit code 2."""


class ImnotProxy:
    """Answers partner hosts from partner YAML; leaves every other flow alone."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.store: Store | None = None
        self.definitions: Definitions | None = None
        self.admin: AdminApi | None = None
        self.journal: Journal = MemoryJournal()
        self.replication: replicas.Local | replicas.Shared | None = None
        self.sessions = ConnectSessions()
        self.recording = LiveRecording()
        self.verify = VerifySide()
        self.tasks = Tasks()
        self.faults = FaultGlue(self._journal,
                                lambda: self.settings.upstream_login if self.settings else None)
        self._watcher: Any = None
        self._flow_log = True
        self._bodies: BodyCapture | None = None
        self._frozen = False
        self._idle_applied: int | None = None

    @property
    def engine(self) -> Engine | None:
        """The engine serving now (None before the first configure)."""
        return self.definitions.engine if self.definitions is not None else None

    # --- lifecycle --------------------------------------------------------------

    def load(self, loader: Any) -> None:
        errorpages.install()
        for spec in OPTIONS:
            loader.add_option(spec.name, spec.type, spec.default, spec.help,
                              choices=list(spec.choices) if spec.choices else None)

    def configure(self, updated: set[str]) -> None:
        try:
            settings = Settings.from_options(ctx.options)
        except ValueError as exc:
            raise exceptions.OptionsError(str(exc)) from exc
        self.settings = settings
        if "imnot_json_logs" in updated:
            use_json_logs(settings.json_logs, logger)
        verbosity = getattr(ctx.options, "termlog_verbosity", "info")
        # A flow line nobody prints still costs a trip through every addon: skip it then.
        self._flow_log = settings.json_logs or verbosity in ("info", "debug")
        if updated & {"imnot_db", "imnot_partners", "imnot_shared_journal"} or self.store is None:
            self._open_store(settings)
        assert self.definitions is not None and self.admin is not None
        self.definitions.limits = Limits(max_bytes=settings.max_partner_bytes)
        self.admin.service.max_payload_bytes = settings.max_payload_bytes
        self.admin.ui.configure(settings.ui, settings.ui_theme)
        if settings.journal_size != self.journal.size:
            self.journal.resize(settings.journal_size)
        self._bodies = BodyCapture.of(settings.journal_bodies, settings.redact_headers,
                                      settings.redact_fields)
        self._idle_applied = proxyoptions.apply_idle_timeout(ctx.options, settings.idle_timeout,
                                                             self._idle_applied)
        policy = Policy(settings.admin_host, settings.unmatched, settings.mode,
                        settings.record_hosts, settings.verify_hosts)
        if updated & ENGINE_OPTIONS or self.definitions.engine is None:
            self.definitions.settings = self._engine_settings(settings, policy)
            self.definitions.reload(initial=self.definitions.engine is None)
        else:
            self.definitions.set_policy(policy)
        self.recording.configure(settings.recordings, settings.redact_headers,
                                 settings.redact_fields)
        self.verify.configure(settings.verify_ignore, settings.redact_headers,
                              settings.redact_fields)
        if updated & {"imnot_intercept", "imnot_admin_host", "imnot_record_hosts"}:
            if settings.intercept == "all" and "imnot_intercept" in updated:
                ctx.options.update(allow_hosts=[])
            self._sync_hosts()
        if "connection_strategy" in updated and self._frozen:
            proxyoptions.warn_if_eager(ctx.options)
        self._follow_watch_option(settings)

    def running(self) -> None:
        self.tasks.bind()
        if self.replication is not None:
            self.replication.start(self.tasks.spawn)
        if not self._frozen:
            # Start-up objects (mitmproxy, partner models) never die; left in the collected
            # generations, every full collection walks all of them and stalls the proxy.
            gc.freeze()
            self._frozen = True
        proxyoptions.warn_if_eager(ctx.options)
        settings = self.settings
        if settings is not None and not is_loopback(ctx.options.listen_host) \
                and not settings.admin_key:
            logger.warning(
                "imnot_proxy: WARNING: listening on %s without an admin key: anyone who can "
                "reach the port can change the mocks. Set imnot_admin_key or IMNOT_ADMIN_KEY.",
                ctx.options.listen_host or "all interfaces")
        if settings is not None:
            self._follow_watch_option(settings)

    def done(self) -> None:
        self.tasks.cancel_all()
        self.faults.close()
        self.recording.close()
        self._save_drift()
        self.verify.close()
        if self.replication is not None:
            self.replication.close()
        if self.store is not None:
            self.store.close()

    def _open_store(self, settings: Settings) -> None:
        try:
            store = open_store(settings.db)
        except (StoreError, ValueError) as exc:
            raise StoreOptionsError(f"Cannot open imnot_db: {exc}") from None
        if self.replication is not None:
            self.replication.close()
        if self.store is not None:
            self.store.close()
        self.store = store
        self.replication = replicas.for_store(store, settings.replica, self.tasks.dispatch,
                                              settings.journal_size,
                                              shared_journal=settings.shared_journal)
        self.journal = self.replication.journal
        self.definitions = Definitions(settings.partners, store,
                                       limits=Limits(max_bytes=settings.max_partner_bytes))
        self.definitions.on_swap(lambda engine: self.tasks.on_loop(self._sync_hosts))
        self.replication.attach(self.definitions)
        if loop_running():
            self.replication.start(self.tasks.spawn)
        self.admin = AdminApi(AdminService(
            self.definitions, store, journal=self.journal, dispatch=self.replication.dispatch,
            admin_key=lambda: self.settings.admin_key if self.settings else None,
            max_payload_bytes=settings.max_payload_bytes))

    def _engine_settings(self, settings: Settings, policy: Policy) -> EngineSettings:
        assert self.replication is not None and self.store is not None
        return EngineSettings(
            default_limit=settings.default_limit, dispatch=self.replication.dispatch,
            clock=self.store.now,
            callback_allowed=functools.partial(callback_refusal, allow=settings.callback_allow),
            policy=policy)

    def _follow_watch_option(self, settings: Settings) -> None:
        if not settings.watch and self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        elif settings.watch and self._watcher is None and loop_running():
            self._watcher = self.tasks.spawn(watch.watch_files(
                lambda: self.settings.partners if self.settings else (),
                lambda: self.settings.watch_interval if self.settings else 1.0,
                lambda: self.settings.watch_settle if self.settings else 1.0,
                self._reload), "imnot watch")

    def _reload(self) -> None:
        if self.definitions is not None:
            self.definitions.reload()

    def _sync_hosts(self) -> None:
        settings, engine = self.settings, self.engine
        if settings is not None and engine is not None and settings.intercept == "partners":
            proxyoptions.sync_allow_hosts(
                ctx.options, [*engine.hosts(), settings.admin_host, *settings.record_hosts])

    # --- hooks --------------------------------------------------------------------

    def http_connect(self, flow: http.HTTPFlow) -> None:
        """HTTPS carries the proxy credentials on CONNECT only: keep the user as session."""
        self.sessions.remember(flow.client_conn.id, flow.request.headers.get("proxy-authorization"))

    def http_connect_upstream(self, flow: http.HTTPFlow) -> None:
        """The CONNECT that mitmproxy sends to the upstream proxy carries the upstream login."""
        if self.settings is not None and self.settings.upstream_login:
            flow.request.headers["proxy-authorization"] = self.settings.upstream_login

    def client_disconnected(self, client: Any) -> None:
        self.sessions.forget(client.id)

    def request(self, flow: http.HTTPFlow) -> Coroutine[Any, Any, None] | None:
        """Decide and answer. Most requests are done when this returns; the few that must
        wait (admin changes, parsed off the event loop) return a coroutine, which mitmproxy
        awaits for this flow alone, as it would an ``async def`` hook."""
        if flow.response or flow.error or not flow.live:
            return None
        definitions = self.definitions
        engine = definitions.engine if definitions is not None else None
        if engine is None:
            return None
        started = time.perf_counter()
        try:
            view = flows.view_of(flow, self.sessions)
            outcome = engine.handle(view)
            if getattr(outcome, "fault", None) is not None and not (
                    isinstance(outcome, Record) and self.recording.failure is not None):
                return self.faults.inject(flow, view, outcome, started)  # type: ignore[arg-type]
            if isinstance(outcome, Forward):
                self._forward(flow, outcome.partner_host, started, view.session)
            elif isinstance(outcome, Admin):
                if view.method not in ("GET", "HEAD"):
                    return self._admin_in_thread(flow, view)
                flows.answer(flow, self.admin.handle(view), {"admin": True})  # type: ignore[union-attr]
                flow.comment = f"imnot admin {view.method} {view.path}"
            elif isinstance(outcome, Verify):
                self.verify.begin(flow.id, engine, outcome.partner, view)
                flows.forward(flow, self.settings.upstream_login)  # type: ignore[union-attr]
                flow.metadata["imnot"] = {"kind": "verify", "partner": outcome.partner,
                                          "started": started}
                flow.comment = f"imnot verify {outcome.partner} {view.method} {view.path}"
            elif isinstance(outcome, Record):
                if self.recording.failure is not None:
                    self._refuse_unrecorded(flow, self.recording.failure)
                    return None
                flows.forward(flow, self.settings.upstream_login)  # type: ignore[union-attr]
                flow.metadata["imnot"] = {"kind": "record", "partner": outcome.partner,
                                          "started": started}
                flow.comment = (f"imnot record {outcome.partner} {flow.request.method} "
                                f"{flow.request.path}")
            else:
                meta, comment = flows.describe(outcome, view)
                flows.answer(flow, outcome.response, meta)
                flow.comment = comment
                self._journal(flow, meta["kind"], comment, started)
        except Exception as exc:  # noqa: BLE001 - fail closed: never fall through to the partner
            self._fail_closed(flow, exc)
        return None

    async def _admin_in_thread(self, flow: http.HTTPFlow, view: Any) -> None:
        """An admin call that may parse a large file or build a new engine: in a worker
        thread with a time limit, so that serving never waits for it."""
        assert self.admin is not None
        try:
            response = await asyncio.wait_for(asyncio.to_thread(self.admin.handle, view),
                                              ADMIN_TIMEOUT)
        except TimeoutError:
            response = error_response(503, f"the admin request took longer than "
                                           f"{ADMIN_TIMEOUT:g} s; it may still complete")
        except Exception as exc:  # noqa: BLE001 - fail closed, as in request()
            self._fail_closed(flow, exc)
            return
        flows.answer(flow, response, {"admin": True})
        flow.comment = f"imnot admin {view.method} {view.path}"

    @staticmethod
    def _fail_closed(flow: http.HTTPFlow, exc: Exception) -> None:
        logger.exception("imnot_proxy error on %s %s", flow.request.method,
                         flow.request.pretty_url, exc_info=exc)
        flows.answer(flow, error_response(500, f"imnot_proxy error: {exc}"),
                     {"kind": "error", "error": str(exc)})
        flow.comment = f"imnot error: {exc}"

    @staticmethod
    def _refuse_unrecorded(flow: http.HTTPFlow, failure: str) -> None:
        """Record-mode traffic is never let through unrecorded (as mitmproxy's save addon)."""
        flows.answer(flow, error_response(502, f"imnot_proxy error: recording failed: {failure}"),
                     {"kind": "error", "error": failure})
        flow.comment = "imnot error: recording failed"

    def response(self, flow: http.HTTPFlow) -> None:
        if self.verify.waiting:
            self._finish_verify(flow)
        self._finish_recording(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        if self.verify.waiting:
            self._finish_verify(flow)
        self._finish_recording(flow)

    def _finish_verify(self, flow: http.HTTPFlow) -> None:
        found = self.verify.finish(flow.id, capture(flow))
        if found is not None:
            meta = flow.metadata["imnot"]
            meta["drift"] = [str(d) for d in found]
            flow.comment += f" · drift: {found[0]}" if found else " · as the mock"
            self._journal(flow, "verify", flow.comment, meta["started"])

    def _forward(self, flow: http.HTTPFlow, partner_host: bool, started: float,
                 session: str | None) -> None:
        settings = self.settings
        assert settings is not None
        flows.forward(flow, settings.upstream_login)
        if partner_host:
            entry = flows.journal_entry(flow, "passthrough", None, started, session)
            self.journal.add(entry)
            if settings.log_passthrough:
                logger.info("imnot passthrough %s %s", flow.request.method,
                            flow.request.pretty_url, extra={FLOW_FIELD: entry.view()})
        elif settings.log_passthrough:
            logger.info("passthrough %s %s", flow.request.method, flow.request.pretty_url)

    def _finish_recording(self, flow: http.HTTPFlow) -> None:
        meta = flow.metadata.get("imnot")
        if not meta or meta.get("kind") != "record" or meta.get("recorded"):
            return
        meta["recorded"] = True
        try:
            self.recording.record(meta["partner"], capture(flow))
        except OSError:
            # A recording that cannot be written must not pass for a recorded one.
            logger.exception("imnot_proxy: cannot write the recording for %s", flow.comment)
            raise
        self._journal(flow, "record", flow.comment, meta["started"])

    def _journal(self, flow: http.HTTPFlow, kind: str, note: str | None, started: float) -> None:
        entry = flows.journal_entry(flow, kind, note, started)
        if self._bodies is not None:
            entry = self._bodies.add(entry, flow.request.get_content(strict=False) or b"",
                                     flow.request.headers.get("content-type"))
        self.journal.add(entry)
        if self._flow_log:
            view = entry.view()
            status = entry.status or ("no response" if kind == "fault" else "error")
            if entry.request_id:
                logger.info("%s -> %s (%.1f ms) · request %s", note, status,
                            view["ms"], entry.request_id, extra={FLOW_FIELD: view})
            else:
                logger.info("%s -> %s (%.1f ms)", note, status, view["ms"],
                            extra={FLOW_FIELD: view})

    # --- commands (the same code as the admin API) ----------------------------------

    def _save_drift(self) -> str | None:
        if self.settings is None:
            return None
        try:
            path = self.verify.save(self.settings.recordings)
        except OSError as exc:
            logger.warning("imnot_proxy: cannot write the drift report: %s", exc)
            return None
        return str(path) if path is not None else None

    @command.command("imnot.verify.report")
    def verify_report_command(self) -> Sequence[str]:
        """The drift report of verify mode, one line per endpoint; also written as JSON to
        the recordings directory, with the partner-file changes it proposes as a patch."""
        saved = self._save_drift()
        lines = [format_drift_line(e) for e in self.verify.report.view()["endpoints"]]
        if saved and self.verify.patch is not None:
            lines.append(f"patch proposal written to {self.verify.patch} (review, then git apply)")
        return [*lines, f"written to {saved}" if saved else "nothing verified yet"]

    @command.command("imnot.reload")
    def reload_command(self) -> str:
        """Reload the partner files; a broken file keeps its last good version serving."""
        assert self.definitions is not None
        report = self.definitions.reload()
        text = f"reloaded {len(report.partners)} partners"
        if report.problems:
            text += "; problems: " + "; ".join(report.problems)
        return text

    @command.command("imnot.routes")
    def routes_command(self) -> Sequence[str]:
        """List the partner routes: host, method, path, partner/datapoint, pattern."""
        engine = self.definitions.engine if self.definitions is not None else None
        if engine is None:
            return []
        return [f"{r.host} {r.method} {r.path} {r.owner} [{r.pattern}]"
                for r in engine.router.routes]

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

