"""``imnot_watch``: while it is on, a background task polls the partner files (``watch.py``)
and reloads the definitions when they change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from . import watch
from .definitions import Definitions
from .settings import Settings
from .tasks import Tasks, loop_running


class PartnerWatch:
    def __init__(self, tasks: Tasks, settings: Callable[[], Settings | None],
                 definitions: Callable[[], Definitions | None]):
        self._tasks = tasks
        self._settings = settings  # the current ones: the options may change while it runs
        self._definitions = definitions
        self._task: asyncio.Task | None = None

    def follow(self, settings: Settings) -> None:
        """Start or stop the watch as ``imnot_watch`` says (it starts once a loop runs)."""
        if not settings.watch and self._task is not None:
            self._task.cancel()
            self._task = None
        elif settings.watch and self._task is None and loop_running():
            self._task = self._tasks.spawn(watch.watch_files(
                lambda: current.partners if (current := self._settings()) else (),
                lambda: current.watch_interval if (current := self._settings()) else 1.0,
                lambda: current.watch_settle if (current := self._settings()) else 1.0,
                self._reload), "imnot watch")

    def _reload(self) -> None:
        definitions = self._definitions()
        if definitions is not None:
            definitions.reload()
