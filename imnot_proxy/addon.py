"""The mitmproxy addon: hooks and commands around the engine, nothing more.

``request`` hands each flow to ``Engine.handle`` (through ``flows.view_of``) and
turns the one outcome it gets back into the flow: an answer (mock, miss, admin),
forward untouched, or forward and record. Options are declared in ``settings``,
partner definitions are loaded and swapped by ``definitions``; the store and what
stands on it are built by ``wiring``. What a kind of flow needs beyond one answer
lives beside it: ``adminglue``, ``recordglue``, ``verifyglue``, ``faultglue``,
``flowlog`` (journal and log lines), ``partnerwatch`` (``imnot_watch``).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from mitmproxy import command, ctx, exceptions, http
from mitmproxy import types as mtypes

from . import adminglue, errorpages, flows, proxyoptions, replicas, wiring
from .admin import AdminApi
from .definitions import Definitions
from .engine import Admin, Engine, Forward, Policy, Record, Verify
from .errors import RequestError
from .faultglue import FaultGlue
from .flowlog import FlowLog
from .journal import Journal
from .jsonlog import use_json_logs
from .partnerwatch import PartnerWatch
from .recordglue import RecordGlue
from .recording.live import LiveRecording
from .recording.verify import VerifySide
from .sessions import ConnectSessions
from .settings import ENGINE_OPTIONS, OPTIONS, Settings
from .store import Store
from .tasks import Tasks
from .verifyglue import VerifyGlue
from .wiring import StoreOptionsError
from .yamlsafe import Limits

__all__ = ["ImnotProxy", "StoreOptionsError"]

logger = logging.getLogger("imnot_proxy")


class ImnotProxy:
    """Answers partner hosts from partner YAML; leaves every other flow alone."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.store: Store | None = None
        self.definitions: Definitions | None = None
        self.admin: AdminApi | None = None
        self.replication: replicas.Local | replicas.Shared | None = None
        self.sessions = ConnectSessions()
        self.recording = LiveRecording()
        self.verify = VerifySide()
        self.tasks = Tasks()
        self.flowlog = FlowLog()
        # Bound once: the hooks call these for every flow, at the cost of one lookup.
        self._journal = self.flowlog.write
        self._passthrough = self.flowlog.passthrough
        self.record_flows = RecordGlue(self.recording, self._journal)
        self._finish_recording = self.record_flows.finish
        self.verify_flows = VerifyGlue(self.verify, self._journal)
        self.faults = FaultGlue(self._journal,
                                lambda: self.settings.upstream_login if self.settings else None)
        self.watch = PartnerWatch(self.tasks, lambda: self.settings, lambda: self.definitions)
        self._frozen = False
        self._idle_applied: int | None = None

    @property
    def engine(self) -> Engine | None:
        """The engine serving now (None before the first configure)."""
        return self.definitions.engine if self.definitions is not None else None

    @property
    def journal(self) -> Journal:
        """The journal of recent flows (this process's, or the replicas' shared one)."""
        return self.flowlog.journal

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
        if updated & {"imnot_db", "imnot_partners", "imnot_shared_journal"} or self.store is None:
            self._open_store(settings)
        assert self.definitions is not None and self.admin is not None
        self.definitions.limits = Limits(max_bytes=settings.max_partner_bytes)
        self.admin.service.max_payload_bytes = settings.max_payload_bytes
        self.admin.ui.configure(settings.ui, settings.ui_theme)
        self.flowlog.configure(settings, getattr(ctx.options, "termlog_verbosity", "info"))
        self._idle_applied = proxyoptions.apply_idle_timeout(ctx.options, settings.idle_timeout,
                                                             self._idle_applied)
        policy = Policy(settings.admin_host, settings.unmatched, settings.mode,
                        settings.record_hosts, settings.verify_hosts)
        if updated & ENGINE_OPTIONS or self.definitions.engine is None:
            self.definitions.settings = wiring.engine_settings(settings, policy,
                                                               self.replication, self.store)
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
        self.watch.follow(settings)

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
        if self.settings is not None:
            proxyoptions.warn_if_open(ctx.options, self.settings.admin_key)
            self.watch.follow(self.settings)

    def done(self) -> None:
        self.tasks.cancel_all()
        self.faults.close()
        self.recording.close()
        if self.settings is not None:
            self.verify_flows.save(self.settings.recordings)
        self.verify.close()
        self._close_store()

    def _open_store(self, settings: Settings) -> None:
        store = wiring.open_store_option(settings)
        self._close_store()
        self.store = store
        self.replication, self.definitions, self.admin = wiring.build_on(
            store, settings, self.tasks,
            admin_key=lambda: self.settings.admin_key if self.settings else None,
            on_swap=lambda engine: self.tasks.on_loop(self._sync_hosts))
        self.flowlog.journal = self.replication.journal

    def _close_store(self) -> None:
        if self.replication is not None:
            self.replication.close()
        if self.store is not None:
            self.store.close()

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
                flows.forward(flow, self.settings.upstream_login)  # type: ignore[union-attr]
                self._passthrough(flow, outcome.partner_host, started, view.session)
            elif isinstance(outcome, Admin):
                return adminglue.answer(flow, self.admin, view)  # type: ignore[arg-type]
            elif isinstance(outcome, Verify):
                self.verify_flows.begin(flow, engine, outcome.partner, view, started,
                                        self.settings.upstream_login)  # type: ignore[union-attr]
            elif isinstance(outcome, Record):
                self.record_flows.begin(flow, outcome.partner, started,
                                        self.settings.upstream_login)  # type: ignore[union-attr]
            else:
                meta, comment = flows.describe(outcome, view)
                flows.answer(flow, outcome.response, meta)
                flow.comment = comment
                self._journal(flow, meta["kind"], comment, started)
        except Exception as exc:  # noqa: BLE001 - fail closed: never fall through to the partner
            flows.fail_closed(flow, exc)
        return None

    def response(self, flow: http.HTTPFlow) -> None:
        if self.verify.waiting:
            self.verify_flows.finish(flow)
        self._finish_recording(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        if self.verify.waiting:
            self.verify_flows.finish(flow)
        self._finish_recording(flow)

    # --- commands (the same code as the admin API) ----------------------------------

    @command.command("imnot.verify.report")
    def verify_report_command(self) -> Sequence[str]:
        """The drift report of verify mode, one line per endpoint; also written as JSON to
        the recordings directory, with the partner-file changes it proposes as a patch."""
        return self.verify_flows.report(self.settings.recordings if self.settings else None)

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

