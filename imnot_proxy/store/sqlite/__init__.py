"""The SQLite backend, the default store: a path or a ``sqlite:///path`` store URL."""

from .migrations import MIGRATIONS
from .store import SqliteStore

__all__ = ["MIGRATIONS", "SqliteStore"]
