"""The addon under mitmproxy's test context: options, hooks and commands, no sockets."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import connection, exceptions, http
from mitmproxy.proxy.layers.http import HttpConnectHook
from mitmproxy.proxy.server_hooks import ClientDisconnectedHook
from mitmproxy.test import tflow

from imnot_proxy.addon import ImnotProxy
from imnot_proxy.messages import encode_json

RESERVATION = "http://api.bookingco.example/bookingco/v1/reservation"
CHARGES = "http://api.bookingco.example/bookingco/v1/charges?propertyId=P1"


@pytest.fixture
async def proxy(partners_dir: Path, tmp_path: Path, addon_context):
    """The addon configured with a copy of the example partners; yields (addon, tctx)."""
    addon = ImnotProxy()
    with addon_context(addon) as tctx:
        tctx.configure(addon, imnot_partners=[str(partners_dir)],
                       imnot_db=str(tmp_path / "imnot.db"))
        yield addon, tctx
        addon.done()


def make_flow(method: str, url: str, body: bytes = b"", headers: dict | None = None,
              client: connection.Client | None = None) -> http.HTTPFlow:
    request = http.Request.make(method, url, body, headers or {})
    return tflow.tflow(req=request, client_conn=client or tflow.tclient_conn())


async def run(tctx, addon: ImnotProxy, flow: http.HTTPFlow) -> http.HTTPFlow:
    await tctx.cycle(addon, flow)
    return flow


def body_of(flow: http.HTTPFlow) -> Any:
    assert flow.response is not None
    return json.loads(flow.response.content)


def basic(user: str, password: str = "x") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- configure -------------------------------------------------------------------------

async def test_configure_loads_the_partner_files(proxy):
    addon, tctx = proxy
    assert sorted(s.name for s in addon.engine.partners) == ["bookingco", "channellink", "staylink"]
    routes = tctx.command(addon.routes_command)
    assert "api.staylink.example POST /oauth/token staylink/token [oauth]" in routes
    assert "api.bookingco.example GET /bookingco/v1/charges bookingco/charges [fetch]" in routes


@pytest.mark.parametrize(("option", "value"), [
    ("imnot_unmatched", "sometimes"), ("imnot_mode", "recrod"), ("imnot_intercept", "none")])
async def test_bad_option_value_is_rejected_and_rolled_back(proxy, option, value):
    addon, tctx = proxy
    before = getattr(tctx.options, option)
    try:
        with pytest.raises(exceptions.OptionsError):
            tctx.configure(addon, **{option: value})
    finally:
        assert getattr(tctx.options, option) == before


async def test_unusable_store_is_an_options_error(proxy, tmp_path):
    addon, tctx = proxy
    (tmp_path / "a-directory.db").mkdir()
    with pytest.raises(exceptions.OptionsError, match="Cannot open imnot_db"):
        tctx.configure(addon, imnot_db=str(tmp_path / "a-directory.db"))


async def test_broken_file_at_start_up_is_a_warning_and_the_others_load(
        partners_dir, tmp_path, addon_context, caplog):
    (partners_dir / "broken.yaml").write_text("partner: broken\ndatapoints: {}\n")
    addon = ImnotProxy()
    with addon_context(addon) as tctx:
        tctx.configure(addon, imnot_partners=[str(partners_dir)],
                       imnot_db=str(tmp_path / "imnot.db"))
        try:
            assert sorted(s.name for s in addon.engine.partners) == ["bookingco", "channellink", "staylink"]
            flow = await run(tctx, addon, make_flow("GET", RESERVATION))
            assert flow.response.status_code == 200
        finally:
            addon.done()
    broken = [r for r in caplog.records if "broken.yaml" in r.getMessage()]
    assert broken and all(r.levelno == logging.WARNING for r in broken)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# --- mocked flows ------------------------------------------------------------------------

async def test_mocked_flow_gets_response_metadata_comment_and_replay_mark(proxy):
    addon, tctx = proxy
    flow = await run(tctx, addon, make_flow("GET", RESERVATION))
    assert flow.response.status_code == 200
    assert flow.response.headers["content-type"] == "application/json"
    assert body_of(flow)["reservationId"] == "RES-001"
    meta = flow.metadata["imnot"]
    assert (meta["kind"], meta["partner"], meta["datapoint"], meta["pattern"]) == (
        "mock", "bookingco", "reservation", "static")
    assert meta["route"] == "GET /bookingco/v1/reservation"
    assert flow.comment.startswith("imnot mock bookingco/reservation")
    assert flow.is_replay == "response"


async def test_polling_step_is_named_in_the_comment(proxy):
    addon, tctx = proxy
    flow = await run(tctx, addon, make_flow("POST", "http://api.staylink.example/staylink/reservations"))
    assert flow.response.status_code == 202
    assert flow.response.headers["location"].startswith("/staylink/reservations/")
    assert flow.metadata["imnot"]["step"] == "step 1/3"
    assert "step 1/3" in flow.comment


async def test_head_keeps_the_content_length_of_the_get(proxy):
    addon, tctx = proxy
    get = await run(tctx, addon, make_flow("GET", RESERVATION))
    head = await run(tctx, addon, make_flow("HEAD", RESERVATION))
    assert head.response.status_code == 200
    assert head.response.raw_content == b""
    assert head.response.headers["content-length"] == str(len(get.response.content))


async def test_partner_host_miss_is_a_404_naming_the_closest_routes(proxy):
    addon, tctx = proxy
    flow = await run(tctx, addon, make_flow("GET", "http://api.bookingco.example/bookingco/v1/charge"))
    assert flow.response.status_code == 404
    assert "GET /bookingco/v1/charges (bookingco/charges)" in body_of(flow)["closest"]
    assert flow.metadata["imnot"]["kind"] == "miss"
    assert flow.metadata["imnot"]["partner"] == "bookingco"  # the journal's partner filter
    assert addon.journal.latest(1)[0].partner == "bookingco"


async def test_partner_host_miss_passes_through_when_asked(proxy):
    addon, tctx = proxy
    tctx.configure(addon, imnot_unmatched="passthrough")
    flow = await run(tctx, addon, make_flow("GET", "http://api.bookingco.example/elsewhere",
                                            headers={"X-Imnot-Session": "s1"}))
    assert flow.response is None
    assert "X-Imnot-Session" not in flow.request.headers


# --- flows that are not ours ------------------------------------------------------------

async def test_non_partner_host_is_untouched(proxy):
    addon, tctx = proxy
    flow = make_flow("POST", "http://example.org/api?q=1", b'{"a":1}',
                     {"Authorization": "Bearer real", "X-Trace": "t"})
    before = list(flow.request.headers.fields)
    await run(tctx, addon, flow)
    assert flow.response is None
    assert list(flow.request.headers.fields) == before
    assert flow.request.content == b'{"a":1}'
    assert "imnot" not in flow.metadata
    assert not flow.is_replay


async def test_our_headers_are_stripped_before_passthrough(proxy):
    addon, tctx = proxy
    flow = make_flow("GET", "http://example.org/", headers={
        "X-Imnot-Session": "s1", "Proxy-Authorization": basic("s1"), "X-Keep": "yes"})
    await run(tctx, addon, flow)
    assert flow.response is None
    assert "X-Imnot-Session" not in flow.request.headers
    assert "Proxy-Authorization" not in flow.request.headers
    assert flow.request.headers["X-Keep"] == "yes"


async def test_flows_with_a_response_or_not_live_are_left_alone(proxy):
    addon, tctx = proxy
    replayed = tflow.tflow(req=http.Request.make("GET", RESERVATION), live=False)
    await run(tctx, addon, replayed)
    assert replayed.response is None
    answered = tflow.tflow(req=http.Request.make("GET", RESERVATION), resp=True)
    original = answered.response
    await run(tctx, addon, answered)
    assert answered.response is original


# --- sessions ---------------------------------------------------------------------------

@pytest.fixture
def charges_session(proxy) -> str:
    addon, _ = proxy
    addon.store.put_global("bookingco", "charges", encode_json("global"))
    return addon.store.create_session("bookingco", "charges", encode_json("session"))


async def test_session_from_the_session_header(proxy, charges_session):
    addon, tctx = proxy
    flow = await run(tctx, addon, make_flow("GET", CHARGES,
                                            headers={"X-Imnot-Session": charges_session}))
    assert body_of(flow) == "session"
    assert flow.metadata["imnot"]["session"] == charges_session
    assert f"session {charges_session}" in flow.comment


async def test_session_from_the_proxy_user_name(proxy, charges_session):
    addon, tctx = proxy
    flow = await run(tctx, addon, make_flow("GET", CHARGES,
                                            headers={"Proxy-Authorization": basic(charges_session)}))
    assert body_of(flow) == "session"
    assert flow.metadata["imnot"]["session"] == charges_session


async def test_session_header_wins_over_the_proxy_user(proxy, charges_session):
    addon, tctx = proxy
    flow = await run(tctx, addon, make_flow("GET", CHARGES, headers={
        "X-Imnot-Session": charges_session, "Proxy-Authorization": basic("someone-else")}))
    assert body_of(flow) == "session"


async def test_no_session_means_the_global_payload(proxy, charges_session):
    addon, tctx = proxy
    assert body_of(await run(tctx, addon, make_flow("GET", CHARGES))) == "global"


async def test_https_session_is_remembered_from_connect_per_client(proxy, charges_session):
    addon, tctx = proxy
    client = tflow.tclient_conn()
    connect = make_flow("CONNECT", "http://api.bookingco.example:443/",
                        headers={"Proxy-Authorization": basic(charges_session)}, client=client)
    tctx.master.addons.invoke_addon_sync(addon, HttpConnectHook(connect))
    https_charges = CHARGES.replace("http://", "https://")
    inner = await run(tctx, addon, make_flow("GET", https_charges, client=client))
    assert body_of(inner) == "session"
    other = await run(tctx, addon, make_flow("GET", https_charges))
    assert body_of(other) == "global"
    tctx.master.addons.invoke_addon_sync(addon, ClientDisconnectedHook(client))
    after = await run(tctx, addon, make_flow("GET", https_charges, client=client))
    assert body_of(after) == "global"


# --- admin -------------------------------------------------------------------------------

async def test_admin_host_is_served(proxy):
    addon, tctx = proxy
    flow = await run(tctx, addon, make_flow("GET", "http://imnot.proxy/imnot/admin/partners"))
    assert flow.response.status_code == 200
    assert sorted(p["partner"] for p in body_of(flow)) == ["bookingco", "channellink", "staylink"]
    assert flow.metadata["imnot"]["admin"] is True
    assert flow.response.headers["x-request-id"] == flow.metadata["imnot"]["request_id"]


async def test_admin_upload_then_mock_serves_it(proxy):
    addon, tctx = proxy
    upload = await run(tctx, addon, make_flow(
        "POST", "http://imnot.proxy/imnot/admin/bookingco/charges/payload", b'{"total": 5}'))
    assert upload.response.status_code == 200
    assert body_of(await run(tctx, addon, make_flow("GET", CHARGES))) == {"total": 5}


async def test_admin_key_option_guards_the_admin_api(proxy):
    addon, tctx = proxy
    tctx.configure(addon, imnot_admin_key="k3y")
    url = "http://imnot.proxy/imnot/admin/sessions"
    assert (await run(tctx, addon, make_flow("GET", url))).response.status_code == 401
    allowed = await run(tctx, addon, make_flow("GET", url, headers={"Authorization": "Bearer k3y"}))
    assert allowed.response.status_code == 200


async def test_direct_requests_to_the_proxy_port(proxy):
    addon, tctx = proxy
    client = tflow.tclient_conn()
    client.sockname = ("127.0.0.1", 8080)
    mocked = await run(tctx, addon, make_flow(
        "GET", "http://127.0.0.1:8080/bookingco/v1/reservation", client=client))
    assert body_of(mocked)["reservationId"] == "RES-001"
    health = await run(tctx, addon, make_flow("GET", "http://127.0.0.1:8080/healthz",
                                              client=client))
    assert body_of(health)["status"] == "ok"


# --- failures ----------------------------------------------------------------------------

async def test_engine_exception_is_a_500_and_never_goes_upstream(proxy, monkeypatch, caplog):
    addon, tctx = proxy

    def explode(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(addon.engine, "call", explode)
    flow = await run(tctx, addon, make_flow("GET", RESERVATION,
                                            headers={"X-Imnot-Session": "s1"}))
    assert flow.response is not None
    assert flow.response.status_code == 500
    assert body_of(flow) == {"detail": "imnot_proxy error: boom"}
    assert flow.metadata["imnot"]["kind"] == "error"
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)


async def test_store_failure_is_a_500(proxy):
    addon, tctx = proxy
    addon.store.close()
    flow = await run(tctx, addon, make_flow("GET", CHARGES))
    assert flow.response.status_code == 500
    assert body_of(flow)["detail"].startswith("imnot_proxy error:")


# --- commands ----------------------------------------------------------------------------

async def test_reload_command_picks_up_changes(proxy, partners_dir):
    addon, tctx = proxy
    (partners_dir / "extra.yaml").write_text(
        "partner: extra\nhosts: [api.extra.example]\ndatapoints:\n"
        "  - {name: ping, pattern: static, endpoints: [{method: GET, path: /ping}]}\n")
    assert tctx.command(addon.reload_command) == "reloaded 4 partners"
    flow = await run(tctx, addon, make_flow("GET", "http://api.extra.example/ping"))
    assert (flow.response.status_code, body_of(flow)) == (200, {})
    assert "api.extra.example GET /ping extra/ping [static]" in tctx.command(addon.routes_command)


async def test_reload_with_a_broken_file_keeps_its_last_good_version(proxy, partners_dir):
    addon, tctx = proxy
    path = partners_dir / "bookingco" / "partner.yaml"
    path.write_text(path.read_text().replace("pattern: fetch", "pattern: fetsh"))
    (partners_dir / "extra.yaml").write_text(
        "partner: extra\nhosts: [api.extra.example]\ndatapoints:\n"
        "  - {name: ping, pattern: static, endpoints: [{method: GET, path: /ping}]}\n")
    message = tctx.command(addon.reload_command)
    assert message.startswith("reloaded 4 partners; problems: ")
    assert "unknown pattern 'fetsh'" in message
    assert addon.definitions.last_report.kept == [str(path)]
    flow = await run(tctx, addon, make_flow("GET", RESERVATION))
    assert flow.response.status_code == 200
    assert (await run(tctx, addon, make_flow("GET", "http://api.extra.example/ping"))
            ).response.status_code == 200


async def test_payload_set_command(proxy, tmp_path):
    addon, tctx = proxy
    file = tmp_path / "charges.json"
    file.write_text('{"total": 7}')
    assert tctx.command(addon.payload_set_command, "bookingco", "charges", str(file)) == \
        "payload set for bookingco/charges"
    assert body_of(await run(tctx, addon, make_flow("GET", CHARGES))) == {"total": 7}
    with pytest.raises(exceptions.CommandError):
        tctx.command(addon.payload_set_command, "bookingco", "reservation", str(file))


async def test_passthrough_lines_only_when_asked_and_flow_lines_only_when_printed(
        partners_dir: Path, tmp_path: Path, addon_context, caplog):
    from mitmproxy.addons.termlog import TermLog

    addon, termlog = ImnotProxy(), TermLog()
    caplog.set_level(logging.INFO, logger="imnot_proxy")

    def lines(word: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if word in r.getMessage()]

    with addon_context(termlog, addon) as tctx:
        tctx.configure(addon, imnot_partners=[str(partners_dir)],
                       imnot_db=str(tmp_path / "imnot.db"))
        await run(tctx, addon, make_flow("GET", "http://elsewhere.example/x"))
        assert lines("passthrough") == []
        tctx.configure(addon, imnot_log_passthrough=True)
        await run(tctx, addon, make_flow("GET", "http://elsewhere.example/y"))
        assert lines("passthrough") == ["passthrough GET http://elsewhere.example/y"]

        tctx.configure(termlog, termlog_verbosity="error")  # mitmdump -q: INFO is not printed
        await run(tctx, addon, make_flow("POST", "http://api.staylink.example/oauth/token"))
        assert lines("imnot mock") == []
        tctx.configure(termlog, termlog_verbosity="info")
        await run(tctx, addon, make_flow("POST", "http://api.staylink.example/oauth/token"))
        assert [line.split(" -> ")[0] for line in lines("imnot mock")] == [
            "imnot mock staylink/token"]
        addon.done()


async def test_the_flow_log_line_names_the_request_id(proxy, caplog):
    addon, tctx = proxy
    caplog.set_level(logging.INFO, logger="imnot_proxy")
    await run(tctx, addon, make_flow("POST", "http://api.staylink.example/oauth/token",
                                     headers={"X-Request-ID": "trace-7"}))
    (line,) = [r.getMessage() for r in caplog.records if "imnot mock" in r.getMessage()]
    assert line.startswith("imnot mock staylink/token -> 200 (") and line.endswith(
        " · request trace-7")


async def test_tls_interception_follows_the_partner_hosts(proxy):
    addon, tctx = proxy
    (pattern,) = tctx.options.allow_hosts
    assert "api\\.staylink\\.example" in pattern and "imnot\\.proxy" in pattern
    tctx.configure(addon, imnot_intercept="all")
    assert list(tctx.options.allow_hosts) == []


def recorded(tmp_path: Path) -> list[dict]:
    entries = []
    for har in sorted((tmp_path / "rec").glob("*.har")):
        entries += json.loads(har.read_text())["log"]["entries"]
    return entries


async def record_cycle(tctx, addon, url: str) -> http.HTTPFlow:
    """A flow that went upstream (the test plays the upstream's answer) through every hook."""
    flow = make_flow("GET", url)
    addon.request(flow)
    if flow.response is None:
        flow.response = http.Response.make(200, b'{"real": true}',
                                           {"content-type": "application/json"})
        addon.response(flow)
    addon.recording.flush()
    return flow


@pytest.mark.parametrize(("options", "url", "recorded_as"), [
    ({"imnot_mode": "record"}, "http://api.staylink.example/oauth/token", "staylink"),
    ({"imnot_unmatched": "record"}, "http://api.staylink.example/not/defined", "staylink"),
    ({"imnot_record_hosts": ["api.new.example"]}, "http://api.new.example/x",
     "api-new-example"),
])
async def test_record_decisions(proxy, tmp_path, options, url, recorded_as):
    addon, tctx = proxy
    tctx.configure(addon, imnot_recordings=str(tmp_path / "rec"), **options)
    flow = await record_cycle(tctx, addon, url)
    assert flow.metadata["imnot"]["kind"] == "record"
    assert flow.comment.startswith(f"imnot record {recorded_as} ")
    (entry,) = recorded(tmp_path)
    assert entry["request"]["url"] == url and entry["_imnot"]["partner"] == recorded_as


async def test_spy_mode_still_mocks_what_is_defined(proxy, tmp_path):
    addon, tctx = proxy
    tctx.configure(addon, imnot_recordings=str(tmp_path / "rec"), imnot_unmatched="record")
    flow = await record_cycle(tctx, addon, "http://api.bookingco.example/bookingco/v1/reservation")
    assert flow.metadata["imnot"]["kind"] == "mock"
    assert recorded(tmp_path) == []


async def test_partner_mode_overrides_the_global_mode(partners_dir, tmp_path, addon_context):
    staylink = partners_dir / "staylink" / "partner.yaml"
    staylink.write_text(staylink.read_text().replace("partner: staylink\n",
                                                     "partner: staylink\nmode: record\n"))
    addon = ImnotProxy()
    with addon_context(addon) as tctx:
        tctx.configure(addon, imnot_partners=[str(partners_dir)],
                       imnot_db=str(tmp_path / "imnot.db"),
                       imnot_recordings=str(tmp_path / "rec"))
        recorded_flow = await record_cycle(tctx, addon, "http://api.staylink.example/oauth/token")
        mocked = await record_cycle(tctx, addon,
                                    "http://api.bookingco.example/bookingco/v1/reservation")
        assert recorded_flow.metadata["imnot"]["kind"] == "record"
        assert mocked.metadata["imnot"]["kind"] == "mock"
        addon.done()


async def test_mocked_responses_carry_the_standard_reason_phrase(proxy):
    addon, tctx = proxy
    flow = await run(tctx, addon, make_flow("POST", "http://api.staylink.example/staylink/reservations"))
    assert (flow.response.status_code, flow.response.reason) == (202, "Accepted")


def test_every_standard_status_has_its_reason_phrase():
    """mitmproxy's table lacks some codes a mock sends (429 above all)."""
    from imnot_proxy.flows import REASONS
    assert (REASONS[429], REASONS[202], REASONS[451]) == (
        b"Too Many Requests", b"Accepted", b"Unavailable For Legal Reasons")
