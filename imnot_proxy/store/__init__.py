"""State store: the interface and its backends, chosen by URL or path."""

from __future__ import annotations

from pathlib import Path

from .base import CallbackRequest, Delivery, FaultRecord, IssuedId, Payload, SessionRecord, Store
from .sqlite import SqliteStore

__all__ = [
    "CallbackRequest", "Delivery", "FaultRecord", "IssuedId", "Payload", "SessionRecord", "SqliteStore",
    "Store", "open_store",
]


def open_store(target: str | Path) -> Store:
    """Open a store from a path (SQLite) or a ``sqlite:///path`` URL."""
    text = str(target)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///"):]
    elif "://" in text:
        raise ValueError(f"unsupported store URL {text!r}; use a path or sqlite:///path")
    return SqliteStore(Path(text))
