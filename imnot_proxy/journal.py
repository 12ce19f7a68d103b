"""The journal: the last partner requests and how each was answered.

An entry is a named record built once per flow and formatted only when someone
reads it (``view``), so a busy proxy pays for a few attribute writes per request.
``Journal`` is the interface (the admin API, the log lines and later a journal
shared by several replicas use it); ``MemoryJournal`` keeps the newest entries of
this process.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

from .clock import iso

DEFAULT_SIZE = 500


@dataclass(frozen=True, slots=True)
class JournalEntry:
    at: float  # epoch seconds
    kind: str  # mock | miss | passthrough | record | error
    method: str
    scheme: str
    host: str
    port: int
    path: str  # with the query string
    status: int | None
    seconds: float  # time spent deciding and answering
    partner: str | None = None
    datapoint: str | None = None
    route: str | None = None
    step: str | None = None
    session: str | None = None
    closest: tuple[str, ...] | None = None
    note: str | None = None  # the flow comment
    request_id: str | None = None  # the X-Request-ID of the answer
    choice: str | None = None  # the alternative that answered ("when#2 (header X-Tier=gold)")
    body: str | None = None  # the request body, redacted (``journalbody``), when kept
    body_kept: bool = False  # whether bodies are kept at all (imnot_journal_bodies)
    replica: str | None = None  # which proxy served it (a journal shared by replicas)

    @property
    def url(self) -> str:
        default = 443 if self.scheme == "https" else 80
        authority = self.host if self.port == default else f"{self.host}:{self.port}"
        return f"{self.scheme}://{authority}{self.path}"

    def view(self) -> dict:
        """The JSON shape of the entry (admin API, JSON log lines)."""
        view = {
            "at": iso(self.at), "kind": self.kind, "method": self.method, "url": self.url,
            "status": self.status, "partner": self.partner, "datapoint": self.datapoint,
            "route": self.route, "step": self.step, "choice": self.choice,
            "session": self.session,
            "closest": list(self.closest) if self.closest is not None else None,
            "note": self.note, "request_id": self.request_id,
            "ms": round(self.seconds * 1000, 2),
            **({"replica": self.replica} if self.replica is not None else {}),
        }
        if self.body_kept:
            view["body"] = self.body
        return view


class Journal(Protocol):
    def add(self, entry: JournalEntry) -> None: ...
    def latest(self, limit: int) -> list[JournalEntry]:
        """Newest first."""
        ...


class MemoryJournal:
    """The newest ``size`` entries of this process."""

    def __init__(self, size: int = DEFAULT_SIZE):
        self._entries: deque[JournalEntry] = deque(maxlen=size)

    @property
    def size(self) -> int:
        return self._entries.maxlen or 0

    def resize(self, size: int) -> None:
        """Keep at most ``size`` entries from now on (the newest are kept)."""
        self._entries = deque(self._entries, maxlen=size)

    def add(self, entry: JournalEntry) -> None:
        self._entries.append(entry)

    def latest(self, limit: int) -> list[JournalEntry]:
        entries = list(self._entries)
        return entries[::-1][:max(0, limit)]

    def __len__(self) -> int:
        return len(self._entries)
