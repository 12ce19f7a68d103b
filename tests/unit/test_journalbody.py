"""Request bodies in the journal: off by default, redacted and bounded when on; admin flows
and passthrough partner flows marked for the session and for mitmweb."""

from __future__ import annotations

import json

import pytest

from imnot_proxy.journal import JournalEntry
from imnot_proxy.journalbody import REDACT_LIMIT, BodyCapture
from imnot_proxy.recording.redact import PLACEHOLDER

from . import test_addon
from .test_addon import make_flow, run

proxy = test_addon.proxy  # the fixture: the addon over a copy of the example partners


def capture(limit: int = 4096) -> BodyCapture:
    made = BodyCapture.of(limit)
    assert made is not None
    return made


def test_off_is_none():
    assert BodyCapture.of(0) is None


def test_json_secrets_are_redacted_and_the_rest_kept():
    text = capture().text(b'{"guest": "Ada", "password": "hunter22", "card": {"token": "t0k3n"}}',
                          "application/json")
    assert text is not None
    assert "hunter22" not in text and "t0k3n" not in text
    assert json.loads(text)["guest"] == "Ada"
    assert PLACEHOLDER in text


def test_form_and_extra_field_names_are_redacted():
    made = BodyCapture.of(4096, redact_fields=["guestName"])
    text = made.text(b"guestName=Ada&client_secret=abc123&room=12",
                     "application/x-www-form-urlencoded")
    assert "Ada" not in text and "abc123" not in text and "room=12" in text


def test_long_bodies_are_cut_at_the_limit_without_splitting_a_character():
    body = json.dumps({"note": "é" * 100}, ensure_ascii=False).encode()
    text = capture(limit=21).text(body, "application/json")
    assert text.startswith('{"note": "éééé')
    assert text.endswith(f"… [{len(body):,} bytes in all]")
    assert "\ufffd" not in text


@pytest.mark.parametrize(("body", "expected"), [
    (b"", None),
    (b"\xff\xfe\x00binary", "[9 bytes, not UTF-8 text]"),
    (b"x" * (REDACT_LIMIT + 1), f"[{REDACT_LIMIT + 1:,} bytes, not kept"),
])
def test_empty_binary_and_huge_bodies(body, expected):
    text = capture().text(body, "application/octet-stream")
    assert text == expected if expected is None else text.startswith(expected)


def test_a_redactor_failure_keeps_nothing(monkeypatch):
    made = capture()

    def broken(*args):
        raise RecursionError("deep")
    monkeypatch.setattr(type(made.redactor), "body", broken)
    assert made.text(b'{"password": "x"}', "application/json").startswith(PLACEHOLDER)


def test_view_has_body_only_when_kept():
    entry = JournalEntry(at=0.0, kind="mock", method="POST", scheme="http", host="h", port=80,
                         path="/", status=200, seconds=0.0)
    assert "body" not in entry.view()
    kept = capture().add(entry, b"", None)
    assert kept.view()["body"] is None
    assert capture().add(entry, b"{}", "application/json").view()["body"] == "{}"


async def test_journal_keeps_no_body_by_default(proxy):
    addon, tctx = proxy
    await run(tctx, addon, make_flow("GET", test_addon.RESERVATION, b'{"a": 1}'))
    assert "body" not in addon.journal.latest(1)[0].view()


async def test_journal_keeps_redacted_bodies_when_asked(proxy):
    addon, tctx = proxy
    tctx.configure(addon, imnot_journal_bodies=64)
    await run(tctx, addon, make_flow("POST", "http://api.staylink.example/staylink/reservations",
                                     b'{"guest": "Ada", "password": "hunter22"}',
                                     {"content-type": "application/json"}))
    await run(tctx, addon, make_flow("POST", "http://api.bookingco.example/nope", b"x=1"))
    miss, mock = (e.view() for e in addon.journal.latest(2))
    assert (mock["kind"], miss["kind"]) == ("mock", "miss")
    assert "Ada" in mock["body"] and "hunter22" not in mock["body"]
    assert miss["body"] == "x=1"


async def test_admin_flows_are_marked_for_mitmweb(proxy):
    addon, tctx = proxy
    flow = await run(tctx, addon, make_flow("GET", "http://imnot.proxy/healthz"))
    assert flow.comment == "imnot admin GET /healthz"
    flow = await run(tctx, addon, make_flow("DELETE", "http://imnot.proxy/imnot/admin/sessions"))
    assert flow.comment == "imnot admin DELETE /imnot/admin/sessions"


async def test_passthrough_partner_flows_carry_their_session(proxy):
    addon, tctx = proxy
    tctx.configure(addon, imnot_unmatched="passthrough")
    await run(tctx, addon, make_flow("GET", "http://api.bookingco.example/nope",
                                     headers={"X-Imnot-Session": "s9"}))
    entry = addon.journal.latest(1)[0]
    assert (entry.kind, entry.session) == ("passthrough", "s9")
