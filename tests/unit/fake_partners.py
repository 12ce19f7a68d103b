"""Small stateful partners and client scripts, recorded in-process as ``Exchange`` values.

A partner is a function ``(method, url, headers, body) -> (status, headers, body)`` with its
own state; ``Recorder.send`` calls it and keeps the exchange, as record mode would. The
recorded exchanges go through ``infer`` → ``yamlout.render`` → the replay check, and the
tests assert on the replay check's table, not on the YAML.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from imnot_proxy.recording import yamlout
from imnot_proxy.recording.exchange import Exchange
from imnot_proxy.recording.infer import Inference, infer
from imnot_proxy.recording.replay import Fidelity, replay_rendered

BASE = "https://api.partner.example"
Reply = tuple[int, dict[str, str], Any]
Partner = Callable[[str, str, dict[str, str], bytes], Reply]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Recorder:
    """A client's view of a partner, keeping every exchange with its time."""

    partner: Partner
    exchanges: list[Exchange] = field(default_factory=list)
    now: float = 1_700_000_000.0
    base: str = BASE

    def send(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> Answer:
        url = path if path.startswith("http") else self.base + path
        request_headers = dict(headers or {})
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            request_headers.setdefault("Content-Type", "application/json")
        status, out_headers, out = self.partner(method, url, request_headers, data)
        out_headers = dict(out_headers)
        if not isinstance(out, bytes):
            out = json.dumps(out).encode()
            out_headers.setdefault("Content-Type", "application/json")
        self.exchanges.append(Exchange(self.now, method, url, tuple(request_headers.items()),
                                       data, status, tuple(out_headers.items()), out))
        self.now += 0.25
        return Answer(status, out_headers, out)

    def called(self, method: str, url: str, body: Any, status: int = 204) -> None:
        """The partner's own call to a URL the client handed over (a callback), as record
        mode sees it: the partner's request, the client's answer."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = (("Content-Type", "application/json" if not isinstance(body, bytes)
                    else "text/plain"),)
        self.exchanges.append(Exchange(self.now, method, url, headers, data, status, (), b""))
        self.now += 0.25


def converted(exchanges: list[Exchange], name: str = "p", folder: Path | None = None
              ) -> tuple[Inference, yamlout.Rendered, Fidelity]:
    """``record to-yaml`` in memory: the inference, the files, and the replay check."""
    result = infer(exchanges, name)
    folder = folder or Path("/nonexistent") / name
    rendered = yamlout.render(result, ["test.har"], folder)
    fidelity = replay_rendered(rendered, folder, exchanges)
    assert fidelity is not None
    return result, rendered, fidelity


def table(fidelity: Fidelity) -> list[str]:
    """The replay check as lines, for assertion messages."""
    return [f"{s.n} {s.request}: {s.recorded}→{s.replayed} "
            + ("equal" if s.equal else s.skipped or "; ".join(map(str, s.differences)))
            for s in fidelity.steps]


# --- partners ------------------------------------------------------------------------------


@dataclass
class Jobs:
    """An async job API: submit, status polls (PENDING until the ``polls``-th), result.

    ``submit_body``: the submit answers ``{"id", "status": "PENDING"}`` beside the Location.
    A result asked for before the status said DONE is a 409; an unknown id a 404.
    """

    polls: int = 3
    submit_body: bool = True
    state: dict[str, int] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(url)
        segments = parts.path.strip("/").split("/")
        if method == "POST" and segments == ["jobs"]:
            job = str(uuid.uuid4())
            self.state[job] = 0
            self.data[job] = json.loads(body or b"{}")
            answer = {"id": job, "status": "PENDING"} if self.submit_body else b""
            return 202, {"Location": f"/jobs/{job}"}, answer
        if method == "GET" and len(segments) == 3 and segments[0] == "jobs":
            job, what = segments[1], segments[2]
            if job not in self.state:
                return 404, {}, {"error": "NOT_FOUND", "id": job}
            if what == "status":
                self.state[job] += 1
                done = self.state[job] >= self.polls
                return 200, {}, {"id": job, "status": "DONE" if done else "PENDING"}
            if what == "result":
                if self.state[job] < self.polls:
                    return 409, {"Retry-After": "1"}, {"error": "NOT_READY", "id": job}
                return 200, {}, {"id": job, "rows": [{"n": 1, "v": 2.5}], "total": 1,
                                 "report": self.data[job].get("report", "none")}
        return 404, {}, {"error": "NO_ROUTE"}


@dataclass
class ChangedJobs(Jobs):
    """The same API a release later: four polls until DONE, and the result's shape changed
    (``rows`` is an object, ``total`` a string, a new ``meta``)."""

    polls: int = 4

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        status, out_headers, out = super().__call__(method, url, headers, body)
        if method == "GET" and url.endswith("/result") and status == 200:
            out = {"id": out["id"], "rows": {"items": out["rows"]}, "total": "1",
                   "meta": {"v": 2}}
        return status, out_headers, out


@dataclass
class Catalog:
    """A page_number list whose envelope carries null and constant keys beside the items."""

    items: list[dict[str, Any]] = field(default_factory=lambda: [
        {"sku": f"S-{i}", "qty": i} for i in range(5)])

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        if method == "GET" and parts.path == "/catalog":
            page = int(query.get("page", ["1"])[0])
            size = int(query.get("size", ["2"])[0])
            start = (page - 1) * size
            window = self.items[start:start + size]
            return 200, {}, {"products": window, "total": len(self.items),
                             "hasMore": start + size < len(self.items), "links": None,
                             "meta": {"apiVersion": "2", "deprecated": False},
                             "warnings": []}
        if method == "GET" and parts.path == "/properties/P-100":
            return 200, {}, {"id": "P-100", "name": "Seaside", "rooms": 12}
        return 404, {}, {"error": "NO_ROUTE"}


@dataclass
class Offers:
    """Answers that depend on the request: by path, by a header, by a JSON body field."""

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(url)
        if method == "GET" and parts.path.startswith("/properties/"):
            prop = parts.path.rsplit("/", 1)[1]
            if prop == "P-404":
                return 404, {}, {"error": "NO_SUCH_PROPERTY"}
            extra = {"spa": True} if prop == "P-200" else {}
            return 200, {}, {"property": prop, "rooms": 12, **extra}
        if method == "GET" and parts.path == "/offers":
            if headers.get("X-Tier") == "gold":
                return 200, {}, {"offers": [{"code": "G1", "discount": 0.2}], "lounge": True}
            return 200, {}, {"offers": [{"code": "S1"}]}
        if method == "POST" and parts.path == "/quotes":
            plan = json.loads(body).get("plan")
            if plan == "pro":
                return 201, {}, {"price": 99, "support": "24/7"}
            return 201, {}, {"price": 10}
        return 404, {}, {"error": "NO_ROUTE"}


OTA_NS = "http://www.opentravel.org/OTA/2003/05"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"


def soap(body: str, *, header: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="{SOAP_NS}">'
            f"<soap:Header>{header}</soap:Header><soap:Body>{body}</soap:Body>"
            "</soap:Envelope>").encode()


def avail_rq(token: str, hotel: str = "HOTEL-1") -> bytes:
    return soap(f'<OTA_HotelAvailNotifRQ xmlns="{OTA_NS}" EchoToken="{token}" '
                f'TimeStamp="2026-11-30T09:00:00Z" Version="1.0">'
                f'<AvailStatusMessages HotelCode="{hotel}"><AvailStatusMessage BookingLimit="5">'
                '<StatusApplicationControl Start="2026-12-24" End="2026-12-27" '
                'InvTypeCode="DBL"/></AvailStatusMessage></AvailStatusMessages>'
                "</OTA_HotelAvailNotifRQ>",
                header='<wsse:Security xmlns:wsse="urn:wsse"><wsse:UsernameToken>'
                       "<wsse:Username>pms</wsse:Username><wsse:Password>s3cret-pw</wsse:Password>"
                       "</wsse:UsernameToken></wsse:Security>")


def read_rq(token: str) -> bytes:
    return soap(f'<OTA_ReadRQ xmlns="{OTA_NS}" EchoToken="{token}" Version="1.0">'
                '<ReadRequests><HotelReadRequest HotelCode="HOTEL-1"/></ReadRequests>'
                "</OTA_ReadRQ>")


@dataclass
class Channel:
    """An OTA 2003/05 channel manager over SOAP 1.1 on one URL: every answer echoes the
    request's EchoToken and carries the moment it answered as TimeStamp."""

    clock: Callable[[], float]

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        text = body.decode()
        token = text.split('EchoToken="', 1)[1].split('"', 1)[0]
        stamp = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        xml = {"Content-Type": "text/xml; charset=utf-8"}
        if "OTA_HotelAvailNotifRQ" in text:
            answer = (f'<OTA_HotelAvailNotifRS xmlns="{OTA_NS}" EchoToken="{token}" '
                      f'TimeStamp="{stamp}" Version="1.0"><Success/></OTA_HotelAvailNotifRS>')
        else:
            answer = (f'<OTA_ResRetrieveRS xmlns="{OTA_NS}" EchoToken="{token}" '
                      f'TimeStamp="{stamp}" Version="1.0"><Success/><ReservationsList>'
                      '<HotelReservation ResStatus="Book"><UniqueID ID="RES-1001"/>'
                      "</HotelReservation></ReservationsList></OTA_ResRetrieveRS>")
        return 200, xml, soap(answer)


@dataclass
class Holds:
    """A write answered with the request's values and the time it was made."""

    clock: Callable[[], float]

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(url)
        hotel = parts.path.split("/")[2]
        sent = json.loads(body)
        stamp = datetime.fromtimestamp(self.clock(), UTC).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")
        return 201, {}, {"hold": "confirmed", "hotel": hotel, "guestRef": sent["guest"]["ref"],
                         "nights": sent["nights"], "createdAt": stamp,
                         "channel": parse_qs(parts.query).get("channel", ["web"])[0]}


# --- time stamps, ids in lists, XML polling -----------------------------------------------

STAMP_FORMATS: dict[str, Callable[[float], Any]] = {
    "iso_ms_z": lambda t: datetime.fromtimestamp(t, UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z"),
    "iso_s_z": lambda t: datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "iso_naive": lambda t: datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
    "iso_us_offset": lambda t: datetime.fromtimestamp(t, UTC).astimezone(
        timezone(timedelta(hours=2))).isoformat(timespec="microseconds"),
    "iso_ms_naive": lambda t: datetime.fromtimestamp(t, UTC).isoformat(
        timespec="milliseconds").removesuffix("+00:00"),
    "epoch": lambda t: int(t),
    "epoch_ms": lambda t: int(t * 1000),
    "epoch_text": lambda t: str(int(t)),
    "date": lambda t: datetime.fromtimestamp(t, UTC).date().isoformat(),
}


@dataclass
class TimedJobs(Jobs):
    """``Jobs`` whose answers carry the time they were given in ``fmt``: the submit's
    ``createdAt``, each poll's ``updatedAt``, the result's ``generatedAt``, the 409's and
    404's ``at``; and ``since``, the same moment in every status answer (constant)."""

    clock: Callable[[], float] = lambda: 0.0
    fmt: str = "iso_ms_z"
    since: float = 0.0

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        status, out_headers, out = super().__call__(method, url, headers, body)
        stamp = STAMP_FORMATS[self.fmt]
        now = self.clock()
        if not self.since:
            self.since = now - 30
        if isinstance(out, dict):
            if status == 202:
                out["createdAt"] = stamp(now)
            elif url.endswith("/status") and status == 200:
                out.update(updatedAt=stamp(now), since=stamp(self.since))
            elif status == 200:
                out["generatedAt"] = stamp(now)
            else:
                out["at"] = stamp(now)
        return status, out_headers, out


@dataclass
class ListedJobs(Jobs):
    """``Jobs`` whose result names the job inside list items, inside a string, and as a
    key: ``{"rows": [{"jobId": id, ...}], "links": {"self": ".../id/result"},
    "byJob": {id: {...}}}``."""

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        status, out_headers, out = super().__call__(method, url, headers, body)
        if method == "GET" and url.endswith("/result") and status == 200:
            job = out["id"]
            out = {"rows": [{"jobId": job, "n": 1, "v": 2.5}, {"jobId": job, "n": 2, "v": 4.0}],
                   "links": {"self": f"/jobs/{job}/result", "download": f"/files/{job}.csv"},
                   "byJob": {job: {"rows": 2}}, "total": 2}
        return status, out_headers, out


@dataclass
class SoapJobs:
    """An async report API in SOAP envelopes on REST paths: the submit answers the job's id
    in the XML body (``<Job ID="..." Status="QUEUED"/>``, no Location), status and result
    answers carry it; results asked for too early get a 409 fault, unknown ids a 404
    fault. Every answer stamps its time (``TimeStamp``)."""

    clock: Callable[[], float]
    polls: int = 2
    state: dict[str, int] = field(default_factory=dict)

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        segments = urlsplit(url).path.strip("/").split("/")
        xml = {"Content-Type": "text/xml; charset=utf-8"}
        stamp = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if method == "POST" and segments == ["reports"]:
            token = body.decode().split('EchoToken="', 1)[1].split('"', 1)[0]
            job = str(uuid.uuid4())
            self.state[job] = 0
            return 202, xml, soap(
                f'<SubmitReportRS xmlns="{OTA_NS}" EchoToken="{token}" TimeStamp="{stamp}">'
                f'<Job ID="{job}" Status="QUEUED"/></SubmitReportRS>')
        if method == "GET" and len(segments) == 3 and segments[0] == "reports":
            job, what = segments[1], segments[2]
            if job not in self.state:
                return 404, xml, soap(f"<soap:Fault><faultcode>soap:Client</faultcode>"
                                      f"<faultstring>unknown job {job}</faultstring></soap:Fault>")
            if what == "status":
                self.state[job] += 1
                done = "DONE" if self.state[job] >= self.polls else "RUNNING"
                return 200, xml, soap(f'<ReportStatusRS xmlns="{OTA_NS}" TimeStamp="{stamp}">'
                                      f'<Job ID="{job}" Status="{done}"/></ReportStatusRS>')
            if self.state[job] < self.polls:
                return 409, xml, soap(f"<soap:Fault><faultcode>soap:Client</faultcode>"
                                      f"<faultstring>job {job} not ready</faultstring>"
                                      "</soap:Fault>")
            return 200, xml, soap(f'<ReportRS xmlns="{OTA_NS}"><Job ID="{job}"/><Rows>'
                                  f'<Row JobRef="{job}" N="1" Revenue="120.50"/>'
                                  '<Row N="2" Revenue="99.00"/></Rows></ReportRS>')
        return 404, xml, soap("<soap:Fault><faultcode>soap:Client</faultcode></soap:Fault>")


def submit_rq(token: str, report: str = "daily") -> bytes:
    return soap(f'<SubmitReportRQ xmlns="{OTA_NS}" EchoToken="{token}"><Report>{report}</Report>'
                "</SubmitReportRQ>")


# --- oauth and callback answers with more than the pattern's fields ------------------------


@dataclass
class Tokens:
    """A token endpoint answering, beside the token, the scope asked for, when it was issued
    (epoch milliseconds) and where the API lives."""

    clock: Callable[[], float]

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        form = parse_qs(body.decode())
        return 200, {"Cache-Control": "no-store"}, {
            "access_token": f"tok-{uuid.uuid4().hex}", "token_type": "bearer",
            "expires_in": 1800, "scope": form.get("scope", ["read"])[0],
            "issued_at": int(self.clock() * 1000), "instance_url": "https://api.partner.example"}


@dataclass
class Hooks:
    """An export API that calls back: ``POST /exports {"callbackUrl", "reference"}`` answers
    202 ``{"requestId", "status": "ACCEPTED", "eta": 30}`` with a Location, and later calls
    the URL with ``{"requestId", "event", "reference", "data", "sentAt"}``."""

    clock: Callable[[], float]
    waiting: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        sent = json.loads(body)
        request = str(uuid.uuid4())
        stamp = datetime.fromtimestamp(self.clock(), UTC).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")
        self.waiting.append((sent["callbackUrl"], {
            "requestId": request, "event": "export.ready", "reference": sent["reference"],
            "data": {"rows": 3, "format": sent.get("format", "csv")}, "sentAt": stamp}))
        return 202, {"Location": f"/exports/{request}"}, {
            "requestId": request, "status": "ACCEPTED", "eta": 30}

    def deliver(self, rec: Recorder) -> None:
        for url, body in self.waiting:
            rec.now += 1
            body["sentAt"] = datetime.fromtimestamp(rec.now, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z")
            rec.called("POST", url, body)
        self.waiting.clear()


@dataclass
class Reshaped(Jobs):
    """The API of ``Jobs`` a release later, with as many polls: the submit answers 201 with a
    ``queue`` object, each poll carries ``progress``, the result's ``rows`` is an object and
    ``total`` a string, and an unknown id is answered 410 ``{"code": "GONE"}``."""

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        status, out_headers, out = super().__call__(method, url, headers, body)
        if status == 202:
            return 201, out_headers, {**out, "queue": {"position": 3}}
        if status == 404:
            return 410, {}, {"code": "GONE"}
        if url.endswith("/status") and status == 200:
            return 200, out_headers, {**out, "progress": 100 if out["status"] == "DONE" else 50}
        if url.endswith("/result") and status == 200:
            return 200, out_headers, {"id": out["id"], "rows": {"items": out["rows"]},
                                      "total": str(out["total"]), "report": out["report"]}
        return status, out_headers, out
