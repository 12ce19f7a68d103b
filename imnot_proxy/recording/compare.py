"""How two answers to the same request differ: status, body shape, Content-Type, Location.

The replay check compares a recorded answer with the mock's, the drift check the
real partner's with the mock's. Values are not compared, shapes are: a JSON body
by its keys (recursively) and value types, an XML body by its element and
attribute paths, anything else by kind (empty, text, binary). A Location is
compared with its id segments as ``{id}``. Fields named in an ``Ignore`` (by
name at any depth, or by dotted path from the top) are left out of body shapes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from ..lang.requestdata import parse_xml
from .infer.ids import id_kind, segments_of

Pairs = tuple[tuple[str, str], ...]
LOCATION_HEADERS = ("location", "content-location", "operation-location")
MAX_DETAILS = 4  # body differences listed per step; the rest are counted


@dataclass(frozen=True)
class Observed:
    """One answer as compared: status (None: no answer), headers and body bytes."""

    status: int | None
    headers: Pairs = ()
    body: bytes = b""

    @cached_property
    def _by_name(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in self.headers:
            out.setdefault(key.lower(), value)
        return out

    def header(self, name: str) -> str | None:
        return self._by_name.get(name.lower())

    @cached_property
    def media_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    @cached_property
    def _parsed(self) -> Any:
        if not self.body or self.body.lstrip()[:1] not in (b"{", b"["):
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def json(self) -> Any:
        """The body as JSON, or None (parsed once)."""
        return self._parsed


def _norm(name: str) -> str:
    return re.sub(r"[-_ .]", "", name).lower()


def _words(name: str) -> list[str]:
    """``createdAt``, ``created_at``, ``Created-At`` → ``["created", "at"]``."""
    return [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)]


@dataclass(frozen=True)
class Ignore:
    """Body fields left out of shape comparisons: ``names`` at any depth (compared without
    case, ``-``, ``_``), ``paths`` from the top (``data.items[].updatedAt``), and names whose
    last words are one of ``suffixes`` (``at`` takes ``createdAt`` and ``updated_at``, not
    ``format``)."""

    names: frozenset[str] = frozenset()
    paths: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    _seen: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, fields: Iterable[str]) -> Ignore:
        names, paths = set(), set()
        for raw in fields:
            text = raw.strip().removeprefix("$.")
            if not text:
                continue
            if "." in text or "[" in text:
                paths.add(text)
            else:
                names.add(_norm(text))
        return cls(frozenset(names), frozenset(paths))

    def __bool__(self) -> bool:
        return bool(self.names or self.paths or self.suffixes)

    def skips(self, key: str, path: str) -> bool:
        if self.paths and path in self.paths:
            return True
        known = self._seen.get(key)
        if known is None:
            known = self._by_name(key)
            if len(self._seen) < 4096:  # field names are few; bodies keyed by ids are not
                self._seen[key] = known
        return known

    def _by_name(self, key: str) -> bool:
        if _norm(key) in self.names:
            return True
        words = _words(key)
        return any(len(words) >= len(tail) and words[-len(tail):] == tail
                   for tail in map(str.split, self.suffixes))


NOTHING = Ignore()


# --- shapes --------------------------------------------------------------------------------


def json_shape(value: Any, ignore: Ignore = NOTHING, path: str = "",
               ids: frozenset[str] = frozenset()) -> Any:
    """Keys and value types: an object is a dict of shapes, an array ``("array", item)``
    with the merged shape of its items (None when empty), a scalar its JSON type. A key
    that is one of ``ids`` is ``{id}``."""
    # paths are only worked out when some are ignored (a drift check shapes every answer)
    return _shape(value, ignore if ignore else None, path if ignore.paths else None, ids)


_SCALAR_TYPES = {str: "string", int: "number", float: "number", bool: "boolean",
                 type(None): "null"}


def _shape(value: Any, ignore: Ignore | None, path: str | None, ids: frozenset[str]) -> Any:
    scalar = _SCALAR_TYPES.get(type(value))
    if scalar is not None:
        return scalar
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            key = str(key)
            where = None if path is None else (f"{path}.{key}" if path else key)
            if ignore is not None and ignore.skips(key, where or key):
                continue
            kind = _SCALAR_TYPES.get(type(item))
            out["{id}" if ids and key in ids else key] = kind if kind is not None else \
                _shape(item, ignore, where, ids)
        return out
    if isinstance(value, list):
        merged: Any = None
        inner = None if path is None else f"{path}[]"
        for item in value:
            shape = _shape(item, ignore, inner, ids)
            merged = shape if merged is None else _merge(merged, shape)
        return ("array", merged)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def _merge(a: Any, b: Any) -> Any:
    if a == b:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for key, shape in b.items():
            out[key] = _merge(out[key], shape) if key in out else shape
        return out
    if isinstance(a, tuple) and isinstance(b, tuple):
        if a[1] is None or b[1] is None:
            return a if b[1] is None else b
        return ("array", _merge(a[1], b[1]))
    return frozenset(_kinds(a) | _kinds(b))


def _kinds(shape: Any) -> set[str]:
    if isinstance(shape, frozenset):
        return set(shape)
    return {kind(shape)}


def kind(shape: Any) -> str:
    """A shape named in one word: object, array, string, number|null, ..."""
    if isinstance(shape, dict):
        return "object"
    if isinstance(shape, tuple):
        return "array"
    if isinstance(shape, frozenset):
        return "|".join(sorted(shape))
    return str(shape)


def xml_shape(body: bytes) -> frozenset[str] | None:
    """Element paths (local names) and attribute paths of an XML document, or None."""
    root = parse_xml(body)
    if root is None:
        return None
    out: set[str] = set()

    def walk(element: Any, prefix: str) -> None:
        tag = element.tag
        if not isinstance(tag, str):
            return
        here = f"{prefix}/{tag.rpartition('}')[2]}"
        out.add(here)
        for name in element.attrib:
            if not name.startswith("{http://www.w3.org/2000/xmlns"):
                out.add(f"{here}/@{name.rpartition('}')[2]}")
        for child in element:
            walk(child, here)

    walk(root, "")
    return frozenset(out)


def body_shape(answer: Observed, ignore: Ignore = NOTHING,
               ids: frozenset[str] = frozenset()) -> tuple[str, Any]:
    """``(kind, detail)``: ("empty", None), ("json", shape), ("xml", paths), ("text", None)
    or ("binary", None); JSON keys that are one of ``ids`` as ``{id}``."""
    body = answer.body
    if not body.strip():
        return ("empty", None)
    value = answer.json()
    if value is not None or body.strip() == b"null":
        return ("json", json_shape(value, ignore, "", ids))
    media = answer.media_type
    if "xml" in media or body.lstrip()[:1] == b"<":
        paths = xml_shape(body)
        if paths is not None:
            return ("xml", paths)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return ("binary", None)
    return ("text", None)


def location_shape(value: str | None, ids: Iterable[str] = ()) -> str | None:
    """A Location with its id segments as ``{id}``: known ids first, then id-shaped ones."""
    if value is None:
        return None
    known = set(ids)
    parts = urlsplit(value)
    segments = ["{id}" if s in known or id_kind(s) else s for s in segments_of(parts.path)]
    head = f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""
    return head + "/" + "/".join(segments)


# --- differences --------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    aspect: str  # status | body | content-type | location | answer
    detail: str

    def __str__(self) -> str:
        return f"{self.aspect}: {self.detail}"


@dataclass(frozen=True)
class Compared:
    differences: tuple[Difference, ...] = field(default=())

    @property
    def equal(self) -> bool:
        return not self.differences

    def aspects(self) -> set[str]:
        return {d.aspect for d in self.differences}


def compare(expected: Observed, got: Observed, *, ignore: Ignore = NOTHING,
            expected_ids: Iterable[str] = (), got_ids: Iterable[str] = ()) -> Compared:
    """How ``got`` differs from ``expected`` (the recorded or real answer)."""
    out: list[Difference] = []
    if expected.status != got.status:
        out.append(Difference("status", f"{expected.status or 'none'} ≠ {got.status or 'none'}"))
    if expected.status is None or got.status is None:
        return Compared(tuple(out))
    expected_ids, got_ids = frozenset(expected_ids), frozenset(got_ids)
    mine = body_shape(expected, ignore, expected_ids)
    theirs = body_shape(got, ignore, got_ids)
    if mine[0] != theirs[0]:
        out.append(Difference("body", f"{mine[0]} ≠ {theirs[0]}"))
    elif mine[0] == "json":
        found: list[str] = []
        shape_differences(mine[1], theirs[1], "$", found)
        out += _listed("body", found)
    elif mine[0] == "xml":
        missing = sorted(mine[1] - theirs[1])
        extra = sorted(theirs[1] - mine[1])
        out += _listed("body", [f"{p} missing" for p in missing]
                       + [f"{p} not expected" for p in extra])
    if mine[0] != "empty" or theirs[0] != "empty":
        a, b = expected.media_type, got.media_type
        if a and a != b:
            out.append(Difference("content-type", f"{a} ≠ {b or 'none'}"))
    for name in LOCATION_HEADERS:
        a_loc = location_shape(expected.header(name), expected_ids)
        b_loc = location_shape(got.header(name), got_ids)
        if a_loc != b_loc:
            out.append(Difference("location", f"{name} {a_loc or 'none'} ≠ {b_loc or 'none'}"))
    return Compared(tuple(out))


def _listed(aspect: str, found: list[str]) -> list[Difference]:
    out = [Difference(aspect, text) for text in found[:MAX_DETAILS]]
    if len(found) > MAX_DETAILS:
        out.append(Difference(aspect, f"and {len(found) - MAX_DETAILS} more"))
    return out


def shape_differences(expected: Any, got: Any, path: str, out: list[str]) -> None:
    """Each place where two JSON shapes differ, as ``$.a.b: string ≠ number``."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key, shape in expected.items():
            if key not in got:
                out.append(f"{path}.{key} missing")
            else:
                shape_differences(shape, got[key], f"{path}.{key}", out)
        out += [f"{path}.{key} not expected" for key in got if key not in expected]
    elif isinstance(expected, tuple) and isinstance(got, tuple):
        a, b = expected[1], got[1]
        if a is None and b is None:
            return
        if a is None or b is None:
            out.append(f"{path}[]: {'no items' if a is None else kind(a)} ≠ "
                       f"{'no items' if b is None else kind(b)}")
        else:
            shape_differences(a, b, f"{path}[]", out)
    elif expected != got:
        out.append(f"{path}: {kind(expected)} ≠ {kind(got)}")
