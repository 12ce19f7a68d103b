"""Admin actions over the served definitions, the store and the journal.

The HTTP front (``api.py``), the CLI working on a store file and mitmproxy's
commands all call these methods. Everything the service needs is handed to it;
it never calls back into the proxy that owns it.
"""

from __future__ import annotations

import json
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
from .faults import FaultAdmin
from .views import check_size, parse_payload, partner_view, session_view


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
                    outcome: str | None = None) -> dict:
        self._datapoint(partner, datapoint)
        self.store.put_global(partner, datapoint, parse_payload(body, self.max_payload_bytes),
                              outcome)
        return {"status": "ok", "partner": partner, "datapoint": datapoint}

    def get_payload(self, partner: str, datapoint: str) -> dict:
        self._datapoint(partner, datapoint)
        payload = self.store.get_global(partner, datapoint)
        if payload is None:
            raise RequestError(404, f"No global payload set for {partner}/{datapoint}")
        view = {"payload": json.loads(payload.body), "updated_at": payload.updated_at}
        if payload.outcome:
            view["outcome"] = payload.outcome
        return view

    def new_session(self, partner: str, datapoint: str, body: bytes,
                    outcome: str | None = None) -> dict:
        self._datapoint(partner, datapoint)
        session_id = self.store.create_session(partner, datapoint,
                                               parse_payload(body, self.max_payload_bytes), outcome)
        return {"session_id": session_id}

    def get_session(self, partner: str, datapoint: str, session_id: str) -> dict:
        record = self.store.get_session(session_id)
        if record is None or (record.partner, record.datapoint) != (partner, datapoint):
            raise RequestError(404, f"Session '{session_id}' not found")
        return {**session_view(record), "payload": json.loads(record.body)}

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
        self.dispatch(DeliveryJob(self.store, record, retries, 0.0))
        return {"status": "dispatched", "request_id": request_id}

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
        return 200, report.view()

    def _need_partners_dir(self) -> None:
        if not self.definitions.partner_dirs:
            raise RequestError(400, "No partners directory configured")

    def journal_entries(self, limit: int) -> list[dict]:
        return [entry.view() for entry in self.journal.latest(limit)]

    def status(self) -> dict:
        engine = self.engine()
        report = self.definitions.last_report
        return {"version": __version__, "partners": [s.name for s in engine.partners],
                "routes": len(engine.router), "sessions": self.store.count_sessions(),
                "faults": self.faults.list(),
                "last_reload": report.view() if report else None}
