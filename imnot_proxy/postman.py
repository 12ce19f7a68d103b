"""Postman v2.1 collection of the partners: consumer calls at the real URLs, admin calls too.

Consumer requests use each partner's first host (the collection's note says to
set Postman's proxy to imnot_proxy); partners without hosts use ``{{baseUrl}}``,
the proxy port itself. Admin requests go to ``{{adminBase}}`` with the key in
``{{adminKey}}``; ``{{session}}`` fills the session header where it applies.
"""

from __future__ import annotations

import json
from typing import Any

from . import __version__
from .routing import is_param, split_path
from .schema import PAYLOAD_PATTERNS, Partner

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
NOTE = ("Consumer requests use the partners' real URLs: set Postman's proxy "
        "(Settings > Proxy) to the imnot_proxy address, e.g. 127.0.0.1:8080, and trust its CA "
        "for HTTPS. Admin requests go to {{adminBase}} (the virtual host http://imnot.proxy "
        "through the proxy, or the proxy port directly).")


def collection(partners: list[Partner], admin_base: str = "http://127.0.0.1:8080",
               base_url: str = "http://127.0.0.1:8080") -> dict[str, Any]:
    return {
        "info": {"name": "imnot", "description": NOTE, "schema": SCHEMA,
                 "version": __version__},
        "item": [_partner(p) for p in partners],
        "variable": [
            {"key": "baseUrl", "value": base_url},
            {"key": "adminBase", "value": admin_base},
            {"key": "adminKey", "value": ""},
            {"key": "session", "value": ""},
        ],
    }


def _partner(partner: Partner) -> dict[str, Any]:
    base = f"https://{partner.hosts[0].replace('*.', 'api.')}" if partner.hosts else "{{baseUrl}}"
    return {"name": partner.partner, "description": partner.description,
            "item": [_datapoint(partner, dp, base) for dp in partner.datapoints]}


def _datapoint(partner: Partner, dp: Any, base: str) -> dict[str, Any]:
    items = [_consumer(dp, ep, base) for ep in dp.endpoints]
    if dp.pattern in PAYLOAD_PATTERNS:
        prefix = f"/imnot/admin/{partner.partner}/{dp.name}"
        admin = [
            _admin("POST", f"{prefix}/payload", "Upload global payload", "{}"),
            _admin("GET", f"{prefix}/payload", "Get global payload"),
            _admin("POST", f"{prefix}/payload/session", "Upload session payload", "{}"),
            _admin("GET", f"{prefix}/payload/session/:session_id", "Get session payload"),
        ]
        if dp.pattern == "callback":
            admin.append(_admin("POST", f"{prefix}/callback/:request_id/retrigger",
                                "Retrigger callback"))
        items.append({"name": "Admin", "item": admin})
    return {"name": dp.name, "description": f"{dp.pattern}: {dp.description}", "item": items}


def _consumer(dp: Any, ep: Any, base: str) -> dict[str, Any]:
    headers = []
    body = None
    r = ep.response
    if dp.pattern == "callback":
        if r.callback_url_header:
            headers.append({"key": r.callback_url_header, "value": "http://127.0.0.1:9999/hook"})
        else:
            body = json.dumps({r.callback_url_field: "http://127.0.0.1:9999/hook"}, indent=2)
    if dp.pattern in PAYLOAD_PATTERNS:
        headers.append({"key": "X-Imnot-Session", "value": "{{session}}", "disabled": True})
    request: dict[str, Any] = {"method": ep.method, "header": headers,
                               "url": _url(base, ep.path)}
    if body is not None:
        request["body"] = {"mode": "raw", "raw": body, "options": {"raw": {"language": "json"}}}
    name = f"{ep.method} {ep.path}"
    if ep.step is not None:
        name = f"step {ep.step}: {name}"
    return {"name": name, "request": request}


def _admin(method: str, path: str, name: str, body: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "method": method,
        "header": [{"key": "Authorization", "value": "Bearer {{adminKey}}"}],
        "url": _url("{{adminBase}}", path),
    }
    if body is not None:
        request["body"] = {"mode": "raw", "raw": body, "options": {"raw": {"language": "json"}}}
    return {"name": name, "request": request}


def _url(base: str, path: str) -> dict[str, Any]:
    segments = []
    variables = []
    for seg in split_path(path):
        if is_param(seg):
            segments.append(":" + seg[1:-1])
            variables.append({"key": seg[1:-1], "value": ""})
        elif seg.startswith(":"):
            segments.append(seg)
            variables.append({"key": seg[1:], "value": ""})
        else:
            segments.append(seg)
    url: dict[str, Any] = {"raw": base + "/" + "/".join(segments), "path": segments}
    if base.startswith("{{"):
        url["host"] = [base]
    else:
        protocol, _, host = base.partition("://")
        url["protocol"] = protocol
        url["host"] = host.split(".")
    if variables:
        url["variable"] = variables
    return url
