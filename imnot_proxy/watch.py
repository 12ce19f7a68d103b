"""Notice edits to partner files by polling their stat signature.

Polling (not inotify) works the same on every platform, in containers and on
network mounts, and costs a few ``stat`` calls a second.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

SUFFIXES = (".yaml", ".yml", ".json")


def signature(paths: Iterable[str | Path]) -> frozenset[tuple[str, int, int]]:
    """(path, mtime_ns, size) of the partner and payload files under ``paths``.

    Walks only the layout the loader reads (top-level files, one level of partner
    folders, their ``payloads/``) with ``os.scandir``, which is cheap even for
    thousands of partners.
    """
    found: set[tuple[str, int, int]] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            _add(found, str(path))
        elif path.is_dir():
            _scan(found, str(path), depth=2)
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
