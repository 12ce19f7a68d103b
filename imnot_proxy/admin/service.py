"""Admin actions over the served definitions, the store and the journal.

The HTTP front (``api.py``), the CLI working on a store file and mitmproxy's
commands all call these methods. Everything the service needs is handed to it;
it never calls back into the proxy that owns it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import __version__
from ..definitions import Definitions
from ..engine import Engine
from ..engine.callback import DeliveryJob
from ..errors import RequestError
from ..journal import Journal, MemoryJournal
from ..schema import PAYLOAD_PATTERNS
from ..store import Store
from . import trial
from .faults import FaultAdmin
from .views import check_size, parse_payload, partner_view, payload_view, session_view

# A session id a client names itself: it travels as the proxy user name in a URL, so only
# characters a URL's user part carries as they are.
SESSION_ID_RE = re.compile(r"[A-Za-z0-9._~-]{1,128}")
JOURNAL_SCAN = 10_000_000  # more than any journal holds: filters look at every entry
JOURNAL_KINDS = frozenset({"mock", "miss", "passthrough", "record", "fault", "error"})


class AdminService:
    def __init__(self, definitions: Definitions, store: Store, *,
                 journal: Journal | None = None,
                 dispatch: Callable[[Any], None] = lambda job: None,
                 admin_key: Callable[[], str | None] = lambda: None,
                 max_payload_bytes: int | None = None):
        self.definitions = definitions
        self.store = store
        self.max_payload_bytes = max_payload_bytes
        self.journal = journal if journal is not None else MemoryJournal()
        self.dispatch = dispatch
        self.admin_key = admin_key
        self.faults = FaultAdmin(definitions, store)

    def engine(self) -> Engine:
        return self.definitions.current()

    # --- payloads -------------------------------------------------------------

    def _datapoint(self, partner: str, datapoint: str) -> Any:
        dp = self.engine().payload_datapoint(partner, datapoint)
        if dp is None:
            raise RequestError(404, f"No payload datapoint {partner}/{datapoint}")
        return dp

    def set_payload(self, partner: str, datapoint: str, body: bytes,
                    outcome: str | None = None, *, name: str = "",
                    content_type: str | None = None) -> dict:
        """Upload the global payload (``name`` "" is the default one) as it came: JSON is
        stored compactly, XML/text/anything else byte for byte with its content type."""
        self._datapoint(partner, datapoint)
        data, kind = parse_payload(body, self.max_payload_bytes, content_type)
        self.store.put_global(partner, datapoint, data, outcome, name=name, content_type=kind)
        view = {"status": "ok", "partner": partner, "datapoint": datapoint}
        if name:
            view["name"] = name
        return view

    def get_payload(self, partner: str, datapoint: str, name: str = "") -> dict:
        self._datapoint(partner, datapoint)
        payload = self.store.get_global(partner, datapoint, name)
        if payload is None:
            which = f" '{name}'" if name else ""
            raise RequestError(404, f"No global payload{which} set for {partner}/{datapoint}")
        view = {**payload_view(payload), "updated_at": payload.updated_at}
        if payload.outcome:
            view["outcome"] = payload.outcome
        return view

    def list_payloads(self, partner: str, datapoint: str) -> list[dict]:
        """The datapoint's global payloads: name ("" for the default), type, time, outcome."""
        self._datapoint(partner, datapoint)
        found = []
        for name in self.store.payload_names(partner, datapoint):
            payload = self.store.get_global(partner, datapoint, name)
            if payload is not None:
                found.append({"name": name, "content_type": payload.content_type,
                              "updated_at": payload.updated_at, "outcome": payload.outcome,
                              "bytes": len(payload.body)})
        return found

    def new_session(self, partner: str, datapoint: str, body: bytes,
                    outcome: str | None = None, *, name: str = "",
                    content_type: str | None = None, session: str | None = None) -> dict:
        """A new session holding this payload, or with ``session``, this payload put into
        that existing session (which then serves several datapoints)."""
        self._datapoint(partner, datapoint)
        data, kind = parse_payload(body, self.max_payload_bytes, content_type)
        if session is not None:
            if not self.store.put_session_payload(session, partner, datapoint, data, outcome,
                                                  name=name, content_type=kind):
                raise RequestError(404, f"Session '{session}' not found; create it first with "
                                        "POST /imnot/admin/sessions")
            return {"session_id": session}
        session_id = self.store.create_session(partner, datapoint, data, outcome, name=name,
                                               content_type=kind)
        return {"session_id": session_id}

    def open_session(self, session_id: str | None = None) -> dict:
        """An empty session, named by the client or given a new id, for payloads of any
        datapoint to be uploaded into."""
        if session_id is not None and not SESSION_ID_RE.fullmatch(session_id):
            raise RequestError(422, "session_id must be 1 to 128 letters, digits or . _ ~ - "
                                    "(it is sent as the proxy user name)")
        opened = self.store.open_session(session_id)
        if opened is None:
            raise RequestError(409, f"Session '{session_id}' already exists")
        return {"session_id": opened}

    def get_session(self, partner: str, datapoint: str, session_id: str,
                    name: str = "") -> dict:
        record = self.store.get_session(session_id)
        if record is None:
            raise RequestError(404, f"Session '{session_id}' not found")
        if not name and (record.partner, record.datapoint) == (partner, datapoint):
            return {**session_view(record), **payload_view(record)}
        payload = self.store.session_payload(session_id, partner, datapoint, name, touch=False)
        if payload is None:
            which = f"payload '{name}' of " if name else ""
            raise RequestError(404, f"Session '{session_id}' not found" if not name else
                               f"No {which}{partner}/{datapoint} in session '{session_id}'")
        view = {**session_view(record), "partner": partner, "datapoint": datapoint}
        view.pop("outcome", None)
        if payload.outcome:
            view["outcome"] = payload.outcome
        return {**view, **payload_view(payload)}

    def list_sessions(self, limit: int | None = None, after: str | None = None) -> list[dict]:
        """Newest first; a page of ``limit`` after the session ``after`` (all when no limit)."""
        return [session_view(r) for r in self.store.list_sessions(limit, after)]

    def count_sessions(self) -> int:
        return self.store.count_sessions()

    def delete_session(self, session_id: str) -> dict:
        if not self.store.delete_session(session_id):
            raise RequestError(404, "Session not found")
        return {"status": "ok", "session_id": session_id}

    def clear_sessions(self) -> dict:
        return {"status": "ok", "deleted": self.store.clear_sessions()}

    # --- callbacks --------------------------------------------------------------

    def _callback(self, partner: str, datapoint: str, request_id: str) -> Any:
        dp = self._datapoint(partner, datapoint)
        record = self.store.get_callback(partner, datapoint, request_id) \
            if dp.pattern == "callback" else None
        if record is None:
            raise RequestError(404, f"Unknown request_id: {request_id}")
        return dp, record

    def retrigger(self, partner: str, datapoint: str, request_id: str) -> dict:
        dp, record = self._callback(partner, datapoint, request_id)
        retries = dp.endpoints[0].response.callback_retries
        shape = self.engine().callback_shapes.get((partner, datapoint))
        self.dispatch(DeliveryJob(self.store, record, retries, 0.0, shape))
        return {"status": "dispatched", "request_id": request_id}

    def session_callbacks(self, session_id: str) -> list[dict]:
        """The callbacks requested in a session, oldest first, each with its deliveries."""
        return [self._callback_view(record) for record in self.store.list_callbacks(session_id)]

    def _callback_view(self, record: Any) -> dict:
        return {"request_id": record.id, "partner": record.partner,
                "datapoint": record.datapoint, "url": record.url, "method": record.method,
                "session_id": record.session_id, "created_at": record.created_at,
                "deliveries": [{"attempt": d.attempt, "at": d.at, "status": d.status,
                                "error": d.error} for d in self.store.deliveries(record.id)]}

    def callback_log(self, partner: str, datapoint: str, request_id: str) -> dict:
        _, record = self._callback(partner, datapoint, request_id)
        return {"request_id": record.id, "url": record.url, "method": record.method,
                "session_id": record.session_id, "created_at": record.created_at,
                "deliveries": [{"attempt": d.attempt, "at": d.at, "status": d.status,
                                "error": d.error} for d in self.store.deliveries(record.id)]}

    # --- partners and definitions -------------------------------------------------

    def partners(self) -> list[dict]:
        return [partner_view(source.model) for source in self.engine().partners]

    def register(self, text: str, *, force: bool = False, dry_run: bool = False) -> tuple[int, dict]:
        check_size(text.encode("utf-8", "surrogatepass"), self.definitions.limits.max_bytes,
                   "partner file", "imnot_max_partner_bytes")
        result, report = self.definitions.register(text, force=force, dry_run=dry_run)
        model = result.source.model
        base = self.definitions.partner_dirs[0].absolute().parent
        file = result.file.absolute()
        shown = file.relative_to(base) if file.is_relative_to(base) else Path(file.name)
        view = {
            "status": "ok", "partner": model.partner, "description": model.description,
            "directory": str(shown.parent), "file": str(shown),
            "created": result.created and not dry_run,
            "dry_run": dry_run,
            "datapoints": [{"name": dp.name, "pattern": dp.pattern,
                            "endpoints": [{"method": ep.method, "path": ep.path}
                                          for ep in dp.endpoints],
                            "admin_routes": dp.pattern in PAYLOAD_PATTERNS}
                           for dp in model.datapoints],
            "routes_added": report.added if report else [],
            "routes_removed": report.removed if report else [],
            "routes_conflicts": [],
            "warnings": result.warnings,
        }
        return (201 if result.created else 200), view

    def delete_partner(self, name: str) -> dict:
        """The original's answer; the routes it removed are in ``status``'s last reload."""
        self._need_partners_dir()
        self.definitions.unregister(name)
        return {"status": "ok", "partner": name}

    def reload(self) -> tuple[int, dict]:
        if not any(Path(p).exists() for p in self.definitions.paths):
            raise RequestError(400, "No partners directory configured")
        report = self.definitions.reload()
        if self.definitions.shared is not None:
            self.definitions.shared.reloaded()
        return 200, report.view()

    def _need_partners_dir(self) -> None:
        if not self.definitions.partner_dirs:
            raise RequestError(400, "No partners directory configured")

    def try_request(self, spec: bytes) -> dict:
        """Run one request through the serving engine, as the flow tester does."""
        return trial.run(self.engine(), self.journal, spec)

    def journal_entries(self, limit: int, *, session: str | None = None,
                        partner: str | None = None, kinds: frozenset[str] | None = None
                        ) -> list[dict]:
        """The newest ``limit`` entries, of one session, partner or kinds when given."""
        if session is None and partner is None and kinds is None:
            return [entry.view() for entry in self.journal.latest(limit)]
        unknown = sorted((kinds or frozenset()) - JOURNAL_KINDS)
        if unknown:
            raise RequestError(400, f"unknown journal kind {', '.join(unknown)}; one of "
                                    f"{', '.join(sorted(JOURNAL_KINDS))}")
        found = []
        for entry in self.journal.latest(JOURNAL_SCAN):
            if ((session is None or entry.session == session)
                    and (partner is None or entry.partner == partner)
                    and (kinds is None or entry.kind in kinds)):
                found.append(entry.view())
                if len(found) >= limit:
                    break
        return found

    def status(self) -> dict:
        engine = self.engine()
        report = self.definitions.last_report
        return {"version": __version__, "partners": [s.name for s in engine.partners],
                "routes": len(engine.router), "sessions": self.store.count_sessions(),
                "faults": self.faults.list(),
                "last_reload": report.view() if report else None}
