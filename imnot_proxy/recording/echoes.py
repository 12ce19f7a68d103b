"""Values an answer must carry, checked by value where shapes are not enough.

A recorded answer that holds an id the partner gave out must, on replay, hold the
id the mock gave out in its place; one that holds a value the client sent (in this
request or an earlier one: a path segment, a query value, a JSON body field) must
hold the value sent on replay. Both catch a mock that answers with the recording's
own data for every new job: the shapes match, the values do not.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ..lang.requestdata import parse_xml
from .exchange import Exchange
from .infer.ids import segments_of
from .redact import PLACEHOLDER

MIN_ECHO = 3  # shorter values are too common to count as echoed


def sent_values(ex: Exchange) -> set[str]:
    """The values a request carries: path segments, query values, JSON body strings."""
    out = {s for s in segments_of(urlsplit(ex.url).path) if len(s) >= MIN_ECHO}
    out |= {v for _, v in ex.query if len(v) >= MIN_ECHO}
    out |= set(xml_values(ex.request_body).values()) if _xmlish(ex.request_body) else set()
    body = ex.request_json()
    stack = [body]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack += value.values()
        elif isinstance(value, list):
            stack += value
        elif isinstance(value, str) and len(value) >= MIN_ECHO:
            out.add(value)
    return out


def _xmlish(data: bytes) -> bool:
    return data.lstrip()[:1] == b"<"


def xml_values(data: bytes) -> dict[str, str]:
    """``/Envelope/Body/X/@EchoToken`` (local names) → value, and element paths → their
    text, first occurrence each, values of ``MIN_ECHO`` characters or more."""
    root = parse_xml(data)
    out: dict[str, str] = {}
    if root is None:
        return out

    def walk(element: Any, prefix: str) -> None:
        if not isinstance(element.tag, str):
            return
        here = f"{prefix}/{element.tag.rpartition('}')[2]}"
        for name, value in element.attrib.items():
            if len(value) >= MIN_ECHO:
                out.setdefault(f"{here}/@{name.rpartition('}')[2]}", value)
        text = (element.text or "").strip()
        if len(element) == 0 and len(text) >= MIN_ECHO:
            out.setdefault(here, text)
        for child in element:
            walk(child, here)

    walk(root, "")
    return out


def carried_xml(recorded: bytes, replayed: bytes, ids: dict[str, str],
                sent: set[str]) -> list[str]:
    """``carried`` for XML answers: attribute values and element texts, by path."""
    if not (_xmlish(recorded) and _xmlish(replayed)):
        return []
    mine, theirs = xml_values(recorded), xml_values(replayed)
    out: list[str] = []
    for path, value in mine.items():
        if path not in theirs or value == PLACEHOLDER:
            continue
        if value in ids:
            expected = ids[value]
        elif value in sent:
            expected = _mapped(value, ids.items())
        else:
            continue
        if theirs[path] != expected:
            out.append(f"{path} is {_show(theirs[path])}, not the value sent ({_show(value)})")
    return out


def carried(recorded: Any, replayed: Any, ids: dict[str, str], sent: set[str]) -> list[str]:
    """Where ``replayed`` does not carry the new id, or the value sent, that ``recorded``
    carried at the same place."""
    out: list[str] = []
    _walk(recorded, replayed, ids, sent, "$", out)
    return out


def _walk(recorded: Any, replayed: Any, ids: dict[str, str], sent: set[str], path: str,
          out: list[str]) -> None:
    if isinstance(recorded, dict):
        if isinstance(replayed, dict):
            for key, value in recorded.items():
                if key in replayed:
                    _walk(value, replayed[key], ids, sent, f"{path}.{key}", out)
        return
    if isinstance(recorded, list):
        if isinstance(replayed, list):
            for i, (a, b) in enumerate(zip(recorded, replayed, strict=False)):
                _walk(a, b, ids, sent, f"{path}[{i}]", out)
        return
    if isinstance(recorded, bool) or not isinstance(recorded, str | int):
        return
    text = str(recorded)
    if text in ids:
        if str(replayed) != ids[text]:
            got = "the recorded id" if str(replayed) == text else _show(replayed)
            out.append(f"{path} is {got}, not the id given out")
    elif isinstance(recorded, str) and recorded in sent and recorded != PLACEHOLDER:
        if str(replayed) != _mapped(recorded, ids.items()):
            out.append(f"{path} is {_show(replayed)}, not the value sent ({_show(recorded)})")


def _mapped(value: str, pairs: Iterable[tuple[str, str]]) -> str:
    for old, new in pairs:
        if old in value:
            value = value.replace(old, new)
    return value


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."
