"""State store: the interface and its backends, chosen by URL or path."""

from __future__ import annotations

from pathlib import Path

from ..errors import StoreError
from .base import CallbackRequest, Delivery, FaultRecord, IssuedId, Payload, SessionRecord, Store
from .sqlite import SqliteStore

__all__ = [
    "CallbackRequest", "Delivery", "FaultRecord", "IssuedId", "Payload", "SessionRecord",
    "SqliteStore",
    "Store", "open_store",
]


KINDS = "a path, sqlite:///path, redis://[:password@]host:port/db, rediss://… or unix://…"


def open_store(target: str | Path) -> Store:
    """Open a store: a path or ``sqlite:///path`` (SQLite), or ``redis://``, ``rediss://``,
    ``unix://`` (Redis or Valkey, see ``store/redis/url.py``). Raises ``StoreError`` with one
    line naming the URL, its password masked, and at most one piece of advice."""
    text = str(target)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///"):]
    elif "://" in text:
        from .redis import url as redis_url  # only a Redis store pays for importing redis

        masked = redis_url.mask(text)
        if not redis_url.is_redis_url(text):
            scheme = text.split("://", 1)[0].lower()
            raise StoreError(f"cannot open store {masked}: unknown scheme {scheme!r}; use {KINDS}",
                             store=masked)
        try:
            parsed = redis_url.parse(text)
        except ValueError as exc:  # its message says what to write instead, when it can
            raise StoreError(f"cannot open store {masked}: {exc}", store=masked) from None
        from .redis import RedisStore

        return RedisStore(parsed)
    return SqliteStore(Path(text))
