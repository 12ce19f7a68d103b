"""Which path segments and response values are ids, and how a path becomes a ``{id}`` template."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from ...lang.requestdata import local_names, parse_xml
from ..exchange import Exchange
from ..redact import PLACEHOLDER
from .flows import Flow, norm

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
NUMBER_RE = re.compile(r"^\d+$")
HEX_RE = re.compile(r"^(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}$")
TOKEN_RE = re.compile(r"^(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{16,}$")
PREFIXED_RE = re.compile(r"^[A-Za-z]{1,10}[_-](?=[A-Za-z0-9]*\d)[A-Za-z0-9]{8,}$")
VERSION_RE = re.compile(r"^v\d+(\.\d+)*$", re.I)


def segments_of(path: str) -> tuple[str, ...]:
    parts = [unquote(p) for p in path.split("/")[1:]]
    while parts and parts[-1] == "":
        parts.pop()
    return tuple(parts)


def id_kind(segment: str) -> str | None:
    """Why a path segment looks like an id by itself, or None."""
    if UUID_RE.match(segment):
        return "a UUID"
    if NUMBER_RE.match(segment):
        return "a number"
    if HEX_RE.match(segment):
        return "a hex token"
    if TOKEN_RE.match(segment) or PREFIXED_RE.match(segment):
        return "a token"
    return None


def mark_parameters(flows: list[Flow]) -> None:
    """Segments that carry ids become parameters: id-shaped, or given out by an earlier
    response (a Location header, a body field)."""
    seen: dict[str, int] = {}
    literals: set[str] = set()
    for flow in flows:
        for i, seg in enumerate(flow.segments):
            if seg in seen and seen[seg] < flow.n:
                flow.params[i] = f"'{seg}' came in the response of flow {seen[seg]}"
            elif (kind := id_kind(seg)) is not None:
                flow.params[i] = f"'{seg}' is {kind}"
            elif "/" in seg or "{" in seg or "}" in seg:
                flow.params[i] = f"'{seg}' cannot be a literal segment"
        literals.update(flow.segments)
        for value in _given_values(flow.ex, flow.segments):
            if value not in literals:
                seen.setdefault(value, flow.n)
    # A segment with a digit where another route of the same shape has a parameter
    # is the same kind of id (P100 learnt from a list, P200 typed in).
    shapes = sorted({f.shape for f in flows if f.params},
                    key=lambda s: tuple("" if p is None else p for p in s))
    for flow in flows:
        for shape in shapes:
            if len(shape) != len(flow.segments):
                continue
            mine = flow.shape
            if not all(a is None or b is None or a == b for a, b in zip(shape, mine, strict=True)):
                continue
            for i, (theirs, literal) in enumerate(zip(shape, mine, strict=True)):
                if theirs is None and literal is not None \
                        and any(c.isdigit() for c in literal):
                    flow.params[i] = f"'{literal}' sits where other requests carry an id"


def _given_values(ex: Exchange, request_segments: tuple[str, ...]) -> list[str]:
    """Values a response hands out that a later path may carry: new Location segments and
    body strings that look like references."""
    out: list[str] = []
    for name, value in ex.response_headers:
        if name.lower() in ("location", "content-location") and value:
            out += [s for s in segments_of(urlsplit(value).path) if s not in request_segments]
    body = ex.response_json()

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and 2 <= len(value) <= 200 and value != PLACEHOLDER \
                and "/" not in value and " " not in value and not VERSION_RE.match(value):
            normalized = norm(key)
            if any(c.isdigit() for c in value) or normalized.endswith(
                    ("id", "key", "ref", "code", "slug", "uuid", "number")):
                out.append(value)

    walk(body, "")
    return out


def id_candidates(ex: Exchange, literals: set[str]) -> list[tuple[str, tuple[str, str]]]:
    """Values a submit may have given out as the id: id-shaped new segments of its Location,
    other new segments, then JSON body fields (id-like names first), or id-shaped XML
    attribute values and element texts (as ``("xpath", "//Job/@ID")``)."""
    out: list[tuple[str, tuple[str, str]]] = []
    for name, value in ex.response_headers:
        if name.lower() in ("location", "content-location", "operation-location") and value:
            new = [s for s in segments_of(urlsplit(value).path) if s and s not in literals]
            new.sort(key=lambda s: 0 if id_kind(s) else 1)
            out += [(s, ("header", name)) for s in new]
    body = ex.response_json()
    if isinstance(body, dict):
        fields = [(k, v) for k, v in body.items()
                  if isinstance(v, str) and v or isinstance(v, int) and not isinstance(v, bool)]
        fields.sort(key=lambda kv: 0 if norm(kv[0]).endswith(("id", "uuid", "key", "ref"))
                    else 1)
        for key, given in fields:
            if given != PLACEHOLDER and str(given) not in literals:
                out.append((str(given), ("body", key)))
    elif body is None and ex.response_body.lstrip()[:1] == b"<":
        out += [(value, ("xpath", xpath)) for xpath, value in xml_ids(ex.response_body)
                if value not in literals]
    return out


def xml_ids(data: bytes) -> list[tuple[str, str]]:
    """(XPath by local names, value) of the id-shaped attribute values and element texts of
    an XML document, id-like names first, each value once."""
    root = local_names(parse_xml(data))
    if root is None:
        return []
    found: dict[str, tuple[int, str]] = {}
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        places = [(f"//{element.tag}/@{name}", name, value)
                  for name, value in element.attrib.items()]
        text = (element.text or "").strip()
        if len(element) == 0 and text:
            places.append((f"//{element.tag}", element.tag, text))
        for xpath, name, value in places:
            named = norm(name).endswith(("id", "uuid", "key", "ref"))
            if value != PLACEHOLDER and (id_kind(value) or named and len(value) >= 4):
                found.setdefault(value, (0 if named else 1, xpath))
    ranked = sorted(found.items(), key=lambda item: item[1][0])
    return [(xpath, value) for value, (_, xpath) in ranked]


def with_id(value: Any, id_value: str) -> Any:
    """The id's recorded value replaced by ``{id}`` in strings (numbers keep their type)."""
    if isinstance(value, str):
        if value == id_value:
            return "{id}"
        return value.replace(id_value, "{id}") if len(id_value) >= 4 else value
    if isinstance(value, dict):
        return {k: with_id(v, id_value) for k, v in value.items()}
    if isinstance(value, list):
        return [with_id(v, id_value) for v in value]
    return value


def path(flow: Flow, fixed: dict[int, str], *, last_is_id: bool = True) -> str:
    """The flow's path template: fixed names first, then ``{id}`` for the last parameter
    and a name from the preceding literal for the others."""
    names = _param_names(flow, fixed, last_is_id)
    parts = [f"{{{names[i]}}}" if i in names else s for i, s in enumerate(flow.segments)]
    return "/" + "/".join(parts)


def param_why(flow: Flow, skip: int | None = None) -> str:
    reasons = [why for pos, why in sorted(flow.params.items()) if pos != skip]
    return f"; path parameters: {'; '.join(reasons)}" if reasons else ""


def _param_names(flow: Flow, fixed: dict[int, str], last_is_id: bool) -> dict[int, str]:
    positions = sorted(flow.params)
    names: dict[int, str] = dict(fixed)
    taken = set(names.values())
    free = [p for p in positions if p not in names]
    if last_is_id and "id" not in taken and free:
        names[free[-1]] = "id"
        taken.add("id")
    counter = 2
    for pos in positions:
        if pos in names:
            continue
        before = flow.segments[pos - 1] if pos > 0 and pos - 1 not in flow.params else None
        name = _param_name(before)
        while name is None or name in taken:
            name = f"id{counter}"
            counter += 1
        names[pos] = name
        taken.add(name)
    return names


def _param_name(segment: str | None) -> str | None:
    """``properties`` → ``propertyId``."""
    if not segment:
        return None
    words = [w for w in re.split(r"[^A-Za-z0-9]+", segment) if w]
    if not words or not words[0][0].isalpha():
        return None
    words[-1] = singular(words[-1])
    head = words[0][0].lower() + words[0][1:]
    return head + "".join(w[:1].upper() + w[1:] for w in words[1:]) + "Id"


def word(segment: str) -> str:
    """A path segment as a word of a datapoint name: no extension, only name characters."""
    base = segment.split(".")[0] if "." in segment else segment
    return re.sub(r"[^A-Za-z0-9_-]+", "_", base).strip("_-")


def singular(noun: str) -> str:
    if noun.endswith("ies") and len(noun) > 3:
        return noun[:-3] + "y"
    if noun.endswith("sses"):
        return noun[:-2]
    if noun.endswith("s") and not noun.endswith("ss") and len(noun) > 1:
        return noun[:-1]
    return noun
