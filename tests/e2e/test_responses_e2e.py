"""Answers chosen by the request, templates, and XML/SOAP partners, through a real proxy:
the bundled OTA channel manager end to end, an XML payload uploaded three ways, and the
journal saying which alternative answered."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from .conftest import Imnot, StartImnot

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "imnot_proxy" / "examples" / "channellink"
HOST = "http://api.channellink.example"
OTA = "{http://www.opentravel.org/OTA/2003/05}"
RATES = """
partner: acme
hosts: [api.acme.example]
datapoints:
  - name: rates
    pattern: static
    endpoints:
      - method: POST
        path: /rates/{hotel}
        alternatives:
          - when: {header: X-Tier, equals: gold}
            response:
              template: true
              body: {hotel: "{{ request.params.hotel }}", tier: gold,
                     nights: "{{ request.json('$.nights') }}"}
          - when: {json: $.currency, in: [EUR, USD]}
            response: {body: {tier: currency}}
"""


@pytest.fixture(scope="module")
def imnot(start_imnot: StartImnot, tmp_path_factory: pytest.TempPathFactory) -> Imnot:
    partners = tmp_path_factory.mktemp("partners")
    shutil.copytree(EXAMPLE, partners / "channellink")
    (partners / "acme.yaml").write_text(RATES)
    return start_imnot(partners)


def avail(password: str = "s3cret", room: str = "DBL") -> bytes:
    text = (EXAMPLE / "requests" / "avail-rq.xml").read_text()
    return text.replace("s3cret", password).replace('InvTypeCode="DBL"',
                                                    f'InvTypeCode="{room}"').encode()


def soap(imnot: Imnot, body: bytes, action: str | None = "OTA_HotelAvailNotifRQ"):
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if action:
        headers["SOAPAction"] = f'"{action}"'
    return imnot.request("POST", f"{HOST}/pmsxchange/v2", body, headers=headers)


def ota_answer(reply) -> etree._Element:
    root = etree.fromstring(reply.body)
    return root.find(f".//{OTA}OTA_HotelAvailNotifRS")


def test_the_ota_partner_echoes_and_says_success(imnot: Imnot):
    reply = soap(imnot, avail())
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/xml")
    answer = ota_answer(reply)
    assert answer.get("EchoToken") == "echo-42"
    assert answer.get("TimeStamp").endswith("Z") and answer.find(f"{OTA}Success") is not None


def test_the_operation_can_come_from_the_body_alone(imnot: Imnot):
    assert ota_answer(soap(imnot, avail(), action=None)).find(f"{OTA}Success") is not None


def test_an_unknown_room_type_is_an_ota_error(imnot: Imnot):
    errors = ota_answer(soap(imnot, avail(room="UNKNOWN"))).find(f"{OTA}Errors")
    assert errors is not None and errors[0].get("Code") == "402"


def test_wrong_credentials_get_the_partners_soap_fault(imnot: Imnot):
    reply = soap(imnot, avail(password="wrong"))
    assert reply.status == 500 and b"<faultstring>Authentication failed</faultstring>" in reply.body


def test_an_operation_the_partner_lacks_is_a_soap_fault(imnot: Imnot):
    body = avail().replace(b"OTA_HotelAvailNotifRQ", b"OTA_HotelInvCountNotifRQ")
    reply = soap(imnot, body, action="OTA_HotelInvCountNotifRQ")
    assert reply.status == 500 and b"<faultcode>soap:Client</faultcode>" in reply.body
    assert b"no endpoint for POST /pmsxchange/v2 matched" in reply.body


def test_an_xml_payload_from_the_partner_folder_is_served_as_xml(imnot: Imnot):
    reply = soap(imnot, (EXAMPLE / "requests" / "read-rq.xml").read_bytes(), "OTA_ReadRQ")
    assert reply.headers["Content-Type"] == "application/xml"
    assert b'<UniqueID Type="14" ID="CL-1001"/>' in reply.body


def test_an_xml_payload_uploaded_by_admin_api_and_cli_is_served_byte_for_byte(
        imnot: Imnot, tmp_path: Path):
    mine = b'<?xml version="1.0"?><OTA_ResRetrieveRS><Success/><Mine/></OTA_ResRetrieveRS>'
    reply = imnot.direct("POST", "/imnot/admin/channellink/reservations/payload", mine,
                         headers={"Content-Type": "text/xml"})
    assert reply.status == 200, reply.text
    read = (EXAMPLE / "requests" / "read-rq.xml").read_bytes()
    served = soap(imnot, read, "OTA_ReadRQ")
    assert (served.body, served.headers["Content-Type"]) == (mine, "text/xml")

    file = tmp_path / "rs.xml"
    file.write_bytes(mine.replace(b"<Mine/>", b"<FromCli/>"))
    done = subprocess.run([sys.executable, "-m", "imnot_proxy.cli", "payload", "set",
                           "channellink", "reservations", str(file), "--url", imnot.url],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    served = soap(imnot, read, "OTA_ReadRQ")
    assert served.body == file.read_bytes() and served.headers["Content-Type"] == \
        "application/xml"


def test_alternatives_through_the_proxy_and_the_journal_says_which(imnot: Imnot):
    gold = imnot.request("POST", "http://api.acme.example/rates/H-1", {"nights": 3},
                         headers={"X-Tier": "gold"})
    assert gold.json() == {"hotel": "H-1", "tier": "gold", "nights": 3}
    assert imnot.request("POST", "http://api.acme.example/rates/H-1",
                         {"currency": "EUR"}).json() == {"tier": "currency"}
    none = imnot.request("POST", "http://api.acme.example/rates/H-1", {"currency": "GBP"})
    assert none.status == 404 and [t["alternative"] for t in none.json()["tried"]] == [
        "when#1 (header X-Tier=gold)", "when#2 (json $.currency in [EUR, USD])"]
    journal = imnot.direct("GET", "/imnot/admin/journal?limit=5").json()
    choices = [e["choice"] for e in journal if e["partner"] == "acme"]
    assert "when#1 (header X-Tier=gold)" in choices
    assert "when#2 (json $.currency in [EUR, USD])" in choices
