"""A polling result that carries its job's id or values the submit sent becomes a template,
so new jobs get their own id and values while the data still comes from the payload.

The recorded result is the payload. Where it holds the id (``"jobId": "J-1"``,
``"/files/J-1.csv"``, a key ``"J-1": {...}``) the template says ``{{ id }}``; where the
id sits inside a list (``{"rows": [{"jobId": "J-1"}]}``) the payload holds ``{id}``
there, which a rendered template fills in, so the list keeps the length the payload
gives it; where it holds a value the submit request sent (the same value at the same
place for every job recorded) the submit step captures that request field and the
template says ``{{ captured.x }}``; a time stamp of the moment it answered becomes
``{{ now(...) }}``; every other key is read from the uploaded payload with
``payload_json``. Secret fields and redacted values are never captured or echoed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..redact import PLACEHOLDER, Redactor
from .flows import Flow
from .markers import has_markers
from .results import NO_PAYLOAD
from .stamps import constant_places, fresh

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REDACTOR = Redactor.default()
MIN_ECHO = 3


@dataclass
class Echo:
    """What the result template needs: the body, the submit's captures, the payload when it
    differs from the recorded body (``{id}`` where an id sat inside a list), and notes."""

    body: Any = None  # None: no template
    capture: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    payload: Any = NO_PAYLOAD


def result_template(results: list[tuple[Flow, str]], submits: dict[str, Flow]) -> Echo:
    """``results``: the last successful result per id (flow, recorded id); ``submits``: the
    submit flow that gave out each id."""
    flow, value = results[-1]
    payload = flow.json
    if not isinstance(payload, dict | list):
        return Echo()
    out = Echo()
    echoed = _echoed(results, submits, payload)
    names: set[str] = set()
    keep: dict[tuple[Any, ...], str] = {}
    for path, source in echoed.items():
        if _in_list(path) or _with_id(_at(payload, path), value) is not None:
            continue
        name = _name(source, names)
        out.capture[name] = {"json": _jsonpath(source)}
        keep[path] = f"{{{{ captured.{name} }}}}"
    constant = constant_places((f.json, f.ex.started) for f, _ in results)
    listed = _build(out, payload, value, flow.ex.started, keep, constant)
    out.notes += [f"{_jsonpath(p)} of the result carries a submitted value inside a list: "
                  "kept as recorded" for p in echoed if _in_list(p) and p not in listed]
    return out


def payload_template(payload: Any, value: str | None, started: float,
                     keep: dict[tuple[Any, ...], str]) -> Echo:
    """A template over a new payload (the drift check's proposal): the id ``value`` and
    the time stamps of the moment ``started`` as in ``result_template``, and the ``keep``
    expressions (values captured at submit) where the payload still has their place."""
    out = Echo()
    if isinstance(payload, dict | list):
        kept = {p: e for p, e in keep.items() if not _in_list(p) and _has(payload, p)}
        _build(out, payload, value or "\0", started, kept, frozenset())
    return out


def _build(out: Echo, payload: Any, value: str, started: float,
           keep: dict[tuple[Any, ...], str], constant: frozenset) -> list[tuple[Any, ...]]:
    """Fill ``out`` with the template of ``payload`` (and the payload with ``{id}`` in its
    lists); returns the places inside lists that hold the id."""
    replacements: dict[tuple[Any, ...], str] = {}
    listed: list[tuple[Any, ...]] = []
    for path, leaf in _leaves(payload):
        expression = _with_id(leaf, value)
        if expression is None:
            continue
        if _in_list(path):
            listed.append(path)
        else:
            replacements[path] = expression
    keys = {path for path in _key_paths(payload) if path[-1] == value and not _in_list(path)}
    replacements.update({p: e for p, e in keep.items() if p not in replacements})
    for path, leaf in _leaves(payload):
        stamp = fresh(leaf, started)
        if stamp is None or path in replacements or _place(path) in constant:
            continue
        if _in_list(path):
            out.notes.append(f"{_jsonpath(path)} of the result is the time of the answer "
                             "inside a list: kept as recorded")
        else:
            replacements[path] = stamp.expression
    if listed:
        out.payload = _placed(payload, set(listed), value)
    if replacements or keys or listed:
        out.body = _template(payload, (), replacements, keys)
    return listed


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def _has(value: Any, path: tuple[Any, ...]) -> bool:
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    return not isinstance(value, dict | list)


def _with_id(leaf: Any, value: str) -> str | None:
    """The template of a leaf that is (or holds) the id, or None."""
    if isinstance(leaf, bool) or not isinstance(leaf, str | int):
        return None
    if str(leaf) == value:
        return "{{ id }}"
    if isinstance(leaf, str) and len(value) >= 4 and value in leaf \
            and not has_markers(leaf):
        return leaf.replace(value, "{{ id }}")
    return None


def _in_list(path: tuple[Any, ...]) -> bool:
    return any(isinstance(k, int) for k in path)


def _place(path: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple("[]" if isinstance(k, int) else k for k in path)


def _key_paths(value: Any, path: tuple[Any, ...] = ()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key)
            yield from _key_paths(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _key_paths(child, (*path, i))


def _placed(value: Any, paths: set[tuple[Any, ...]], id_value: str,
            path: tuple[Any, ...] = ()) -> Any:
    """The payload with ``{id}`` where the id sat at ``paths`` (filled in per job)."""
    if isinstance(value, dict):
        return {k: _placed(v, paths, id_value, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_placed(v, paths, id_value, (*path, i)) for i, v in enumerate(value)]
    if path in paths:
        return "{id}" if str(value) == id_value else str(value).replace(id_value, "{id}")
    return value


def _leaves(value: Any, path: tuple[Any, ...] = ()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _leaves(child, (*path, i))
    else:
        yield path, value


def _echoed(results: list[tuple[Flow, str]], submits: dict[str, Flow],
            payload: dict) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Result paths whose value is, for every job recorded, the value its submit sent at one
    request path."""
    found: dict[tuple[Any, ...], tuple[Any, ...]] | None = None
    for flow, value in results:
        submit = submits.get(value)
        body = flow.json
        sent = submit.ex.request_json() if submit is not None else None
        if not isinstance(body, dict) or not isinstance(sent, dict):
            return {}
        sources: dict[str, list[tuple[Any, ...]]] = {}
        for path, leaf in _leaves(sent):
            if _echoable(path, leaf):
                sources.setdefault(str(leaf), []).append(path)
        here = {path: sources[str(leaf)][0] for path, leaf in _leaves(body)
                if _echoable(path, leaf) and str(leaf) in sources}
        found = here if found is None else {p: s for p, s in found.items() if here.get(p) == s}
    return found or {}


def _echoable(path: tuple[Any, ...], leaf: Any) -> bool:
    if isinstance(leaf, bool) or not isinstance(leaf, str | int) or not path:
        return False
    if isinstance(leaf, str) and (len(leaf) < MIN_ECHO or leaf == PLACEHOLDER):
        return False
    if isinstance(leaf, int) and abs(leaf) < 100:  # small numbers coincide too often
        return False
    return not any(isinstance(k, str) and _REDACTOR.is_secret_field(k) for k in path)


def _name(source: tuple[Any, ...], taken: set[str]) -> str:
    last = next((str(k) for k in reversed(source) if isinstance(k, str)), "value")
    base = re.sub(r"\W+", "_", last).strip("_") or "value"
    if not _NAME.match(base):
        base = f"v_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _jsonpath(path: tuple[Any, ...]) -> str:
    out = "$"
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        elif _NAME.match(key):
            out += f".{key}"
        else:
            out += "['" + key.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return out


def _template(value: Any, path: tuple[Any, ...], replacements: dict[tuple[Any, ...], str],
              keys: set[tuple[Any, ...]]) -> Any:
    """The recorded payload's shape: replaced leaves and keys (``keys``: the paths under a
    key that is the id), the way down to them, and everything else read from the payload
    at its path."""
    if path in replacements:
        return replacements[path]
    if isinstance(value, dict) and any(p[:len(path)] == path and len(p) > len(path)
                                       for p in (*replacements, *keys)):
        return {("{{ id }}" if (*path, key) in keys else key):
                _template(child, (*path, key), replacements, keys)
                for key, child in value.items()}
    return "{{ payload_json(" + repr(_jsonpath(path)) + ") }}"
