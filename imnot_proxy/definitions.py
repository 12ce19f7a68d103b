"""The partner definitions being served: the one place that loads, registers and swaps.

Start-up, ``reload``, a registration or a deletion through the admin API all end
in ``apply``: build a new engine over the same store, then swap it in with one
assignment, so a request sees the old table or the new one, never a mix. Whoever
needs to follow the swap (the TLS allow list of the proxy) subscribes with
``on_swap``; nothing here knows about mitmproxy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import loader, registry
from .clock import now_iso
from .engine import Engine, EngineSettings, Policy
from .errors import RequestError, StoreError
from .loader import PartnerSource
from .seeding import seed_payloads
from .store import Store
from .yamlsafe import DEFAULT_LIMITS, Limits

logger = logging.getLogger("imnot_proxy")

SHARED_FOLDER = Path("<shared>")  # partners registered on another replica appear to live here


@dataclass
class ReloadReport:
    """What a load changed. ``kept``: files that failed and keep serving their last good
    version; a report with problems is ``partial`` (the rest was applied)."""

    ok: bool
    partners: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # "host METHOD path (partner/datapoint)"
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    at: str = ""
    kept: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # "METHOD path", the original's way
    new: list[str] = field(default_factory=list)  # "METHOD path" and "admin routes for p/dp"

    @property
    def status(self) -> str:
        if not self.ok:
            return "error"
        return "partial" if self.problems else "ok"

    def view(self) -> dict:
        """Ours, plus the original's keys with its meaning: ``updated`` (routes served before
        and after), ``added`` (new routes and new admin routes), ``conflicts`` (problems)."""
        return {"status": self.status, "updated": self.updated, "added": self.new,
                "conflicts": self.problems, "partners": self.partners,
                "routes_added": self.added, "routes_removed": self.removed,
                "problems": self.problems, "kept": self.kept, "at": self.at}


class Definitions:
    """Holds the current engine; every change of partner definitions goes through here."""

    def __init__(self, paths: Sequence[str], store: Store,
                 settings: EngineSettings | None = None, limits: Limits = DEFAULT_LIMITS):
        self.paths = list(paths)
        self.store = store
        self.settings = settings or EngineSettings()
        self.limits = limits
        self.engine: Engine | None = None
        # Changes may come from the event loop, the watcher and admin worker threads at once;
        # each is computed from the engine it replaces, so they take turns.
        self._changing = threading.RLock()
        self.last_report: ReloadReport | None = None
        self._listeners: list[Callable[[Engine], None]] = []
        self.shared: Any = None  # replicas.partners.SharedPartners, with a shared store

    def share(self, shared: Any) -> None:
        """Replicas: announce registrations, deletions and reloads to the others, and serve
        what they announced (``shared.overlay``) on top of the files after every load."""
        self.shared = shared

    def refresh(self) -> ReloadReport | None:
        """Apply what other replicas announced; None when nothing changed here."""
        with self._changing:
            if self.engine is None:  # the first load applies everything announced so far
                return None
            current = list(self.engine.partners)
            merged = self._overlay(current) if self.shared is not None else current
            if [(s.name, s.model) for s in merged] == [(s.name, s.model) for s in current]:
                return None
            return self._apply(merged, None)

    def _overlay(self, partners: list[PartnerSource]) -> list[PartnerSource]:
        """The shared changes applied to ``partners``; a partner deleted through another
        replica also loses the file this replica holds for it, where a registration writes
        it (``registry.remove_deleted``), so that no later start or offline command sees it
        again. Any other file of it is kept, and not served while the deletion stands."""
        merged = self.shared.overlay(partners)
        for source in partners:
            deleted_at = self.shared.deletions.get(source.name)
            if deleted_at is None or source.file.is_relative_to(SHARED_FOLDER):
                continue
            try:
                removed = registry.remove_deleted(source, self.partner_dirs, deleted_at)
            except (RequestError, OSError) as exc:
                logger.warning("imnot_proxy: partner %s was deleted on another replica; its "
                               "file here is kept and not served: %s", source.name,
                               getattr(exc, "detail", exc))
                continue
            if removed is not None:
                logger.info("imnot_proxy: partner %s was deleted on another replica; %s "
                            "deleted here", source.name, removed)
        return merged

    def on_swap(self, listener: Callable[[Engine], None]) -> None:
        self._listeners.append(listener)

    def current(self) -> Engine:
        if self.engine is None:
            raise RequestError(503, "partner definitions are not loaded yet")
        return self.engine

    @property
    def partner_dirs(self) -> list[Path]:
        return [Path(p) for p in self.paths if Path(p).is_dir()]

    def set_policy(self, policy: Policy) -> None:
        """New decision options for the current engine and every engine built later."""
        self.settings = replace(self.settings, policy=policy)
        if self.engine is not None:
            self.engine.policy = policy

    # --- changes ------------------------------------------------------------------

    def reload(self, *, initial: bool = False) -> ReloadReport:
        """Load the partner files and swap the engine.

        A file with errors is reported and does not stop the others: a file that served
        before keeps serving its last good version, a new one is skipped.
        """
        with self._changing:
            return self._reload()

    def _reload(self) -> ReloadReport:
        result = loader.load_paths(self.paths, limits=self.limits)
        for problem in result.problems:
            logger.warning("imnot_proxy: %s", problem)
        problems = [str(p) for p in result.errors]
        partners, kept = result.partners, []
        broken = {Path(p.file) for p in result.errors}
        if self.engine is not None and broken:
            loaded = {s.file for s in partners}
            previous = [s for s in self.engine.partners
                        if s.file in broken and s.file not in loaded]
            if previous:
                order = {file: i for i, file in enumerate(result.files)}
                merged = sorted(partners + previous, key=lambda s: order.get(s.file, len(order)))
                partners, conflicts = loader.check_across(merged)
                problems += [str(c) for c in conflicts]
                kept = [str(s.file) for s in previous if s in partners]
                logger.warning("imnot_proxy: the last good version of %s keeps serving",
                               ", ".join(kept))
        if self.shared is not None:
            partners = self._overlay(partners)
        report = self._apply(partners, problems)
        report.kept = kept
        return report

    def apply(self, partners: list[PartnerSource], *,
              problems: list[str] | None = None) -> ReloadReport:
        """Build an engine for these partners and swap it in, in one assignment."""
        with self._changing:
            return self._apply(partners, problems)

    def _apply(self, partners: list[PartnerSource], problems: list[str] | None
               ) -> ReloadReport:
        engine = Engine(partners, self.store, self.settings)
        try:
            seeded = seed_payloads(partners, self.store)
        except StoreError as exc:  # the files still load; their payloads wait for the store
            logger.warning("imnot_proxy: payload files not loaded: %s", exc)
            seeded = []
        if seeded:
            logger.info("imnot_proxy: payload files loaded for %s", ", ".join(seeded))
        old = self.engine
        before = old.route_labels() if old is not None else set()
        after = engine.route_labels()
        updated, new = _original_changes(old, engine)
        self.engine = engine
        for listener in self._listeners:
            listener(engine)
        logger.info("imnot_proxy: %d partners, %d routes", len(partners), len(engine.router))
        self.last_report = ReloadReport(True, [s.name for s in partners], sorted(after - before),
                                        sorted(before - after), problems or [], now_iso(),
                                        updated=updated, new=new)
        return self.last_report

    def register(self, text: str, *, force: bool = False, dry_run: bool = False
                 ) -> tuple[registry.Registration, ReloadReport | None]:
        """Validate a partner file against the others, write it and serve it at once."""
        folder = self._first_dir()
        with self._changing:
            result, partners = registry.register(text, folder, list(self.current().partners),
                                                 force=force, dry_run=dry_run,
                                                 limits=self.limits)
            if dry_run:
                return result, None
            report = self._apply(partners, None)
            if self.shared is not None:
                self.shared.registered(result.source.name, text)
            return result, report

    def unregister(self, name: str) -> ReloadReport:
        """Delete a partner's file and stop serving its routes at once."""
        with self._changing:
            if self.engine is None:  # the first load applies everything announced so far
                return None
            current = list(self.engine.partners)
            shared = self.shared is not None and any(
                s.name == name and s.file.is_relative_to(SHARED_FOLDER) for s in current)
            if shared:  # registered on another replica: no file here
                partners = [s for s in current if s.name != name]
            else:
                partners = registry.unregister(name, self.partner_dirs, current)
            report = self._apply(partners, None)
            if self.shared is not None:
                self.shared.deleted(name)
            return report

    def _first_dir(self) -> Path:
        dirs = self.partner_dirs
        if not dirs:
            raise RequestError(400, "No partners directory configured")
        return dirs[0]


def _original_changes(old: Engine | None, new: Engine) -> tuple[list[str], list[str]]:
    """The original's reload lists: routes kept (``updated``) and routes new to this load,
    with ``admin routes for p/dp`` for a payload datapoint that had none (``added``)."""
    def routes(engine: Engine | None) -> set[str]:
        return {f"{r.method} {r.path}" for r in engine.router.routes} if engine else set()

    def payload_datapoints(engine: Engine | None) -> set[tuple[str, str]]:
        if engine is None:
            return set()
        return {key for key in engine.datapoints if engine.payload_datapoint(*key)}

    before, after = routes(old), routes(new)
    admin = sorted(payload_datapoints(new) - payload_datapoints(old))
    return sorted(before & after), sorted(after - before) + [
        f"admin routes for {p}/{d}" for p, d in admin]
