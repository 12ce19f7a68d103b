"""Recorded ids → the ids a mock (or a sandbox) gave out instead, and requests rewritten
with them.

When the recording's submit answered ``/jobs/J1`` and the replayed submit
answers ``/jobs/M7``, every later request that carried ``J1`` must carry ``M7``.
``IdMap.learn`` compares the two answers of one step where ids are handed out
(Location-like headers segment by segment, JSON bodies field by field, XML bodies by
element and attribute path) and keeps
each recorded value that differs and that the rest of the recording uses again
(or that is id-shaped by itself). ``IdMap.request`` rewrites a recorded request:
path segments, query values, header values and JSON body values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from .compare import LOCATION_HEADERS, Observed
from .echoes import xml_values
from .exchange import Exchange, Pairs
from .infer.flows import norm
from .infer.ids import id_kind, segments_of
from .redact import PLACEHOLDER

MIN_SUBSTRING = 4  # shorter ids are replaced only where they are a whole value
SKIP_HEADERS = frozenset({"host", "content-length"})
ID_NAMES = ("id", "uuid", "key", "ref", "number", "cursor", "token")

Wanted = Callable[[str], bool]


class IdMap:
    """What each recorded id became on the other side."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self.values)

    def learn(self, recorded: Observed, other: Observed, wanted: Wanted) -> None:
        """Pair the ids of two answers to one request (recorded first)."""
        for name in LOCATION_HEADERS:
            a, b = recorded.header(name), other.header(name)
            if a and b and a != b:
                old = segments_of(urlsplit(a).path)
                new = segments_of(urlsplit(b).path)
                if len(old) == len(new):
                    for x, y in zip(old, new, strict=True):
                        self._pair(x, y, wanted, "id")
        a_json, b_json = recorded.json(), other.json()
        if a_json is not None and b_json is not None:
            self._walk(a_json, b_json, wanted, "")
        elif recorded.body.lstrip()[:1] == b"<" and other.body.lstrip()[:1] == b"<":
            theirs = xml_values(other.body)
            for path, value in xml_values(recorded.body).items():
                if path in theirs:
                    self._pair(value, theirs[path], wanted, path.rpartition("/")[2])

    def _walk(self, a: Any, b: Any, wanted: Wanted, key: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for name, value in a.items():
                if name in b:
                    self._walk(value, b[name], wanted, str(name))
        elif isinstance(a, list) and isinstance(b, list):
            for x, y in zip(a, b, strict=False):
                self._walk(x, y, wanted, key)
        elif _scalar(a) and _scalar(b):
            self._pair(_text(a), _text(b), wanted, key)

    def _pair(self, old: str, new: str, wanted: Wanted, key: str) -> None:
        if old == new or not old or old in self.values or old == PLACEHOLDER:
            return
        if old.isdigit():
            # Counts and sizes change too: a number is an id by its name, or by being long
            # and used again.
            keep = norm(key).endswith(ID_NAMES) or (len(old) >= MIN_SUBSTRING and wanted(old))
        else:
            keep = bool(id_kind(old)) or wanted(old)
        if keep:
            self.values[old] = new

    def mapped(self, value: str) -> str:
        return self.values.get(value, value)

    # --- rewriting a request ------------------------------------------------------------

    def request(self, ex: Exchange) -> tuple[str, Pairs, bytes]:
        """The recorded request's URL, headers and body with every known id replaced."""
        if not self.values:
            return ex.url, ex.request_headers, ex.request_body
        parts = urlsplit(ex.url)
        path, query = parts.path, parts.query
        old = segments_of(path)
        new = [self._text(s) for s in old]
        if new != list(old):
            path = "/" + "/".join(quote(s, safe="@:!$&'()*+,;=-._~") for s in new)
            path += "/" if parts.path.endswith("/") and new else ""
        pairs = ex.query
        if any(self._text(v) != v for _, v in pairs):
            query = urlencode([(k, self._text(v)) for k, v in pairs])
        url = urlunsplit((parts.scheme, parts.netloc, path, query, parts.fragment))
        body = self._body(ex.request_body, ex.request_header("content-type") or "")
        headers = tuple((k, v if k.lower() in SKIP_HEADERS else self._text(v))
                        for k, v in ex.request_headers)
        if body != ex.request_body:
            headers = tuple((k, str(len(body)) if k.lower() == "content-length" else v)
                            for k, v in headers)
        return url, headers, body

    def _text(self, value: str) -> str:
        new = self.values.get(value)
        if new is not None:
            return new
        for old, new in self._longest_first():
            if len(old) >= MIN_SUBSTRING and old in value:
                value = value.replace(old, new)
        return value

    def _longest_first(self) -> list[tuple[str, str]]:
        return sorted(self.values.items(), key=lambda kv: -len(kv[0]))

    def _body(self, body: bytes, content_type: str) -> bytes:
        if not body:
            return body
        stripped = body.lstrip()[:1]
        if stripped in (b"{", b"["):
            try:
                value = json.loads(body)
            except ValueError:
                value = None
            if value is not None:
                changed = self._value(value)
                if changed != value:
                    return json.dumps(changed, ensure_ascii=False).encode()
                return body
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return body
        new = self._text(text)
        return body if new == text else new.encode()

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int) and str(value) in self.values:
            new = self.values[str(value)]
            return int(new) if new.isdigit() else new
        if isinstance(value, dict):
            return {k: self._value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(v) for v in value]
        return value


def _scalar(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def later_use(exchanges: list[Exchange]) -> Callable[[int], Wanted]:
    """For step ``i``: whether a value shows up in a request after it (URL, body, headers)."""
    texts = []
    for ex in exchanges:
        body = ex.request_body.decode("utf-8", "replace") if ex.request_body else ""
        headers = "\n".join(v for k, v in ex.request_headers if k.lower() not in SKIP_HEADERS)
        texts.append(f"{ex.url}\n{headers}\n{body}")

    def after(i: int) -> Wanted:
        def wanted(value: str) -> bool:
            if len(value) >= MIN_SUBSTRING:
                return any(value in text for text in texts[i + 1:])
            whole = re.compile(rf"(?<![\w-]){re.escape(value)}(?![\w-])")
            return any(whole.search(text) for text in texts[i + 1:])

        return wanted

    return after
