"""Time in one place: the clock type that stateful code takes, and the timestamp format.

Code that needs the time takes a ``Clock`` (``time.time`` by default) so that tests
move time forward by hand instead of sleeping or patching ``time``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]  # epoch seconds


def iso(at: float) -> str:
    """Epoch seconds as an ISO 8601 UTC timestamp with microseconds and a ``Z``."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="microseconds").replace(
        "+00:00", "Z")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
