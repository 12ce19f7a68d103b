"""Notice edits to partner files by polling their stat signature.

Polling (not inotify) works the same on every platform, in containers and on
network mounts, and costs a few ``stat`` calls a second.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

logger = logging.getLogger("imnot_proxy")

SUFFIXES = (".yaml", ".yml", ".json", ".xml", ".txt", ".csv", ".html")
MAX_SETTLE_WAIT = 60.0


def signature(paths: Iterable[str | Path]) -> frozenset[tuple[str, int, int]]:
    """(path, mtime_ns, size) of the partner and payload files under ``paths``.

    Walks only the layout the loader reads (top-level files, one level of partner
    folders, their ``payloads/`` and its per-datapoint folders) with ``os.scandir``,
    which is cheap even for thousands of partners.
    """
    found: set[tuple[str, int, int]] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            _add(found, str(path))
        elif path.is_dir():
            _scan(found, str(path), depth=3)
    return frozenset(found)


def _add(found: set, file: str) -> None:
    try:
        st = os.stat(file)
    except OSError:
        return
    found.add((file, st.st_mtime_ns, st.st_size))


def _scan(found: set, folder: str, depth: int) -> None:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir():
                if depth > 0:
                    _scan(found, entry.path, depth - 1)
            elif entry.name.endswith(SUFFIXES):
                st = entry.stat()
                found.add((entry.path, st.st_mtime_ns, st.st_size))
        except OSError:
            continue


async def watch_files(paths: Callable[[], Iterable[str | Path]], interval: Callable[[], float],
                      settle: Callable[[], float], on_change: Callable[[], object]) -> None:
    """Call ``on_change`` (in a worker thread) after the files under ``paths()`` change,
    until cancelled.

    A change is acted on only once the files have stayed the same for ``settle()``
    seconds, so a file that is still being written is not loaded half-way (at most
    ``MAX_SETTLE_WAIT`` seconds are given to a file that keeps changing).
    """
    previous = signature(paths())
    while True:
        await asyncio.sleep(interval())
        current = signature(paths())
        if current == previous:
            continue
        deadline = time.monotonic() + MAX_SETTLE_WAIT
        while True:
            await asyncio.sleep(settle())
            latest = signature(paths())
            if latest == current or time.monotonic() > deadline:
                break
            current = latest
        previous = latest
        try:
            await asyncio.to_thread(on_change)
        except Exception:  # noqa: BLE001 - the watcher must survive anything
            logger.exception("imnot_proxy: reload after a file change failed")
