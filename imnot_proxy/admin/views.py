"""JSON shapes of the admin API, built from engine and store records (never model dumps),
and the check every uploaded payload passes."""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import RequestError
from ..messages import encode_json, loads_json
from ..store import SessionRecord
from ..store.base import JSON_TYPE

# Content types under which a body that parses as JSON is taken as JSON: none at all, or
# the form type that ``curl -d`` sends.
JSON_BY_DEFAULT = ("", "application/x-www-form-urlencoded")
NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def parse_payload(body: bytes, limit: int | None = None,
                  content_type: str | None = None) -> tuple[bytes, str]:
    """Validate an uploaded payload; returns the bytes to store and their content type.

    JSON is encoded once, compactly (B7: no null), and refused when strict parsers would
    refuse it when served again (``NaN``, lone surrogates, stack-deep nesting). Any other
    content type (XML, SOAP, text, CSV...) is kept byte for byte with its type. More than
    ``limit`` bytes is a 413.
    """
    check_size(body, limit, "payload", "imnot_max_payload_bytes")
    given = (content_type or "").strip()
    media = given.split(";")[0].strip().lower()
    if media not in JSON_BY_DEFAULT and "json" not in media:
        if not body.strip():
            raise RequestError(422, "Payload must not be empty")
        return body, given
    try:
        value = loads_json(body) if body.strip() else None
    except json.JSONDecodeError as exc:
        raise _invalid_json(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except ValueError as exc:  # NaN, Infinity, nesting
        raise _invalid_json(str(exc)) from None
    if value is None:
        raise RequestError(422, "Payload must not be null or empty")
    try:
        return encode_json(value), JSON_TYPE
    except UnicodeEncodeError:
        raise _invalid_json("a lone surrogate (\\ud800-\\udfff) is not Unicode text") from None
    except RecursionError:
        raise _invalid_json("JSON nested too deeply") from None


def _invalid_json(problem: str) -> RequestError:
    """imnot's exact ``detail`` (clients compare it), with where the body went wrong beside it."""
    return RequestError(400, "Invalid JSON body", extra={"problem": problem})


def payload_name(raw: str | None) -> str:
    """The ``?name=`` of a payload ("" is the default payload)."""
    if not raw:
        return ""
    if not NAME_RE.fullmatch(raw):
        raise RequestError(400, f"payload name {raw!r} must match [A-Za-z0-9_.-]{{1,64}}")
    return raw


def payload_view(payload: Any) -> dict:
    """A stored payload as the admin API shows it: JSON as JSON, anything else as text."""
    if payload.content_type == JSON_TYPE:
        view: dict = {"payload": json.loads(payload.body)}
    else:
        view = {"payload": payload.body.decode("utf-8", "replace"),
                "content_type": payload.content_type}
    if payload.name:
        view["name"] = payload.name
    return view


def check_size(body: bytes, limit: int | None, what: str, option: str) -> None:
    """413 with the limit named, when ``body`` is over it."""
    if limit is not None and len(body) > limit:
        raise RequestError(413, f"{what} is {len(body):,} bytes; the limit is {limit:,} "
                                f"(option {option})", extra={"limit": limit})


def session_view(record: SessionRecord) -> dict:
    view = {"session_id": record.session_id, "partner": record.partner or None,
            "datapoint": record.datapoint or None, "created_at": record.created_at,
            "last_used": record.last_used}
    if record.outcome:
        view["outcome"] = record.outcome
    if record.name:
        view["name"] = record.name
    return view


def partner_view(model: Any) -> dict:
    datapoints = []
    for dp in model.datapoints:
        callback_cfg = dp.endpoints[0].response if dp.pattern == "callback" else None
        datapoints.append({
            "name": dp.name,
            "description": dp.description,
            "pattern": dp.pattern,
            "endpoints": [
                {"method": ep.method, "path": ep.path, "step": ep.step,
                 "requests_per_minute": ep.rate_limit.requests_per_minute
                 if ep.rate_limit else None}
                for ep in dp.endpoints
            ],
            "callback_delay_seconds": callback_cfg.callback_delay_seconds if callback_cfg else None,
            "callback_url_field": callback_cfg.callback_url_field if callback_cfg else None,
            "callback_url_header": callback_cfg.callback_url_header if callback_cfg else None,
            "pagination": dp.pagination.model_dump(exclude_defaults=True)
            if dp.pattern == "paginated" else None,
        })
    return {"partner": model.partner, "description": model.description,
            "hosts": list(model.hosts), "datapoints": datapoints}
