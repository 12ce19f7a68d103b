"""A request handing the partner a URL, answered 202, becomes a ``callback`` datapoint.

The immediate reply keeps its recorded body and headers with the partner's request id
as ``{id}``; when the recording holds the partner's call to the URL, that call's body is
the payload, and a ``callback_body`` template answers it with the new request id, the
values the request sent (captured) and the time it is sent where the recorded call had
them (``echo.result_template``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from ...exchange import Exchange
from ..answers import answer, echoing
from ..draft import Draft
from ..echo import Echo, result_template
from ..flows import Flow
from ..ids import path, segments_of
from ..results import NO_PAYLOAD, Row, TextPayload
from ..stamps import constant_places

URL_NAME_RE = re.compile(r"callback|webhook|hook|notif|url|uri", re.I)
NO_ID = "\0"  # a request id that no value equals


def callback_url(ex: Exchange) -> tuple[str, str, str] | None:
    """(``field``|``header``, name, URL) when the request hands the partner a URL."""
    body = ex.request_json()
    if isinstance(body, dict):
        for key, value in body.items():
            if isinstance(value, str) and URL_NAME_RE.search(key) \
                    and value.startswith(("http://", "https://")):
                return "field", key, value
    for key, value in ex.request_headers:
        low = key.lower()
        if low in ("referer", "origin", "host") or not URL_NAME_RE.search(key):
            continue
        if value.startswith(("http://", "https://")):
            return "header", key, value
    return None


def detect(draft: Draft, flows: list[Flow]) -> bool:
    handed = [(f, url) for f in flows if f.status == 202
              and (url := callback_url(f.ex)) is not None]
    if not handed:
        return False
    last, (kind, name, _) = handed[-1]
    response: dict[str, Any] = {"status": last.status}
    response["callback_url_field" if kind == "field" else "callback_url_header"] = name
    pairs = [(f, draft.deliveries[f.n]) for f, _ in handed if f.n in draft.deliveries]
    request_id = _request_id(last, draft.deliveries.get(last.n))
    template = path(last, {})
    reply = echoing(last.ex, answer(last.ex, json_type_header=False,
                                    id_value=None if request_id == NO_ID else request_id),
                    template, constant_places((f.value, f.ex.started) for f, _ in handed))
    why = f"the request carries a URL in {kind} '{name}' and was answered 202"
    payload: Any = NO_PAYLOAD
    echo = Echo()
    if pairs:
        origin, delivery = pairs[-1]
        response["callback_method"] = delivery.method
        body = delivery.ex.request_json()
        text = _text(delivery.ex)
        if body is not None:
            echo = _delivery_template(pairs)
            payload = body if echo.payload is NO_PAYLOAD else echo.payload
            why += f"; the partner's call to it (flow {delivery.n}) gives the payload"
        elif text is not None:
            payload = text
            why += (f"; the partner's call to it (flow {delivery.n}) gives the payload "
                    f"({text.suffix[1:]})")
        else:
            why += f"; the partner's call to it (flow {delivery.n}) had no body to keep"
    else:
        why += "; the partner's call to that URL is not in the recording: upload a payload"
    if reply.template or echo.body is not None:
        response["template"] = True
    if reply.headers:
        response["headers"] = reply.headers
    if reply.body != {"request_id": "{id}"}:
        response["body"] = "" if reply.body is None else reply.body
        why += "; the reply's recorded body kept" + (
            " with the request id in it" if "{id}" in str(reply.body) else "")
    if echo.body is not None:
        response["callback_body"] = echo.body
        carried = (["the request id"] if "{{ id }}" in str(echo.body) else []) \
            + [f"{n} (captured from the request)" for n in echo.capture] \
            + (["the time it is sent"] if "now(" in str(echo.body) else [])
        why += f"; the call carries {' and '.join(carried) or 'the payload'}"
    comment = f"callback: {last.method} {path(last, {})} → {last.status}, URL in {kind} " \
              f"'{name}'"
    extra = {"capture": echo.capture} if echo.capture else None
    dp = draft.single(flows, last, "callback", response, comment, why, payload=payload,
                      extra=extra)
    dp.gaps += echo.notes
    for _, delivery in pairs:
        draft.inferred.append(Row.of([delivery.n], f"{delivery.method} {delivery.ex.url}",
                                     f"callback {dp.name} payload",
                                     "a call to the URL handed over; not a partner route"))
    return True


def _text(ex: Exchange) -> TextPayload | None:
    """A text or XML body of the partner's call, as a payload."""
    data = ex.request_body
    if not data or b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    kind = (ex.request_header("content-type") or "").lower()
    xml = "xml" in kind or text.lstrip()[:1] == "<"
    return TextPayload(text, ".xml" if xml else ".csv" if "csv" in kind
                       else ".html" if "html" in kind else ".txt")


def _request_id(origin: Flow, delivery: Flow | None) -> str:
    """The partner's request id: a value of the immediate reply (a JSON field, a new
    Location segment) that its call to the URL carries again."""
    given: list[str] = []
    body = origin.json
    if isinstance(body, dict):
        given += [str(v) for v in body.values()
                  if isinstance(v, str | int) and not isinstance(v, bool) and len(str(v)) >= 4]
    location = origin.ex.response_header("location")
    if location:
        given += [s for s in segments_of(urlsplit(location).path) if len(s) >= 4]
    if delivery is None:
        return given[0] if len(given) == 1 and isinstance(body, dict) \
            and len(body) == 1 else NO_ID
    sent = delivery.ex.request_body.decode("utf-8", "replace")
    return next((value for value in given if value in sent), NO_ID)


def _delivery_template(pairs: list[tuple[Flow, Flow]]) -> Echo:
    """The template of the partner's call, made like a polling result's: each delivery is
    read as the answer, its request as the submit."""
    results: list[tuple[Flow, str]] = []
    submits: dict[str, Flow] = {}
    for origin, delivery in pairs:
        request_id = _request_id(origin, delivery)
        as_answer = replace(delivery.ex, response_body=delivery.ex.request_body,
                            response_headers=delivery.ex.request_headers)
        results.append((Flow(delivery.n, as_answer, delivery.segments), request_id))
        submits[request_id] = origin
    return result_template(results, submits)
