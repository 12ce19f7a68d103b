"""Error answers in the language of the request: JSON, XML, or a SOAP 1.1/1.2 Fault.

A partner that speaks SOAP answers its errors as Faults (HTTP 500 as SOAP 1.1 says,
``text/xml``; SOAP 1.2: ``application/soap+xml``, Sender/Receiver codes); a plain XML
API answers ``<error>`` documents with the error's own status. ``errors:`` on a
datapoint picks one; ``auto`` (the default) follows the request's body.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.sax.saxutils import escape

from ..lang.requestdata import SOAP12, data_of
from ..messages import MockResponse, RequestView, error_response

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


def error_reply(mode: str, request: RequestView, status: int, detail: Any,
                headers: dict[str, str] | None = None,
                extra: dict[str, Any] | None = None) -> MockResponse:
    """The error as ``mode`` (json | xml | soap | auto) says, for this request."""
    if mode == "json":
        return error_response(status, detail, headers, extra)
    said = _declared(request)  # what the headers say the client speaks
    if mode == "auto" and said is None and request.body.lstrip()[:1] != b"<":
        return error_response(status, detail, headers, extra)
    soap = data_of(request).soap
    if mode == "soap" or (mode == "auto" and (soap is not None or said in ("1.1", "1.2"))):
        version = soap.version if soap is not None else said if said == "1.2" else "1.1"
        return soap_fault(status, detail, version, headers, extra)
    if mode == "auto" and said is None and data_of(request).xml is None:
        return error_response(status, detail, headers, extra)
    return xml_error(status, detail, headers, extra)


def _declared(request: RequestView) -> str | None:
    """"1.1"/"1.2" for a SOAP request by its headers, "xml" for XML, else None: a body that
    does not parse still gets its errors in the language the client said it speaks."""
    content_type = (request.headers.get("content-type") or "").lower()
    if "application/soap+xml" in content_type:
        return "1.2"
    if request.headers.get("soapaction") is not None:
        return "1.1"
    if "xml" in content_type.split(";")[0]:
        return "xml"
    return None


def _text(detail: Any) -> str:
    if isinstance(detail, list):
        return "; ".join(_text(d) for d in detail)
    return detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)


def _details(status: int, detail: Any, extra: dict[str, Any] | None) -> str:
    """The inside of a Fault's detail or of an ``<error>``: the status, each message (a list
    of problems is one ``<message>`` each) and what else the JSON error would say."""
    messages = detail if isinstance(detail, list) else [detail]
    out = [f"<status>{status}</status>"]
    out += [f"<message>{escape(_text(m))}</message>" for m in messages]
    out += [_element(key, value) for key, value in (extra or {}).items()]
    return "".join(out)


def _element(name: str, value: Any) -> str:
    tag = name if _XML_NAME.fullmatch(name) else "item"
    if isinstance(value, list):
        return "".join(_element(tag, item) for item in value)
    if isinstance(value, dict):
        inner = "".join(_element(str(k), v) for k, v in value.items())
    else:
        inner = escape(_text(value)) if value is not None else ""
    return f"<{tag}>{inner}</{tag}>"


def soap_fault(status: int, detail: Any, version: str,
               headers: dict[str, str] | None = None,
               extra: dict[str, Any] | None = None) -> MockResponse:
    """A SOAP Fault; a client error (4xx) is the client's fault, anything else the server's."""
    client = 400 <= status < 500
    reason = escape(_text(detail))
    if version == "1.2":
        code = "soap:Sender" if client else "soap:Receiver"
        body = (f'<?xml version="1.0" encoding="utf-8"?>'
                f'<soap:Envelope xmlns:soap="{SOAP12}"><soap:Body><soap:Fault>'
                f'<soap:Code><soap:Value>{code}</soap:Value></soap:Code>'
                f'<soap:Reason><soap:Text xml:lang="en">{reason}</soap:Text></soap:Reason>'
                f'<soap:Detail>{_details(status, detail, extra)}</soap:Detail>'
                f'</soap:Fault></soap:Body></soap:Envelope>')
        content_type = "application/soap+xml; charset=utf-8"
    else:
        code = "soap:Client" if client else "soap:Server"
        body = (f'<?xml version="1.0" encoding="utf-8"?>'
                f'<soap:Envelope xmlns:soap="{SOAP11_ENV}"><soap:Body><soap:Fault>'
                f'<faultcode>{code}</faultcode><faultstring>{reason}</faultstring>'
                f'<detail>{_details(status, detail, extra)}</detail>'
                f'</soap:Fault></soap:Body></soap:Envelope>')
        content_type = "text/xml; charset=utf-8"
    pairs = [(k, v) for k, v in (headers or {}).items() if k.lower() != "content-type"]
    return MockResponse(500, tuple(pairs) + (("content-type", content_type),), body.encode())


def xml_error(status: int, detail: Any, headers: dict[str, str] | None = None,
              extra: dict[str, Any] | None = None) -> MockResponse:
    body = (f'<?xml version="1.0" encoding="utf-8"?><error><status>{status}</status>'
            f'<detail>{escape(_text(detail))}</detail>{_messages(detail)}{_extra_xml(extra)}'
            f'</error>')
    pairs = [(k, v) for k, v in (headers or {}).items() if k.lower() != "content-type"]
    return MockResponse(status, tuple(pairs) + (("content-type", "application/xml"),),
                        body.encode())


def _extra_xml(extra: dict[str, Any] | None) -> str:
    return "".join(_element(key, value) for key, value in (extra or {}).items())


def _messages(detail: Any) -> str:
    """Each problem of a list as its own element (one string says it all already)."""
    if not isinstance(detail, list):
        return ""
    return "".join(f"<message>{escape(_text(m))}</message>" for m in detail)
