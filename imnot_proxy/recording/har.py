"""HAR 1.2: append entries so the file on disk is valid JSON after every flow; HAR entries
and mitmproxy flows as ``Exchange`` values (``sources`` reads whole files from any tool).

Each entry sits on its own line before a fixed tail, so appending is a seek
and one write, and a file cut short by a crash is read back up to its last
complete entry.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from .. import __version__
from .exchange import Exchange

HEAD = '{"log": {"version": "1.2", "creator": {"name": "imnot_proxy", "version": "%s"}, ' \
       '"entries": [\n'
TAIL = "\n]}}\n"
_TAIL = TAIL.encode()
# One encoder for every entry (an entry is a tree of fresh dicts: no cycle to look for).
_ENCODE = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
TEXT_TYPES = ("json", "text", "xml", "javascript", "x-www-form-urlencoded", "html", "csv",
              "yaml", "graphql")


class HarError(ValueError):
    """A file that is not a usable HAR or flow file."""


class HarWriter:
    """Appends entries to one HAR file, flushed per entry."""

    def __init__(self, path: Path):
        self.path = path
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        head = (HEAD % __version__).encode()
        os.write(self._fd, head + TAIL.lstrip("\n").encode())
        self._offset = len(head)  # where the next entry goes: just before the tail

    def append(self, exchange: Exchange) -> None:
        """One ``pwrite`` per entry: the entry and the tail land together."""
        self.append_many([exchange])

    def append_many(self, exchanges: list[Exchange]) -> None:
        """Several entries and the tail in one ``pwrite``."""
        if not exchanges:
            return
        lines = [_ENCODE(to_entry(ex)).encode() for ex in exchanges]
        data = (b",\n" if self.count else b"") + b",\n".join(lines)
        os.pwrite(self._fd, data + _TAIL, self._offset)
        self._offset += len(data)
        self.count += len(lines)

    def close(self) -> None:
        os.close(self._fd)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _content(body: bytes, headers: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """A body as HAR content: text when it is UTF-8, else base64. The recorder hands over
    bodies already redacted (binary ones by pattern on their bytes), so base64 here only
    encodes what redaction left."""
    mime = next((v for k, v in headers if k.lower() == "content-type"), "")
    content: dict[str, Any] = {"size": len(body), "mimeType": mime}
    if not body:
        content["text"] = ""
        return content
    textual = not mime or any(t in mime.lower() for t in TEXT_TYPES)
    if textual:
        try:
            content["text"] = body.decode("utf-8")
            return content
        except UnicodeDecodeError:
            pass
    content["text"] = base64.b64encode(body).decode()
    content["encoding"] = "base64"
    return content


def to_entry(ex: Exchange) -> dict[str, Any]:
    parts = urlsplit(ex.url)
    request: dict[str, Any] = {
        "method": ex.method, "url": ex.url, "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": [{"name": k, "value": v} for k, v in ex.request_headers],
        "queryString": [{"name": k, "value": v} for k, v in ex.query],
        "headersSize": -1, "bodySize": len(ex.request_body),
    }
    if ex.request_body:
        post = _content(ex.request_body, ex.request_headers)
        request["postData"] = {"mimeType": post["mimeType"], "text": post["text"]}
        if post.get("encoding"):
            request["postData"]["encoding"] = post["encoding"]
    response: dict[str, Any] = {
        "status": ex.status or 0, "statusText": "", "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": [{"name": k, "value": v} for k, v in ex.response_headers],
        "content": _content(ex.response_body, ex.response_headers),
        "redirectURL": ex.response_header("location") or "", "headersSize": -1,
        "bodySize": len(ex.response_body),
    }
    entry = {
        "startedDateTime": _iso(ex.started), "time": round(ex.duration_ms, 3),
        "request": request, "response": response, "cache": {},
        "timings": {"send": 0, "wait": round(ex.duration_ms, 3), "receive": 0},
        "serverIPAddress": parts.hostname or "",
        "_imnot": {"partner": ex.partner},
    }
    if ex.error:
        entry["_error"] = ex.error
        entry["response"]["_error"] = ex.error
    return entry


def _body(container: dict[str, Any] | None) -> bytes:
    if not container:
        return b""
    params = container.get("params")
    if not container.get("text") and isinstance(params, list) and params:
        # Browsers may give a form post as params only.
        return urlencode([(str(p.get("name", "")), str(p.get("value", ""))) for p in params
                          if isinstance(p, dict)]).encode()
    text = container.get("text") or ""
    if container.get("encoding") == "base64":
        try:
            return base64.b64decode(text)
        except ValueError as exc:
            raise HarError(f"bad base64 body: {exc}") from None
    return text.encode("utf-8")


def _pairs(items: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(items, list):
        return ()
    return tuple((str(h.get("name", "")), str(h.get("value", ""))) for h in items
                 if isinstance(h, dict) and not str(h.get("name", "")).startswith(":"))


def _started(value: Any) -> float:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def from_entry(entry: dict[str, Any]) -> Exchange:
    request = entry.get("request")
    response = entry.get("response") or {}
    if not isinstance(request, dict) or "url" not in request or "method" not in request:
        raise HarError("entry without request.method/request.url")
    status = response.get("status") if isinstance(response, dict) else None
    error = entry.get("_error") or (response.get("_error") if isinstance(response, dict) else None)
    post = request.get("postData")
    return Exchange(
        started=_started(entry.get("startedDateTime")),
        method=str(request["method"]).upper(),
        url=str(request["url"]),
        request_headers=_pairs(request.get("headers")),
        request_body=_body(post) if isinstance(post, dict) else b"",
        status=_status(status),
        response_headers=_pairs(response.get("headers")) if isinstance(response, dict) else (),
        response_body=_body(response.get("content")) if isinstance(response, dict) else b"",
        error=str(error) if error else None,
        partner=(entry.get("_imnot") or {}).get("partner"),
        duration_ms=float(entry.get("time") or 0),
    )


def _status(value: Any) -> int | None:
    """A response status; 0, missing or not a number: no response."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) \
        and 100 <= value <= 599 else None


def read_har(path: Path) -> list[Exchange]:
    """Entries of a HAR file, tolerating a tail cut short by a crash."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HarError(f"{path}: cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except ValueError:
        data = _recover(text)
        if data is None:
            raise HarError(f"{path}: not JSON, and no complete HAR entries found") from None
    if not isinstance(data, dict) or not isinstance(data.get("log"), dict) \
            or not isinstance(data["log"].get("entries"), list):
        raise HarError(f"{path}: not a HAR file (expected log.entries)")
    out = []
    for i, entry in enumerate(data["log"]["entries"]):
        if not isinstance(entry, dict):
            raise HarError(f"{path}: log.entries.{i} is not an object")
        try:
            out.append(from_entry(entry))
        except HarError as exc:
            raise HarError(f"{path}: log.entries.{i}: {exc}") from None
    return out


def _recover(text: str) -> dict | None:
    """A HAR written by HarWriter and cut short: keep every complete entry line."""
    if not text.startswith('{"log"'):
        return None
    entries = []
    for line in text.splitlines()[1:]:
        line = line.rstrip(",")
        if not line.startswith("{"):
            continue
        try:
            entries.append(json.loads(line))
        except ValueError:
            break
    return {"log": {"version": "1.2", "entries": entries}} if entries else None


def from_flow(flow: Any) -> Exchange:
    """An ``Exchange`` from a mitmproxy HTTPFlow (live or read from a file)."""
    req = flow.request
    resp = flow.response
    started = req.timestamp_start or 0.0
    ended = (resp.timestamp_end if resp and resp.timestamp_end else None) or started
    return Exchange(
        started=started,
        method=req.method,
        url=req.pretty_url,
        request_headers=tuple(req.headers.items(multi=True)),
        request_body=req.get_content(strict=False) or b"",
        status=resp.status_code if resp else None,
        response_headers=tuple(resp.headers.items(multi=True)) if resp else (),
        response_body=(resp.get_content(strict=False) or b"") if resp else b"",
        error=flow.error.msg if flow.error else None,
        duration_ms=max(0.0, (ended - started) * 1000),
    )
