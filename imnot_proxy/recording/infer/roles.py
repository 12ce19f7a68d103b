"""Which route of a polling chain is the status and which the result, decided from every
request made on each id, not from the order routes were first called in.

A status route changes its successful answer over time for one id (PENDING, then
DONE). The result route answers the data (JSON or XML): its successful answer does not
change,
and it is the last route a client calls for an id. A result answered with an
error before its data (the client asked too early) gives the ``not_ready``
answer; a step route answered with an error for an id that no submit gave out
gives the ``unknown_id`` answer. Either makes the datapoint ``strict_order``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .answers import Answer, answer
from .flows import Flow
from .stamps import Place, constant_places


@dataclass
class Step:
    """One non-submit route of a chain: its flows per id, and those on ids not given out."""

    method: str
    shape: tuple[str | None, ...]
    id_pos: int
    first: Flow
    by_id: dict[str, list[Flow]] = field(default_factory=dict)
    strays: list[Flow] = field(default_factory=list)

    def all_flows(self) -> list[Flow]:
        return sorted([f for fs in self.by_id.values() for f in fs] + self.strays,
                      key=lambda f: f.n)

    def last(self) -> Flow:
        return self.all_flows()[-1]

    @cached_property
    def constant(self) -> frozenset[Place]:
        """The places of this route's answers whose time stamps stayed constant."""
        return constant_places((f.value, f.ex.started) for f in self.all_flows())

    def answer(self, flow: Flow, value: str) -> Answer:
        """One recorded answer with the id as ``{id}`` and fresh time stamps as ``now()``."""
        return answer(flow.ex, json_type_header=False, id_value=value, stamps=self.constant)

    def answers(self, value: str) -> list[Answer]:
        return [self.answer(f, value) for f in self.by_id.get(value, [])]

    def series(self, *, shortest: bool = False) -> list[tuple[Flow, str]]:
        """The answers for one id: the longest series recorded (the first of equals), or with
        ``shortest`` the shortest that reaches the final answer."""
        chosen: list[Flow] = []
        chosen_id = ""
        final = self._final_key()
        for value, flows in self.by_id.items():
            if shortest:
                complete = self.answers(value)[-1].key() == final
                if complete and (not chosen or len(flows) < len(chosen)):
                    chosen, chosen_id = flows, value
            elif len(flows) > len(chosen):
                chosen, chosen_id = flows, value
        if not chosen:
            return self.series()
        return [(f, chosen_id) for f in chosen]

    def _final_key(self) -> str:
        last = self.last()
        value = next((v for v, fs in self.by_id.items() if last in fs), None)
        if value is None:
            return ""
        return self.answers(value)[-1].key()

    def changes(self) -> bool:
        """Some id got two different successful answers here: a status."""
        return any(len({a.key() for a in self.answers(v) if _ok(a.status)}) > 1
                   for v in self.by_id)

    def early(self) -> tuple[Flow, str] | None:
        """The last error answer given to an id before that id's first success here."""
        found: tuple[Flow, str] | None = None
        for value, flows in self.by_id.items():
            for flow in flows:
                if _ok(flow.status):
                    break
                found = (flow, value) if found is None or flow.n > found[0].n else found
        return found


def _ok(status: int) -> bool:
    return 200 <= status < 300


@dataclass
class Roles:
    statuses: list[Step]
    result: Step | None
    not_ready: Answer | None = None
    unknown_id: Answer | None = None
    notes: list[str] = field(default_factory=list)
    why_result: str = ""

    @property
    def strict(self) -> bool:
        return self.not_ready is not None or self.unknown_id is not None


def decide(routes: list[Step]) -> Roles:
    """Roles of the routes of one chain (in the order they were first called)."""
    candidates = [r for r in routes if r.method != "HEAD" and not r.changes()
                  and _last_success(r) is not None]
    result = max(candidates, key=lambda r: _rank(r, routes), default=None)
    statuses = [r for r in routes if r is not result]
    roles = Roles(statuses, result)
    if result is None:
        return roles
    if len(candidates) > 1:
        roles.why_result = "; the route called last on each id"
    early = result.early()
    if early is not None:
        flow, value = early
        moving = any(len(_runs(s)) > 1 for s in statuses)
        if moving:
            roles.not_ready = result.answer(flow, value)
        elif not statuses:
            # The only route: its early answers become pending answers of a status step.
            return Roles([result], None)
        else:
            roles.notes.append(
                f"flow {flow.n} asked for the result too early ({flow.status}) but no status "
                "step changed its answer: the mock answers the result at once")
    roles.unknown_id = _unknown(routes, roles.notes)
    return roles


def _last_success(route: Step) -> Flow | None:
    done = [f for f in route.all_flows() if _ok(f.status) and f.value is not None]
    return done[-1] if done else None


def _rank(route: Step, routes: list[Step]) -> tuple[float, int]:
    """How late this route comes among the calls on each id (higher: later), then first seen."""
    positions = []
    for value, flows in route.by_id.items():
        on_id = sorted(f.n for r in routes for f in r.by_id.get(value, []))
        last = max(f.n for f in flows)
        positions.append(on_id.index(last) / max(1, len(on_id) - 1))
    late = sum(positions) / len(positions) if positions else 0.0
    return (late, route.first.n)


def _runs(route: Step) -> list[str]:
    keys: list[str] = []
    for flow, value in route.series():
        key = route.answer(flow, value).key()
        if not keys or keys[-1] != key:
            keys.append(key)
    return keys


def _unknown(routes: list[Step], notes: list[str]) -> Answer | None:
    """The error answer for an id no submit gave out, when the recording shows one."""
    errors = [(f, r) for r in routes for f in r.strays if not _ok(f.status)]
    if not errors:
        return None
    flow, route = max(errors, key=lambda fr: fr[0].n)
    value = flow.segments[route.id_pos]
    chosen = route.answer(flow, value)
    if len({r.answer(f, f.segments[r.id_pos]).key() for f, r in errors}) > 1:
        notes.append(f"requests on unknown ids got different answers; kept flow {flow.n}'s")
    return chosen
