"""A store over another one whose state changes stay apart: the drift check's mock side.

Payloads and sessions are read from (and uploaded to) the real store, so the mock
answers with what the team uploaded. Everything a request changes — ids issued
(with their captured values), polls counted, cursors, callback requests and
deliveries, rate-limit tokens, template sequences, fault counters — goes to the
scratch store, so computing what the mock *would* answer never changes what it *will*
answer. Reading a session payload here does not stamp ``last_used``.
"""

from __future__ import annotations

from typing import Any

from ..errors import StoreError
from .base import (
    JSON_TYPE,
    CallbackRequest,
    Delivery,
    FaultRecord,
    IssuedId,
    Payload,
    SessionRecord,
    Store,
)


class ScratchStore:
    """Reads payloads and sessions from ``real``; keeps request state in ``scratch``."""

    def __init__(self, real: Store, scratch: Store):
        self.real = real
        self.scratch = scratch

    # payloads and sessions: the real ones
    def put_global(self, partner: str, datapoint: str, body: bytes,
                   outcome: str | None = None, *, name: str = "",
                   content_type: str = JSON_TYPE, if_absent: bool = False) -> str | None:
        return self.real.put_global(partner, datapoint, body, outcome, name=name,
                                    content_type=content_type, if_absent=if_absent)

    def get_global(self, partner: str, datapoint: str, name: str = "") -> Payload | None:
        return self.real.get_global(partner, datapoint, name)

    def payload_names(self, partner: str, datapoint: str) -> list[str]:
        return self.real.payload_names(partner, datapoint)

    def create_session(self, partner: str, datapoint: str, body: bytes,
                       outcome: str | None = None, *, name: str = "",
                       content_type: str = JSON_TYPE) -> str:
        return self.real.create_session(partner, datapoint, body, outcome, name=name,
                                        content_type=content_type)

    def open_session(self, session_id: str | None = None) -> str | None:
        return self.real.open_session(session_id)

    def put_session_payload(self, session_id: str, partner: str, datapoint: str, body: bytes,
                            outcome: str | None = None, *, name: str = "",
                            content_type: str = JSON_TYPE) -> bool:
        return self.real.put_session_payload(session_id, partner, datapoint, body, outcome,
                                             name=name, content_type=content_type)

    def session_payload(self, session_id: str, partner: str, datapoint: str,
                        name: str = "", *, touch: bool = True) -> Payload | None:
        return self.real.session_payload(session_id, partner, datapoint, name, touch=False)

    def get_session(self, session_id: str) -> SessionRecord | None:
        return self.real.get_session(session_id)

    def list_sessions(self, limit: int | None = None,
                      after: str | None = None) -> list[SessionRecord]:
        return self.real.list_sessions(limit, after)

    def count_sessions(self) -> int:
        return self.real.count_sessions()

    def delete_session(self, session_id: str) -> bool:
        return self.real.delete_session(session_id)

    def clear_sessions(self) -> int:
        return self.real.clear_sessions()

    # request state: the scratch store's
    def issue_id(self, partner: str, datapoint: str, session_id: str | None,
                 outcome: str | None = None,
                 captured: dict[str, Any] | None = None) -> IssuedId:
        return self.scratch.issue_id(partner, datapoint, session_id, outcome, captured)

    def get_id(self, partner: str, datapoint: str, id: str) -> IssuedId | None:
        return self.scratch.get_id(partner, datapoint, id)

    def count_poll(self, partner: str, datapoint: str, id: str) -> IssuedId | None:
        return self.scratch.count_poll(partner, datapoint, id)

    def add_callback(self, partner: str, datapoint: str, session_id: str | None,
                     url: str, method: str, captured: dict[str, Any] | None = None,
                     payload_name: str = "") -> CallbackRequest:
        return self.scratch.add_callback(partner, datapoint, session_id, url, method,
                                         captured, payload_name)

    def get_callback(self, partner: str, datapoint: str, id: str) -> CallbackRequest | None:
        return self.scratch.get_callback(partner, datapoint, id)

    def list_callbacks(self, session_id: str) -> list[CallbackRequest]:
        return self.scratch.list_callbacks(session_id)

    def log_delivery(self, request_id: str, attempt: int, status: int | None,
                     error: str | None) -> None:
        self.scratch.log_delivery(request_id, attempt, status, error)

    def deliveries(self, request_id: str) -> list[Delivery]:
        return self.scratch.deliveries(request_id)

    def add_cursor(self, partner: str, datapoint: str, session_id: str | None,
                   offset: int, ttl_seconds: int) -> str:
        return self.scratch.add_cursor(partner, datapoint, session_id, offset, ttl_seconds)

    def get_cursor(self, partner: str, datapoint: str, session_id: str | None,
                   cursor: str) -> int | None:
        return self.scratch.get_cursor(partner, datapoint, session_id, cursor)

    def take_token(self, key: str, per_minute: int) -> float:
        return self.scratch.take_token(key, per_minute)

    def next_sequence(self, key: str) -> int:
        return self.scratch.next_sequence(key)

    # faults set at run time: the real ones; their request counters: the scratch store's
    def add_fault(self, partner: str, session_id: str | None, spec: bytes,
                  expires_at: float | None) -> FaultRecord:
        return self.real.add_fault(partner, session_id, spec, expires_at)

    def list_faults(self, session_id: str | None = None) -> list[FaultRecord]:
        return self.real.list_faults(session_id)

    def active_faults(self) -> tuple[FaultRecord, ...]:
        return self.real.active_faults()

    def delete_fault(self, fault_id: str) -> bool:
        self.scratch.delete_fault(fault_id)  # its counters
        return self.real.delete_fault(fault_id)

    def clear_faults(self, session_id: str | None = None) -> int:
        for fault in self.real.list_faults(session_id):
            self.scratch.delete_fault(fault.id)
        return self.real.clear_faults(session_id)

    def count_fault(self, key: str) -> tuple[int, float]:
        return self.scratch.count_fault(key)

    @property
    def name(self) -> str:
        return self.real.name

    def now(self) -> float:
        return self.real.now()

    def health(self) -> StoreError | None:
        return self.real.health()

    def close(self) -> None:
        """Closes the scratch store only; the real one belongs to its owner."""
        self.scratch.close()
