"""One request of the flow tester (``POST /imnot/admin/try``): decided and answered by the
engine that serves the proxy, as if it had come through it, and described in full.

The web page runs a datapoint's steps in order with it, inside a session, and carries the
id a submit step generated (``captured``) into the paths of the later steps. The request
never touches the network, so it works the same whether the page was opened on the proxy
port or through the admin host; it is journalled like proxied traffic, with a note that
says it came from the tester.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from ..engine import Engine, Mocked, Record, Unmatched
from ..errors import RequestError
from ..journal import Journal, JournalEntry
from ..messages import CIHeaders, RequestView, clean_text, loads_json

MAX_BODY = 1024 * 1024  # bytes of a request body the tester sends
MAX_SHOWN = 256 * 1024  # bytes of an answer body shown back
MAX_HEADERS = 100
METHOD_RE = re.compile(r"[A-Z]{1,16}")


def run(engine: Engine, journal: Journal, spec_bytes: bytes) -> dict:
    """Run one request described by a JSON object; returns the exchange as the page shows it.

    The object: ``method``, ``path`` (may carry ``?query``), optional ``headers`` (an object
    of strings), ``body`` (a string), ``session`` and ``partner`` (whose first host is used,
    so that host-specific routes match; without one the path alone decides).
    """
    spec = _spec(spec_bytes)
    view = _view(engine, spec)
    started = time.perf_counter()
    outcome = engine.handle(view)
    seconds = time.perf_counter() - started
    if isinstance(outcome, Record):
        raise RequestError(409, f"partner {outcome.partner} is in record mode: its requests go "
                                "to the real partner, and the tester only runs mocks")
    if not isinstance(outcome, Mocked | Unmatched):
        raise RequestError(409, f"no partner route answers {view.method} {view.path} here: "
                                "through the proxy it would pass through to the real host")
    response = outcome.response
    headers = [[k, v] for k, v in response.headers]
    request_id = next((v for k, v in response.headers if k.lower() == "x-request-id"), None)
    if request_id is None:
        request_id = str(uuid.uuid4())
        headers.append(["x-request-id", request_id])
    shown = response.body[:MAX_SHOWN].decode("utf-8", "replace")
    result: dict[str, Any] = {
        "kind": "mock" if isinstance(outcome, Mocked) else "miss",
        "request": {"method": view.method, "host": view.host or None,
                    "path": _target(view), "session": view.session},
        "status": response.status, "headers": headers, "body": shown,
        "body_bytes": len(response.body), "truncated": len(response.body) > MAX_SHOWN,
        "request_id": request_id, "ms": round(seconds * 1000, 2),
        "partner": None, "datapoint": None, "route": None, "step": response.step,
        "params": {}, "captured": {}, "closest": None,
    }
    if isinstance(outcome, Mocked):
        route = outcome.route
        result.update(partner=route.partner, datapoint=route.datapoint, route=route.label,
                      params=outcome.params, captured=captured(route.endpoint, response))
        if outcome.fault is not None:  # what the proxy would inject (status 0: no answer)
            result["fault"] = outcome.fault.meta()
    else:
        result["closest"] = [f"{r.label} ({r.owner})" for r in outcome.miss.closest]
    journal.add(_entry(view, result, seconds))
    return result


def _spec(body: bytes) -> dict:
    try:
        spec = loads_json(body) if body.strip() else None
    except ValueError:
        raise RequestError(400, "the tester request must be a JSON object") from None
    if not isinstance(spec, dict):
        raise RequestError(400, "the tester request must be a JSON object")
    return spec


def _text(spec: dict, name: str, limit: int, default: str | None = None) -> str | None:
    value = spec.get(name, default)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RequestError(400, f"{name} must be a string")
    if len(value.encode("utf-8", "surrogatepass")) > limit:
        raise RequestError(413, f"{name} is longer than {limit:,} bytes")
    return clean_text(value)


def _view(engine: Engine, spec: dict) -> RequestView:
    method = (_text(spec, "method", 16) or "").upper()
    if not METHOD_RE.fullmatch(method):
        raise RequestError(400, "method must be an HTTP method such as GET or POST")
    target = _text(spec, "path", 8192) or ""
    if not target.startswith("/"):
        raise RequestError(400, "path must start with '/'")
    path, _, query = target.partition("?")
    raw_headers = spec.get("headers") or {}
    if not isinstance(raw_headers, dict) or len(raw_headers) > MAX_HEADERS or not all(
            isinstance(k, str) and isinstance(v, str) and k and k.isprintable()
            and v.isprintable() for k, v in raw_headers.items()):
        raise RequestError(400, f"headers must be an object of at most {MAX_HEADERS} "
                                "printable names and string values")
    headers = CIHeaders(raw_headers)
    body = (_text(spec, "body", MAX_BODY, "") or "").encode("utf-8")
    if body and "content-type" not in headers:
        headers["content-type"] = "application/json"
    session = _text(spec, "session", 256) or headers.get("x-imnot-session") or None
    if session is not None and not session.isprintable():
        raise RequestError(400, "session must be printable text")
    host = _host_of(engine, _text(spec, "partner", 64))
    return RequestView(method=method, path=path, query_string=query, headers=headers,
                       body=body, host=host or "", session=session, direct=host is None)


def _host_of(engine: Engine, partner: str | None) -> str | None:
    """The partner's first exact host, so its host-specific routes match (None: by path)."""
    if not partner:
        return None
    source = next((s for s in engine.partners if s.name == partner), None)
    if source is None:
        raise RequestError(404, f"Partner '{partner}' not found")
    return next((h for h in source.model.hosts if not h.startswith("*.")), None)


def _target(view: RequestView) -> str:
    return f"{view.path}?{view.query_string}" if view.query_string else view.path


def captured(endpoint: Any, response: Any) -> dict[str, str]:
    """The id a polling submit step generated, as ``{"id": ...}``: from its id header (the
    part that stands for ``{id}`` in ``id_header_value``) or its id body field."""
    answer = getattr(endpoint, "response", None)
    if not getattr(answer, "generates_id", False) or response.status >= 400:
        return {}
    if answer.id_header and answer.id_header_value:
        value = next((v for k, v in response.headers if k.lower() == answer.id_header.lower()),
                     None)
        before, _, after = answer.id_header_value.partition("{id}")
        if value and value.startswith(before) and value.endswith(after) \
                and len(value) > len(before) + len(after):
            return {"id": value[len(before):len(value) - len(after)]}
        return {}
    try:
        body = json.loads(response.body)
    except ValueError:
        return {}
    value = body.get(answer.id_body_field or "id") if isinstance(body, dict) else None
    return {"id": str(value)} if isinstance(value, str | int) else {}


def _entry(view: RequestView, result: dict, seconds: float) -> JournalEntry:
    owner = f"{result['partner']}/{result['datapoint']}" if result["partner"] else None
    note = f"imnot try {result['kind']} " + (owner or f"{view.method} {_target(view)}")
    if result["step"]:
        note += f" {result['step']}"
    if view.session:
        note += f" · session {view.session}"
    return JournalEntry(
        at=time.time(), kind=result["kind"], method=view.method, scheme=view.scheme,
        host=view.host or "localhost", port=view.port, path=_target(view)[:2048],
        status=result["status"], seconds=seconds, partner=result["partner"],
        datapoint=result["datapoint"], route=result["route"], step=result["step"],
        session=view.session, note=note, request_id=result["request_id"],
        closest=tuple(result["closest"]) if result["closest"] is not None else None)
