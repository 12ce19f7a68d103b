"""A route that answered ``access_token`` becomes an ``oauth`` datapoint; the answer's other
keys (``scope``, ``instance_url``, ...) are its ``body``, time stamps and echoes of the
request as templates."""

from __future__ import annotations

from typing import Any

from ..answers import answer
from ..draft import Draft
from ..flows import Flow
from ..ids import path
from ..jsonecho import templated
from ..stamps import constant_places

TOKEN_FIELDS = ("access_token", "token_type", "expires_in")


def detect(draft: Draft, flows: list[Flow]) -> bool:
    tokens = [f for f in flows if 200 <= f.status < 300
              and isinstance(f.json, dict)
              and "access_token" in f.json]
    if not tokens:
        return False
    last = tokens[-1]
    response, why, gaps = token_response(tokens, path(last, {}))
    dp = draft.single(flows, last, "oauth", response,
                      f"oauth: {last.method} {path(last, {})} answered access_token "
                      f"({response.get('token_type', 'Bearer')}, expires_in "
                      f"{response.get('expires_in', 3600)})", why)
    dp.gaps += gaps
    return True


def token_response(tokens: list[Flow], template: str) -> tuple[dict[str, Any], str, list[str]]:
    """The oauth response of recorded token answers (the last one's fields, its other keys
    as ``body``), why, and what it does not reproduce."""
    last = tokens[-1]
    body = last.json
    response: dict[str, Any] = {"status": last.status}
    if isinstance(body.get("token_type"), str):
        response["token_type"] = body["token_type"]
    expires = body.get("expires_in")
    if isinstance(expires, int) and not isinstance(expires, bool):
        response["expires_in"] = expires
    headers = answer(last.ex, json_type_header=False).headers
    if headers:
        response["headers"] = headers
    extra = {k: v for k, v in body.items() if k not in TOKEN_FIELDS}
    why = "the JSON response has access_token"
    if extra:
        constant = constant_places(
            ({k: v for k, v in f.json.items() if k not in TOKEN_FIELDS}, f.ex.started)
            for f in tokens)
        value, done = templated(last.ex, extra, template, constant)
        if done:
            response["template"] = True
            why += f"; templated: {', '.join(done)}"
        response["body"] = value
        why += f"; its other fields in body: {', '.join(extra)}"
    gaps = []
    added = [k for k in ("token_type", "expires_in") if k not in body]
    if added:
        gaps.append(f"the oauth pattern always answers {' and '.join(added)}; the partner did "
                    "not")
    return response, why, gaps
