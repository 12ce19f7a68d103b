"""A request handing the partner a URL, answered 202, becomes a ``callback`` datapoint."""

from __future__ import annotations

import re
from typing import Any

from ...exchange import Exchange
from ..answers import answer
from ..draft import Draft
from ..flows import Flow
from ..ids import path
from ..results import NO_PAYLOAD, Row

URL_NAME_RE = re.compile(r"callback|webhook|hook|notif|url|uri", re.I)


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
    delivered = [draft.deliveries[f.n] for f, _ in handed if f.n in draft.deliveries]
    payload: Any = NO_PAYLOAD
    why = f"the request carries a URL in {kind} '{name}' and was answered 202"
    if delivered:
        delivery = delivered[-1]
        response["callback_method"] = delivery.method
        body = delivery.ex.request_json()
        if body is not None:
            payload = body
            why += f"; the partner's call to it (flow {delivery.n}) gives the payload"
        else:
            why += f"; the partner's call to it (flow {delivery.n}) had no JSON body"
    else:
        why += "; the partner's call to that URL is not in the recording: upload a payload"
    headers = answer(last.ex, json_type_header=False).headers
    if headers:
        response["headers"] = headers
    comment = f"callback: {last.method} {path(last, {})} → {last.status}, URL in {kind} " \
              f"'{name}'"
    dp = draft.single(flows, last, "callback", response, comment, why, payload=payload)
    for delivery in delivered:
        draft.inferred.append(Row.of([delivery.n], f"{delivery.method} {delivery.ex.url}",
                                     f"callback {dp.name} payload",
                                     "a call to the URL handed over; not a partner route"))
    return True
