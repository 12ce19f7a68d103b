"""Error answers in the language of the request: JSON, XML, or a SOAP 1.1/1.2 Fault.

A partner that speaks SOAP answers its errors as Faults (HTTP 500 as SOAP 1.1 says,
``text/xml``; SOAP 1.2: ``application/soap+xml``, Sender/Receiver codes); a plain XML
API answers ``<error>`` documents with the error's own status. ``errors:`` on a
datapoint picks one; ``auto`` (the default) follows the request's body.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

from ..lang.requestdata import SOAP12, data_of
from ..messages import MockResponse, RequestView, error_response

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def error_reply(mode: str, request: RequestView, status: int, detail: Any,
                headers: dict[str, str] | None = None,
                extra: dict[str, Any] | None = None) -> MockResponse:
    """The error as ``mode`` (json | xml | soap | auto) says, for this request."""
    if mode == "json":
        return error_response(status, detail, headers, extra)
    if mode == "auto":
        body = request.body.lstrip()[:1]
        if body != b"<":
            return error_response(status, detail, headers, extra)
    soap = data_of(request).soap
    if mode == "soap" or (mode == "auto" and soap is not None):
        return soap_fault(status, detail, "1.2" if soap is not None and soap.version == "1.2"
                          else "1.1", headers)
    if mode == "auto" and data_of(request).xml is None:
        return error_response(status, detail, headers, extra)
    return xml_error(status, detail, headers)


def _text(detail: Any) -> str:
    return detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)


def soap_fault(status: int, detail: Any, version: str,
               headers: dict[str, str] | None = None) -> MockResponse:
    """A SOAP Fault; a client error (4xx) is the client's fault, anything else the server's."""
    client = 400 <= status < 500
    reason = escape(_text(detail))
    if version == "1.2":
        code = "soap:Sender" if client else "soap:Receiver"
        body = (f'<?xml version="1.0" encoding="utf-8"?>'
                f'<soap:Envelope xmlns:soap="{SOAP12}"><soap:Body><soap:Fault>'
                f'<soap:Code><soap:Value>{code}</soap:Value></soap:Code>'
                f'<soap:Reason><soap:Text xml:lang="en">{reason}</soap:Text></soap:Reason>'
                f'<soap:Detail><status>{status}</status></soap:Detail>'
                f'</soap:Fault></soap:Body></soap:Envelope>')
        content_type = "application/soap+xml; charset=utf-8"
    else:
        code = "soap:Client" if client else "soap:Server"
        body = (f'<?xml version="1.0" encoding="utf-8"?>'
                f'<soap:Envelope xmlns:soap="{SOAP11_ENV}"><soap:Body><soap:Fault>'
                f'<faultcode>{code}</faultcode><faultstring>{reason}</faultstring>'
                f'<detail><status>{status}</status></detail>'
                f'</soap:Fault></soap:Body></soap:Envelope>')
        content_type = "text/xml; charset=utf-8"
    pairs = [(k, v) for k, v in (headers or {}).items() if k.lower() != "content-type"]
    return MockResponse(500, tuple(pairs) + (("content-type", content_type),), body.encode())


def xml_error(status: int, detail: Any, headers: dict[str, str] | None = None) -> MockResponse:
    body = (f'<?xml version="1.0" encoding="utf-8"?><error><status>{status}</status>'
            f'<detail>{escape(_text(detail))}</detail></error>')
    pairs = [(k, v) for k, v in (headers or {}).items() if k.lower() != "content-type"]
    return MockResponse(status, tuple(pairs) + (("content-type", "application/xml"),),
                        body.encode())
