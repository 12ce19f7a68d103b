"""What the original imnot does over HTTP and clients rely on: its docs routes, the Postman
collection's name, the reload answer's keys, and X-Request-ID on every answer of ours."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from .conftest import Imnot, StartImnot
from .harness import UpstreamServer

REPO = Path(__file__).resolve().parents[2]
KEY = f"key-{uuid.uuid4().hex}"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def imnot(start_imnot: StartImnot, tmp_path_factory) -> Imnot:
    partners = tmp_path_factory.mktemp("partners")
    for name in ("staylink", "bookingco"):
        (partners / name).mkdir()
        (partners / name / "partner.yaml").write_text(
            (REPO / "partners" / name / "partner.yaml").read_text())
    return start_imnot(partners, imnot_admin_key=KEY)


@pytest.mark.parametrize(("path", "words"), [
    ("/imnot/docs", "imnot_proxy"), ("/imnot/docs/partners", "Partner files: reference")])
def test_docs_are_plain_text_and_open_without_the_key(imnot: Imnot, path: str, words: str):
    for reply in (imnot.direct("GET", path),
                  imnot.request("GET", f"http://imnot.proxy{path}")):
        assert reply.status == 200, reply.text
        assert reply.headers["Content-Type"].startswith("text/plain")
        assert words in reply.text


def test_the_postman_collection_is_named_as_the_originals(imnot: Imnot):
    reply = imnot.direct("GET", "/imnot/admin/postman", headers=AUTH)
    assert reply.json()["info"]["name"] == "imnot"


def test_reload_answers_the_originals_keys_beside_ours(imnot: Imnot):
    report = imnot.direct("POST", "/imnot/admin/reload", headers=AUTH).json()
    assert report["status"] == "ok"
    assert "GET /bookingco/v1/charges" in report["updated"]
    assert report["added"] == [] and report["conflicts"] == []
    assert {"routes_added", "routes_removed", "problems", "partners", "at"} <= set(report)


def test_every_answer_of_ours_carries_a_request_id(imnot: Imnot):
    mocked = imnot.request("POST", "http://api.staylink.example/oauth/token")
    missed = imnot.request("GET", "http://api.staylink.example/nothing/here")
    admin = imnot.direct("GET", "/imnot/admin/partners", headers=AUTH)
    refused = imnot.direct("GET", "/imnot/admin/partners")
    ids = [r.headers["X-Request-ID"] for r in (mocked, missed, admin, refused)]
    assert all(uuid.UUID(i).version == 4 for i in ids) and len(set(ids)) == 4


def test_a_request_id_is_echoed_and_traced_in_the_journal(imnot: Imnot):
    mine = f"trace-{uuid.uuid4().hex}"
    reply = imnot.request("POST", "http://api.staylink.example/oauth/token",
                          headers={"X-Request-ID": mine})
    assert reply.headers["X-Request-ID"] == mine
    journal = imnot.direct("GET", "/imnot/admin/journal?limit=20", headers=AUTH).json()
    assert [e["request_id"] for e in journal if e["kind"] == "mock"][0] == mine


def test_a_request_id_that_is_not_plain_text_is_replaced(imnot: Imnot):
    reply = imnot.request("POST", "http://api.staylink.example/oauth/token",
                          headers={"X-Request-ID": "x" * 500})
    assert uuid.UUID(reply.headers["X-Request-ID"]).version == 4


def test_passthrough_is_left_untouched(imnot: Imnot):
    with UpstreamServer() as upstream:
        reply = imnot.request("GET", f"{upstream.url}/plain")
        assert reply.status == 200
        assert "X-Request-ID" not in reply.headers
        assert json.loads(reply.body) is not None
