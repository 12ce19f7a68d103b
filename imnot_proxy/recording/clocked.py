"""Time stamps an answer must carry, checked by value where shapes are not enough.

Where a recorded answer carried the moment it was recorded (``infer.stamps``: an ISO
date-time or date, epoch seconds or milliseconds), the replayed answer must carry
the moment it was replayed, in the same format. The replay check runs the mock's
clock ``SHIFT`` after the recording, so a time stamp the mock kept literal from one
recorded answer is told apart from one it writes with ``now()``. Where a route's answers
carried one text at one place while the clock moved past what the format tells
(``stamps.constant_places``), the replayed answer must carry that text.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from .compare import Observed
from .exchange import Exchange
from .infer.flows import Flow
from .infer.ids import mark_parameters, segments_of
from .infer.stamps import DAY, NEAR_SECONDS, Place, Stamp, constant_places, fresh, parse, xml_places

SHIFT = 3 * DAY + 3 * 3600 + 7 * 60 + 11.5  # the replay clock, after the recording's


Route = tuple[str, str, tuple[str | None, ...]]  # method, host, path shape


class Clock:
    """The recording's routes, and the places of their answers whose time stamps are
    constant (the same text recorded at moments further apart than the format tells)."""

    def __init__(self, exchanges: Sequence[Exchange], calls: Collection[int] = ()):
        """``calls``: the indexes of the partner's own calls (to a callback URL), whose
        request is what the partner sent."""
        flows = [Flow(i, ex, segments_of(ex.path)) for i, ex in enumerate(exchanges)
                 if ex.status is not None]
        mark_parameters(flows)
        self.routes: dict[int, Route] = {f.n: (f.method, f.host, f.shape) for f in flows}
        seen: dict[Route, list[tuple[Any, float]]] = {}
        for f in flows:
            sent = _body(f.ex, request=f.n in calls)
            seen.setdefault(self.routes[f.n], []).append((sent, f.ex.started))
        self.constant = {route: constant_places(obs) for route, obs in seen.items()}

    def untracked(self, index: int, recorded: Observed, replayed: Observed, started: float,
                  now: float) -> list[str]:
        """Where the replayed answer (at ``now``) to recorded request ``index`` does not
        carry its own moment as the recorded one (at ``started``) did."""
        constant = self.constant.get(self.routes.get(index, ("", "", ())), frozenset())
        check = _Check(started, now, constant)
        mine, theirs = recorded.json(), replayed.json()
        if mine is not None and theirs is not None:
            check.walk(mine, theirs, "$", ())
        elif mine is None and recorded.body.lstrip()[:1] == b"<" \
                and replayed.body.lstrip()[:1] == b"<":
            got: dict[Place, list[str]] = {}
            for place, value, _ in xml_places(replayed.body.decode("utf-8", "replace")):
                got.setdefault(place, []).append(value)
            seen: dict[Place, int] = {}
            for place, value, _ in xml_places(recorded.body.decode("utf-8", "replace")):
                n = seen[place] = seen.get(place, -1) + 1
                if n < len(got.get(place, ())):
                    check.one(value, got[place][n], place[0], place)
        return check.out


def _body(ex: Exchange, *, request: bool = False) -> Any:
    value = ex.request_json() if request else ex.response_json()
    if value is not None:
        return value
    data = ex.request_body if request else ex.response_body
    if data.lstrip()[:1] == b"<":
        return data.decode("utf-8", "replace")
    return None


class _Check:
    def __init__(self, started: float, now: float, constant: frozenset[Place]):
        self.started, self.now, self.constant = started, now, constant
        self.out: list[str] = []

    def walk(self, recorded: Any, replayed: Any, path: str, place: Place) -> None:
        if isinstance(recorded, dict):
            if isinstance(replayed, dict):
                for key, value in recorded.items():
                    if key in replayed:
                        self.walk(value, replayed[key], f"{path}.{key}", (*place, key))
        elif isinstance(recorded, list):
            if isinstance(replayed, list):
                for i, (a, b) in enumerate(zip(recorded, replayed, strict=False)):
                    self.walk(a, b, f"{path}[{i}]", (*place, "[]"))
        else:
            self.one(recorded, replayed, path, place)

    def one(self, recorded: Any, replayed: Any, where: str, place: Place) -> None:
        stamp = fresh(recorded, self.started)
        if stamp is None:
            return
        if place in self.constant:
            if replayed != recorded:
                self.out.append(f"{where} is {_show(replayed)}, not the constant time stamp "
                                f"{_show(recorded)}")
            return
        got = parse(replayed)
        if got is None:
            self.out.append(f"{where} is {_show(replayed)}, not a time stamp like "
                            f"{_show(recorded)}")
        elif got.expression != stamp.expression:
            self.out.append(f"{where} is {_show(replayed)}, not written as recorded "
                            f"({_show(recorded)})")
        elif not _tracks(stamp, got, self.started, self.now):
            self.out.append(f"{where} is {_show(replayed)}: a recorded time, not the time "
                            "of the answer")


def _tracks(recorded: Stamp, replayed: Stamp, started: float, now: float) -> bool:
    """The replayed stamp is as far from its answer's moment as the recorded one was."""
    slack = NEAR_SECONDS + max(recorded.resolution, replayed.resolution)
    return abs((recorded.moment - started) - (replayed.moment - now)) <= slack


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."
