"""Notice edits to partner files by polling their stat signature.

Polling (not inotify) works the same on every platform, in containers and on
network mounts, and costs a few ``stat`` calls a second.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SUFFIXES = (".yaml", ".yml", ".json")


def signature(paths: Iterable[str | Path]) -> frozenset[tuple[str, int, int]]:
    """(path, mtime_ns, size) of every partner and payload file under ``paths``."""
    found: set[tuple[str, int, int]] = set()
    for raw in paths:
        path = Path(raw)
        candidates = [path] if path.is_file() else (
            p for p in path.rglob("*") if p.suffix in SUFFIXES) if path.is_dir() else []
        for file in candidates:
            try:
                st = file.stat()
            except OSError:
                continue
            found.add((str(file), st.st_mtime_ns, st.st_size))
    return frozenset(found)
