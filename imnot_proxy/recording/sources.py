"""Recordings from any tool, read as far as they go: what converts, what was skipped and why.

HAR files from browsers (Chrome, Firefox), proxies (Charles, mitmproxy's own
export), API clients (Insomnia) and ours; mitmproxy flow files. Nothing here
raises on bad input: a file cut short keeps every complete entry (pretty-printed
or not), an entry that cannot be an exchange is named with the reason (no URL, not
HTTP, a body that does not decode), and an entry that converts with something
missing (a POST whose body was not saved, a response body left out) gets a note.
HTTP/2 pseudo-headers are dropped, base64 bodies decoded, a UTF-8 or UTF-16 BOM
accepted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .exchange import Exchange
from .har import HarError, from_entry, from_flow

BODY_METHODS = ("POST", "PUT", "PATCH")
_ENTRIES = re.compile(r'"entries"\s*:\s*\[')
_SEPARATORS = " \t\r\n,"


@dataclass
class Loaded:
    """What one or more files gave: exchanges in order, entries skipped, notes."""

    exchanges: list[Exchange] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "file: where: why"
    notes: list[str] = field(default_factory=list)

    def extend(self, other: Loaded) -> None:
        self.exchanges += other.exchanges
        self.skipped += other.skipped
        self.notes += other.notes


def load_all(paths: list[Path]) -> Loaded:
    out = Loaded()
    for path in paths:
        out.extend(load(path))
    return out


def load(path: Path) -> Loaded:
    """A HAR file (by content) or a mitmproxy flow file; never raises."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Loaded(skipped=[f"{path}: no such file"])
    except OSError as exc:
        return Loaded(skipped=[f"{path}: cannot read: {exc.strerror or exc}"])
    text = _text(data)
    if text is not None and text.lstrip()[:1] == "{":
        return _har(path, text)
    if not data.strip():
        return Loaded(skipped=[f"{path}: the file is empty"])
    return _flows(path)


def read_any(path: Path) -> list[Exchange]:
    """Every exchange of one file; raises HarError when there is none."""
    loaded = load(path)
    if not loaded.exchanges and loaded.skipped:
        raise HarError(loaded.skipped[0])
    return loaded.exchanges


def _text(data: bytes) -> str | None:
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"),
                       (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


# --- HAR ---------------------------------------------------------------------------------


def _har(path: Path, text: str) -> Loaded:
    out = Loaded()
    try:
        document = json.loads(text)
    except ValueError as exc:
        entries, complete = _scan(text)
        if not entries:
            return Loaded(skipped=[f"{path}: not JSON ({exc}), and no complete HAR entries "
                                   "found"])
        if not complete:
            out.notes.append(f"{path}: the file is cut short; read the {len(entries)} "
                             "complete entries before the cut")
    else:
        log = document.get("log") if isinstance(document, dict) else None
        entries = log.get("entries") if isinstance(log, dict) else None
        if not isinstance(entries, list):
            return Loaded(skipped=[f"{path}: not a HAR file (expected log.entries){_kind(document)}"])
    for i, entry in enumerate(entries):
        where = f"{path}: log.entries.{i}"
        ex, why, notes = _entry(entry)
        if ex is None:
            out.skipped.append(f"{where}: {why}")
            continue
        out.exchanges.append(ex)
        out.notes += [f"{where}: {note}" for note in notes]
    return out


def _kind(document: Any) -> str:
    """A hint at what a JSON file that is not a HAR is."""
    if isinstance(document, dict) and document.get("_type") == "export":
        return "; this is an Insomnia export: it holds requests but no responses (export " \
               "HAR instead)"
    if isinstance(document, dict) and "item" in document and "info" in document:
        return "; this is a Postman collection: it holds requests but no responses"
    return ""


def _scan(text: str) -> tuple[list[Any] | None, bool]:
    """Every complete entry of a HAR cut short, whatever its layout; (None, False) when no
    entries list starts. The flag says whether the list was complete."""
    found = _ENTRIES.search(text)
    if found is None:
        return None, False
    decoder = json.JSONDecoder()
    entries: list[Any] = []
    at = found.end()
    while True:
        while at < len(text) and text[at] in _SEPARATORS:
            at += 1
        if at >= len(text):
            return entries, False
        if text[at] == "]":
            return entries, True
        try:
            entry, at = decoder.raw_decode(text, at)
        except ValueError:
            return entries, False
        entries.append(entry)


def _entry(entry: Any) -> tuple[Exchange | None, str, list[str]]:
    """(exchange, "", notes) or (None, why it was skipped, [])."""
    if not isinstance(entry, dict):
        return None, f"not an object but {type(entry).__name__}", []
    request = entry.get("request")
    if not isinstance(request, dict) or not request.get("url") or not request.get("method"):
        return None, "no request.method or request.url", []
    scheme = urlsplit(str(request["url"])).scheme.lower()
    if scheme not in ("http", "https"):
        return None, f"not an HTTP request ({scheme or 'relative'} URL)", []
    try:
        ex = from_entry(entry)
    except HarError as exc:
        return None, str(exc), []
    except (TypeError, ValueError, AttributeError) as exc:
        return None, f"unreadable entry: {exc}", []
    notes: list[str] = []
    post = request.get("postData")
    size = _number(request.get("bodySize"))
    if ex.method in BODY_METHODS and not ex.request_body and (
            size > 0 or _number(ex.request_header("content-length")) > 0):
        notes.append(f"{ex.method} {ex.path}: the request body was not saved "
                     f"({'no postData' if not isinstance(post, dict) else 'empty postData'});"
                     " replayed empty")
    content = (entry.get("response") or {}).get("content")
    if ex.status is not None and not ex.response_body and isinstance(content, dict) \
            and _number(content.get("size")) > 0 and not content.get("text"):
        notes.append(f"{ex.method} {ex.path}: the response body was not saved "
                     f"({_number(content.get('size'))} bytes)")
    return ex, "", notes


def _number(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# --- mitmproxy flow files -------------------------------------------------------------------


def _flows(path: Path) -> Loaded:
    from mitmproxy import http, io
    from mitmproxy.exceptions import FlowReadException

    out = Loaded()
    count = 0
    try:
        with open(path, "rb") as handle:
            for flow in io.FlowReader(handle).stream():
                count += 1
                if not isinstance(flow, http.HTTPFlow):
                    out.skipped.append(f"{path}: flow {count}: a {flow.type} flow, not HTTP")
                    continue
                try:
                    out.exchanges.append(from_flow(flow))
                except (TypeError, ValueError, AttributeError) as exc:
                    out.skipped.append(f"{path}: flow {count}: unreadable: {exc}")
    except (FlowReadException, OSError, ValueError, KeyError, TypeError) as exc:
        if count == 0:
            return Loaded(skipped=[f"{path}: not a HAR (JSON) or mitmproxy flow file: {exc}"])
        out.notes.append(f"{path}: the file is cut short or damaged after flow {count} "
                         f"({exc}); read the {count} flows before it")
    return out
