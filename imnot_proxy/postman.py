"""Postman v2.1 collection of the partners: consumer calls at the real URLs, admin calls too.

Consumer requests use each partner's first host (the collection's note says to
set Postman's proxy to imnot_proxy); partners without hosts use ``{{baseUrl}}``,
the proxy port itself. Admin requests go to ``{{adminBase}}`` with the key in
``{{adminKey}}``; ``{{session}}`` fills the session header where it applies.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from . import __version__
from .lang.condition_samples import sample
from .lang.conditions import All, Condition, compile_condition
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
    namespaces = {**partner.namespaces, **getattr(dp, "namespaces", {})}
    items = [item for ep in dp.endpoints for item in _consumers(dp, ep, base, namespaces)]
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


def _consumers(dp: Any, ep: Any, base: str, namespaces: dict[str, str]) -> list[dict[str, Any]]:
    """One request per way the endpoint answers: the endpoint alone, or one per alternative
    (with headers, query, path values and a body that make its ``when:`` hold)."""
    name = f"{ep.method} {ep.path}"
    if ep.step is not None:
        name = f"step {ep.step}: {name}"
    if not ep.alternatives:
        return [_consumer(dp, ep, base, name, [ep.when], namespaces)]
    items = []
    for alt in ep.alternatives:
        label = _label(alt.when, namespaces) if alt.when is not None else "otherwise"
        items.append(_consumer(dp, ep, base, f"{name} [{label}]", [ep.when, alt.when],
                               namespaces))
    return items


def _consumer(dp: Any, ep: Any, base: str, name: str, conditions: list[Any],
              namespaces: dict[str, str]) -> dict[str, Any]:
    compiled = [_compiled(when, namespaces) for when in conditions]
    example = sample(All([c for c in compiled if c is not None]))
    headers = [{"key": k, "value": v} for k, v in example.headers.items()]
    body: Any = example.json
    r = ep.response
    if dp.pattern == "callback":
        if r.callback_url_header:
            headers.append({"key": r.callback_url_header, "value": "http://127.0.0.1:9999/hook"})
        elif isinstance(body, dict) or body is None:
            body = {**(body or {}), r.callback_url_field: "http://127.0.0.1:9999/hook"}
    if dp.pattern in PAYLOAD_PATTERNS:
        headers.append({"key": "X-Imnot-Session", "value": "{{session}}", "disabled": True})
    request: dict[str, Any] = {"method": ep.method, "header": headers,
                               "url": _url(base, ep.path, example.path, example.query)}
    xml = example.xml_body()
    if body is not None:
        request["body"] = {"mode": "raw", "raw": json.dumps(body, indent=2),
                           "options": {"raw": {"language": "json"}}}
        headers.append({"key": "Content-Type", "value": "application/json"})
    elif example.form:
        request["body"] = {"mode": "urlencoded", "urlencoded": [
            {"key": k, "value": v} for k, v in example.form.items()]}
    elif xml is not None:
        request["body"] = {"mode": "raw", "raw": xml, "options": {"raw": {"language": "xml"}}}
        headers.append({"key": "Content-Type", "value": "text/xml; charset=utf-8"})
    elif example.text is not None:
        request["body"] = {"mode": "raw", "raw": example.text}
    if example.notes:
        request["description"] = "Also needs: " + "; ".join(example.notes)
    return {"name": name, "request": request}


def _compiled(when: Any, namespaces: dict[str, str]) -> Condition | None:
    if when is None:
        return None
    condition, _problems = compile_condition(when, namespaces=namespaces or None)
    return condition  # a condition with problems stops the file at load: nothing to show


def _label(when: Any, namespaces: dict[str, str]) -> str:
    condition = _compiled(when, namespaces)
    return condition.label if condition is not None else "when"


def _admin(method: str, path: str, name: str, body: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "method": method,
        "header": [{"key": "Authorization", "value": "Bearer {{adminKey}}"}],
        "url": _url("{{adminBase}}", path),
    }
    if body is not None:
        request["body"] = {"mode": "raw", "raw": body, "options": {"raw": {"language": "json"}}}
    return {"name": name, "request": request}


def _url(base: str, path: str, values: dict[str, str] | None = None,
         query: dict[str, str] | None = None) -> dict[str, Any]:
    segments = []
    variables = []
    values = values or {}
    for seg in split_path(path):
        if is_param(seg) or seg.startswith(":"):
            key = seg[1:-1] if is_param(seg) else seg[1:]
            segments.append(":" + key)
            variables.append({"key": key, "value": values.get(key, "")})
        else:
            segments.append(seg)
    raw = base + "/" + "/".join(segments)
    if query:
        raw += "?" + urlencode(query)
    url: dict[str, Any] = {"raw": raw, "path": segments}
    if query:
        url["query"] = [{"key": k, "value": v} for k, v in query.items()]
    if base.startswith("{{"):
        url["host"] = [base]
    else:
        protocol, _, host = base.partition("://")
        url["protocol"] = protocol
        url["host"] = host.split(".")
    if variables:
        url["variable"] = variables
    return url
