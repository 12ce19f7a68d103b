"""What replicas share besides the store: the journal, delayed callbacks, partner changes.

``for_store`` picks by the store: on Redis, a journal stream with each entry's
replica name, a callback queue every replica polls, and partner registrations
broadcast to every replica; on SQLite (one host), the journal of this process
and callbacks delivered by the process that accepted them (the delivery log is in
the store either way).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

from ..journal import DEFAULT_SIZE, Journal, MemoryJournal
from ..store import Store


def default_replica_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Local:
    """One process, or several on one SQLite file: the journal is this process's, or
    (``shared_journal``, for workers) a table in the SQLite file; callbacks are delivered by
    the process that accepted them."""

    shared = False

    def __init__(self, dispatch: Callable[[Any], None], size: int = DEFAULT_SIZE,
                 journal: Any = None):
        self.journal: Journal = journal if journal is not None else MemoryJournal(size)
        self.dispatch = dispatch

    def attach(self, definitions: Any) -> None:
        pass

    def start(self, spawn: Callable[[Any, str], Any]) -> None:
        pass

    def close(self) -> None:
        close = getattr(self.journal, "close", None)
        if close is not None:
            close()


class Shared:
    """Replicas on one Redis: journal stream, callback queue, partner broadcast."""

    shared = True

    def __init__(self, store: Any, replica: str, size: int = DEFAULT_SIZE):
        from .callbacks import CallbackQueue
        from .journal import RedisJournal
        from .partners import SharedPartners

        self.journal = RedisJournal(store.client, store.keys.named("journal"), replica,
                                    store_name=store.name, size=size)
        self.queue = CallbackQueue(store)
        self.dispatch = self.queue.dispatch
        self.partners = SharedPartners(store)
        self._task: Any = None

    def attach(self, definitions: Any) -> None:
        definitions.share(self.partners)
        self.partners.attach(definitions)

    def start(self, spawn: Callable[[Any, str], Any]) -> None:
        if self._task is None:
            self._task = spawn(self.queue.run(spawn), "imnot callback queue")

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.partners.close()
        self.journal.close()


def for_store(store: Store, replica: str, dispatch: Callable[[Any], None],
              size: int = DEFAULT_SIZE, *, shared_journal: bool = False) -> Local | Shared:
    if getattr(store, "shared", False):  # the Redis store
        return Shared(store, replica, size)
    path = getattr(store, "path", None)
    if shared_journal and path is not None:
        from .sqlite_journal import SqliteJournal

        return Local(dispatch, size, SqliteJournal(path, replica, size=size))
    return Local(dispatch, size)
