"""The route table: host, method and path template to a route, compiled once per load.

Lookups walk a segment trie per host table, so their cost depends on the depth
of the path, not on the number of partners or routes. Literal segments beat
``{param}`` segments; ``HEAD`` is answered by a ``GET`` route when no ``HEAD``
route exists; a trailing slash is ignored. A partner without ``hosts`` lands in
the any-host table, which is tried after the host-specific tables.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any
from urllib.parse import unquote

from .messages import clean_text

ANY_HOST = "*"


def split_path(path: str) -> list[str]:
    """Path (no query) to segments; ``/`` is no segment, a trailing slash is ignored."""
    path = clean_text(unquote(path))
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path.split("/")[1:] if path != "/" else []


def is_param(segment: str) -> bool:
    return len(segment) > 2 and segment[0] == "{" and segment[-1] == "}"


def path_shape(path: str) -> str:
    """Template with parameter names erased: ``/a/{id}`` and ``/a/{x}`` are the same route."""
    return "/" + "/".join("{}" if is_param(s) else s for s in split_path(path))


@dataclass(frozen=True, eq=False)
class Route:
    """One (host, method, path template) and what answers it.

    Built by name and changed with ``dataclasses.replace`` only, so a new field is
    never dropped by a copy.
    """

    host: str  # exact name, "*.suffix" or ANY_HOST
    method: str
    path: str
    partner: str
    datapoint: str
    pattern: str
    step: int | None = None
    target: Any = field(default=None, compare=False, repr=False)  # the handler
    endpoint: Any = field(default=None, compare=False, repr=False)  # the schema endpoint
    param_names: tuple[str, ...] = ()
    # ``when:`` of the endpoint: it answers only when this holds (see ``candidates``)
    condition: Any = field(default=None, compare=False, repr=False)
    # endpoints sharing this host, method and path, told apart by their conditions, in
    # the order they are tried (conditional ones as declared, the unconditional one last)
    candidates: tuple[Route, ...] = field(default=(), compare=False, repr=False)
    errors: str = field(default="auto", compare=False)  # json | xml | soap | auto

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def owner(self) -> str:
        return f"{self.partner}/{self.datapoint}"


@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, str]
    values: tuple[str, ...] = ()  # the path parameter values, in order

    def choose(self, route: Route) -> Match:
        """The same match for one of ``route.candidates`` (it may name its parameters
        differently)."""
        return Match(route, dict(zip(route.param_names, self.values, strict=False)), self.values)


@dataclass(frozen=True)
class Miss:
    """No route answered; ``allowed`` is non-empty when the path exists for other methods.

    ``closest`` is worked out only when asked for: most misses are traffic for other hosts
    that simply passes through.
    """

    allowed: tuple[str, ...] = ()
    host_known: bool = False
    tables: tuple[_Table, ...] = field(default=(), compare=False, repr=False)
    segments: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @cached_property
    def closest(self) -> tuple[Route, ...]:
        found: list[Route] = []
        for table in self.tables:
            found.extend(table.nearest(list(self.segments), 3 - len(found)))
            if len(found) >= 3:
                break
        return tuple(found)


class _Node:
    __slots__ = ("literal", "param", "routes")

    def __init__(self) -> None:
        self.literal: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.routes: dict[str, Route] = {}


class _Table:
    """A segment trie of the routes of one host key."""

    def __init__(self) -> None:
        self.root = _Node()
        self.count = 0

    def add(self, segments: list[str], route: Route) -> Route | None:
        node = self.root
        for seg in segments:
            if is_param(seg):
                node.param = node.param or _Node()
                node = node.param
            else:
                node = node.literal.setdefault(seg, _Node())
        existing = node.routes.get(route.method)
        if existing is None:
            # an endpoint with a when: answers only when it holds, even alone on its path
            node.routes[route.method] = route if route.condition is None else \
                replace(route, target=None, condition=None, candidates=(route,))
            self.count += 1
        elif route.condition is not None or existing.condition is not None \
                or existing.candidates:
            node.routes[route.method] = _grouped(existing, route)
            return None
        return existing

    def matches(self, segments: list[str]) -> Iterable[tuple[_Node, list[str]]]:
        """Nodes whose path matches, literal-first, with the parameter values."""
        stack: list[tuple[_Node, int, list[str]]] = [(self.root, 0, [])]
        while stack:
            node, depth, values = stack.pop()
            if depth == len(segments):
                if node.routes:
                    yield node, values
                continue
            seg = segments[depth]
            if node.param is not None and seg:
                stack.append((node.param, depth + 1, values + [seg]))
            child = node.literal.get(seg)
            if child is not None:
                stack.append((child, depth + 1, values))

    def nearest(self, segments: list[str], limit: int) -> list[Route]:
        """Routes under the deepest node the path reaches: the closest candidates."""
        trail = [self.root]
        node = self.root
        for seg in segments:
            nxt = node.literal.get(seg) or node.param
            if nxt is None:
                break
            node = nxt
            trail.append(node)
        found: list[Route] = []
        for start in reversed(trail):
            queue = deque([start])
            while queue and len(found) < limit:
                n = queue.popleft()
                for r in n.routes.values():
                    if r not in found:
                        found.append(r)
                queue.extend(n.literal.values())
                if n.param is not None:
                    queue.append(n.param)
            if len(found) >= limit:
                break
        return found[:limit]


class Router:
    """All routes of one load; build with ``add`` then only look up."""

    def __init__(self) -> None:
        self._exact: dict[str, _Table] = {}
        self._wild: dict[str, _Table] = {}  # key: ".suffix"
        self._any = _Table()
        self._all = _Table()  # every route whatever its host: for requests sent to the proxy port
        self.routes: list[Route] = []

    def add(self, route: Route) -> Route | None:
        """Add a route; returns the route already there for the same host, method and shape."""
        segments = split_path(route.path)
        names = tuple(s[1:-1] for s in segments if is_param(s))
        if route.param_names != names:
            route = replace(route, param_names=names)
        existing = self._table_for(route.host).add(segments, route)
        if existing is None:
            self.routes.append(route)
            self._all.add(segments, route)
        return existing

    def find(self, route: Route) -> Route | None:
        """The route already added for the same host key, method and path shape."""
        node: _Node | None = self._table_for(route.host).root
        for seg in split_path(route.path):
            node = node.param if is_param(seg) else node.literal.get(seg)
            if node is None:
                return None
        return node.routes.get(route.method)

    def _table_for(self, host: str) -> _Table:
        if host == ANY_HOST:
            return self._any
        if host.startswith("*."):
            return self._wild.setdefault(host[1:], _Table())
        return self._exact.setdefault(host, _Table())

    def is_partner_host(self, host: str) -> bool:
        """True when a partner names this host in its ``hosts:`` list."""
        return bool(self._host_tables(host.lower(), include_any=False))

    def _host_tables(self, host: str, *, include_any: bool = True) -> list[_Table]:
        tables = []
        table = self._exact.get(host)
        if table is not None:
            tables.append(table)
        if self._wild:
            dot = host.find(".")
            while dot != -1:
                table = self._wild.get(host[dot:])
                if table is not None:
                    tables.append(table)
                dot = host.find(".", dot + 1)
        if include_any and self._any.count:
            tables.append(self._any)
        return tables

    def resolve(self, host: str, method: str, path: str, *, direct: bool = False) -> Match | Miss:
        """Find the route for a request; ``direct`` requests (no real host) match any partner."""
        segments = split_path(path)
        tables = [self._all] if direct else self._host_tables(host.lower())
        allowed: list[str] = []
        for table in tables:
            for node, values in table.matches(segments):
                route = node.routes.get(method)
                if route is None and method == "HEAD":
                    route = node.routes.get("GET")
                if route is not None:
                    return Match(route, dict(zip(route.param_names, values, strict=False)),
                                 tuple(values))
                allowed.extend(m for m in node.routes if m not in allowed)
        host_known = bool(self._host_tables(host.lower(), include_any=False))
        return Miss(tuple(sorted(allowed)), host_known, tuple(tables), tuple(segments))

    def __len__(self) -> int:
        return len(self.routes)


def _grouped(existing: Route, route: Route) -> Route:
    """One place in the table for endpoints that share it and are told apart by ``when``:
    a route whose ``candidates`` are tried in order, the unconditional one last."""
    members = list(existing.candidates or (existing,)) + [route]
    ordered = [m for m in members if m.condition is not None]
    ordered += [m for m in members if m.condition is None]
    first = ordered[0]
    return replace(first, target=None, condition=None, candidates=tuple(ordered))
