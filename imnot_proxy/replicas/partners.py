"""Partner files registered or deleted at runtime, shared by every replica.

The partners directory of each replica is what it serves at start. A partner
registered (or deleted) through the admin API of one replica is also written to
a Redis hash, name → ``{"text", "deleted", "v"}``, with a version taken from one
counter, and announced on the prefix's event channel. Every replica applies the
entries newer than the last it applied, in memory, on top of what its own files
say (``overlay``, which ``Definitions`` also applies after each reload, so a
restarted replica gets them back). A deletion also carries its time on Redis's
clock, so that a replica can tell a file of its own written before the deletion
(which it removes, see ``Definitions``) from one put there since. A reload through
the admin API is announced too, and every replica reloads its own files. A
reconnection to Redis triggers a full comparison, since announcements may have
been missed.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from .. import loader
from ..definitions import SHARED_FOLDER
from ..errors import StoreError
from ..loader import PartnerSource
from ..store.redis import RedisStore
from ..store.redis.keys import NOW

logger = logging.getLogger("imnot_proxy")

# KEYS: hash, version counter. ARGV: now, name, text ("" when deleted), channel, event kind.
PUBLISH = NOW + """
local v = redis.call('INCR', KEYS[2])
local entry = cjson.encode({text = ARGV[3], deleted = (ARGV[3] == ''), v = v, at = now})
redis.call('HSET', KEYS[1], ARGV[2], entry)
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ':' .. v)
return v
"""


class SharedPartners:
    def __init__(self, store: RedisStore):
        self.store = store
        self.hash = store.keys.named("partners")
        self.version = store.keys.named("partners:v")
        self._publish = store.script(PUBLISH)
        self._parsed: dict[tuple[str, int], PartnerSource | None] = {}
        self.applied = 0
        # name -> when it was deleted (this host's clock; 0.0 when unknown), as last read
        self.deletions: dict[str, float] = {}
        self.definitions = None
        self._pending = threading.Event()
        self._reload = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    # --- announcing our own changes ------------------------------------------------

    def registered(self, name: str, text: str) -> None:
        self._announce(name, text)

    def deleted(self, name: str) -> None:
        self._announce(name, "")

    def reloaded(self) -> None:
        self.store.publish("reload", "all")

    def _announce(self, name: str, text: str) -> None:
        with self.store.guard():
            version = int(self._publish(keys=[self.hash, self.version],
                                        args=[self.store.script_now(), name, text,
                                              self.store.keys.events, "partners"]))
        self.applied = max(self.applied, version)

    # --- applying everyone's ----------------------------------------------------------

    def overlay(self, partners: list[PartnerSource]) -> list[PartnerSource]:
        """``partners`` with the shared registrations put in and the shared deletions taken
        out (by name); conflicting routes keep the file's partner and are logged.
        ``deletions`` then holds the deletions read."""
        try:
            with self.store.guard():
                raw = self.store.client.hgetall(self.hash)
        except StoreError as exc:
            logger.warning("imnot_proxy: partners shared by other replicas not applied: %s",
                           exc)
            return partners
        entries = sorted((json.loads(v) | {"name": k.decode()} for k, v in raw.items()),
                         key=lambda e: e["v"])
        by_name = {s.name: s for s in partners}
        offset = self.store.now() - time.time()  # Redis's clock minus this host's
        deletions = {}
        for entry in entries:
            self.applied = max(self.applied, int(entry["v"]))
            if entry["deleted"]:
                by_name.pop(entry["name"], None)
                at = entry.get("at")  # absent from entries written by older versions
                deletions[entry["name"]] = float(at) - offset if at else 0.0
                continue
            source = self._parse(entry["name"], int(entry["v"]), entry["text"])
            if source is not None:
                current = by_name.get(source.name)
                if current is None or current.model != source.model:
                    by_name[source.name] = source
        self.deletions = deletions
        merged, conflicts = loader.check_across(list(by_name.values()))
        for problem in conflicts:
            logger.warning("imnot_proxy: shared partner not served here: %s", problem)
        return merged

    def _parse(self, name: str, version: int, text: str) -> PartnerSource | None:
        key = (name, version)
        if key not in self._parsed:
            source, problems = loader.parse_partner(text, f"<shared partner {name}>")
            errors = [p for p in problems if p.is_error]
            if source is None or errors:
                logger.warning("imnot_proxy: shared partner %s ignored: %s", name,
                               "; ".join(str(p) for p in errors))
                source = None
            else:
                source = PartnerSource(source.model, SHARED_FOLDER / name / "partner.yaml",
                                       source.lines)
            self._parsed[key] = source
        return self._parsed[key]

    def attach(self, definitions) -> None:
        """Follow the announcements: apply them to ``definitions`` in a thread of our own,
        so that a slow engine build never holds the store's listener up."""
        self.definitions = definitions
        self.store.listener.on_event("partners", self._on_partners)
        self.store.listener.on_event("reload", self._on_reload)
        self._thread = threading.Thread(target=self._run, name="imnot partners",
                                        daemon=True)
        self._thread.start()

    def _on_partners(self, data: str) -> None:
        if not data or int(data) > self.applied:
            self._pending.set()

    def _on_reload(self, data: str) -> None:
        if data:  # "" is a reconnection, which _on_partners already follows
            self._reload.set()
            self._pending.set()

    def _run(self) -> None:
        while not self._closed:
            self._pending.wait(1.0)
            if self._closed:
                break
            reload = self._reload.is_set()
            if not (self._pending.is_set() or reload):
                continue
            self._pending.clear()
            self._reload.clear()
            try:
                if reload:
                    self.definitions.reload()
                else:
                    self.definitions.refresh()
            except Exception:  # noqa: BLE001 - keep following the announcements
                logger.exception("imnot_proxy: applying shared partners failed")

    def close(self) -> None:
        self._closed = True
        self._pending.set()
