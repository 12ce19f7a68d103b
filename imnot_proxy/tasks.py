"""Background work on the proxy's event loop: kept referenced, cancelled at shutdown, and
reachable from worker threads.

asyncio keeps only a weak reference to a task; a callback delivery or the file
watcher that nobody holds could be collected mid-flight. Admin changes run in
worker threads; what they start (a callback retrigger, the TLS allow list
following a new partner) must still run on the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any


class Tasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self) -> None:
        """Remember the running loop (call from the loop), for calls from other threads."""
        self._loop = asyncio.get_running_loop()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task:
        loop = asyncio.get_running_loop()
        self._loop = loop
        task = loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def dispatch(self, job: Any) -> None:
        """Run a job with an async ``run()`` (a callback delivery) in the background."""
        self.on_loop(lambda: self.spawn(job.run(), "imnot callback"))

    def on_loop(self, fn: Callable[[], object]) -> None:
        """Call ``fn`` now when on the loop's thread (or with no loop), else soon, on the loop."""
        loop = self._loop
        if loop is None or loop.is_closed() or _on_thread_of(loop):
            fn()
        else:
            loop.call_soon_threadsafe(fn)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def __len__(self) -> int:
        return len(self._tasks)


def _on_thread_of(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return threading.current_thread() is threading.main_thread() and not loop.is_running()


def loop_running() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False
