"""``record to-yaml`` end to end: what the inference skips, names and scrubs, the YAML writer,
and the CLI on HAR files from us, from a browser, cut short, malformed, and on mitmproxy flow
files. Each pattern has its own test_infer_<module>.py."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from imnot_proxy import loader
from imnot_proxy.cli import main
from imnot_proxy.engine import Engine, Mocked
from imnot_proxy.messages import CIHeaders, MockResponse, RequestView
from imnot_proxy.recording import yamlout
from imnot_proxy.recording.exchange import Exchange
from imnot_proxy.recording.har import HarWriter, to_entry
from imnot_proxy.recording.infer import Inference, flow_ranges, infer
from imnot_proxy.seeding import seed_payloads

from .infer_support import ex, job_flow, offset_pages

HAR_DATA = Path(__file__).resolve().parents[1] / "data" / "har"


def rendered(result: Inference, tmp_path: Path) -> yamlout.Rendered:
    return yamlout.render(result, ["test.har"], tmp_path / result.partner)


# --- the summary, names and hosts -----------------------------------------------------------


def test_flow_ranges() -> None:
    assert flow_ranges([9, 4, 5, 6, 11, 12]) == "4–6, 9, 11–12"
    assert flow_ranges([3]) == "3"


def test_failed_exchanges_are_skipped_and_listed() -> None:
    result = infer([ex("GET", "/down", None, b"", error="connection refused"),
                    ex("GET", "/up", 200, {"ok": True})], "p")
    assert [(r.flows, r.why) for r in result.skipped] == [("1", "no response: connection refused")]
    assert [dp.name for dp in result.datapoints] == ["up"]


def test_same_last_segment_gets_distinct_names() -> None:
    result = infer([ex("GET", "/orders", 200, {"orders": []}),
                    ex("POST", "/orders", 200, {"ok": True}),
                    ex("GET", "/archive/orders", 200, {"orders": []})], "p")
    assert [dp.name for dp in result.datapoints] == ["orders", "post_orders", "archive_orders"]


def test_hosts_from_the_recording_and_the_host_filter() -> None:
    flows = [ex("GET", "/a", 200, {"a": 1}),
             ex("GET", "/b", 200, {"b": 1}, base="https://cdn.other.example"),
             ex("GET", "/c", 200, {"c": 1}, base="https://eu.partner.example")]
    assert infer(flows, "p").hosts == ["api.partner.example", "cdn.other.example",
                                       "eu.partner.example"]
    picked = infer(flows, "p", hosts=["*.partner.example"])
    assert picked.hosts == ["api.partner.example", "eu.partner.example"]
    assert [(r.flows, r.request, r.why) for r in picked.skipped] == [
        ("2", "1 flows to cdn.other.example", "host not selected with --host")]


# --- YAML writer -----------------------------------------------------------------------------


def everything() -> list[Exchange]:
    job = "0f8c1e2a-1111-4222-8333-944455556666"
    return ([ex("POST", "/oauth/token", 200, {"access_token": "t", "token_type": "Bearer",
                                               "expires_in": 60})]
            + job_flow(job)
            + offset_pages([{"n": i} for i in range(3)])
            + [ex("GET", "/properties/42", 200, {"id": 42}),
               ex("GET", "/lookup", 200, b"a,b\n", headers=[("Content-Type", "text/csv")])])


def test_rendered_yaml_loads_and_keeps_key_order_and_comments(tmp_path: Path) -> None:
    out = rendered(infer(everything(), "acme"), tmp_path)
    text = out.partner_yaml
    assert text.index("partner: acme") < text.index("hosts:") < text.index("datapoints:")
    assert "  # polling: POST /jobs → 202 Location, 3 GET status polls, result GET; " \
           "from flows 2–6" in text
    data = yaml.safe_load(text)
    assert list(data) == ["partner", "description", "hosts", "datapoints"]
    assert [list(dp) for dp in data["datapoints"]][2] == [
        "name", "description", "pattern", "endpoints", "pagination"]
    assert set(out.payloads) == {"payloads/jobs.json", "payloads/items.json",
                                 "payloads/property.json"}
    source, problems = loader.parse_partner(text, tmp_path / "partner.yaml", strict=True)
    assert source is not None and problems == []


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    first = rendered(infer(everything(), "acme"), tmp_path)
    second = rendered(infer(everything(), "acme"), tmp_path)
    assert first == second


def test_yaml_that_does_not_validate_is_an_error(tmp_path: Path) -> None:
    result = infer([ex("GET", "/a", 200, {"a": 1})], "p")
    result.datapoints[0].data["endpoints"][0]["path"] = "no-slash"
    with pytest.raises(yamlout.OutputError, match="path must start with '/'"):
        rendered(result, tmp_path)


def view(method: str, path: str, query: str = "") -> RequestView:
    return RequestView(method, path, query, CIHeaders({}), b"", "https", "api.partner.example",
                       443)


def call(engine: Engine, method: str, path: str, query: str = "") -> MockResponse:
    outcome = engine.handle(view(method, path, query))
    assert isinstance(outcome, Mocked), outcome
    return outcome.response


def test_generated_files_drive_the_engine(tmp_path: Path, store: Any) -> None:
    folder = tmp_path / "acme"
    yamlout.write(rendered(infer(everything(), "acme"), tmp_path), folder)
    result = loader.load_paths([tmp_path])
    assert result.errors == []
    assert seed_payloads(result.partners, store) == ["acme/jobs", "acme/items",
                                                     "acme/property"]
    engine = Engine(result.partners, store)
    submit = call(engine, "POST", "/jobs")
    location = dict(submit.headers)["Location"]
    job = location.rsplit("/", 1)[-1]
    statuses = [json.loads(call(engine, "GET", f"{location}/status").body)
                for _ in range(3)]
    assert statuses == [{"jobId": job, "status": s} for s in ("PENDING", "PENDING", "COMPLETED")]
    assert json.loads(call(engine, "GET", f"{location}/result").body)["rows"] == [1, 2]
    page = json.loads(call(engine, "GET", "/items", "offset=2&limit=2").body)
    assert page == {"items": [{"n": 2}], "total": 3, "hasMore": False, "nextOffset": None,
                    "offset": 2, "limit": 2}
    lookup = call(engine, "GET", "/lookup")
    assert (lookup.body, dict(lookup.headers)["Content-Type"]) == (b"a,b\n", "text/csv")


# --- redaction ---------------------------------------------------------------------------------


SECRETS = ("sup3r-secret-password", "client-secret-7788", "tok.en.value-5566",
           "cookie-value-9911", "api-key-value-3344", "refresh-token-2233")


def unredacted() -> list[Exchange]:
    password, client_secret, token, cookie, api_key, refresh = SECRETS
    return [
        ex("POST", "/oauth/token", 200, {"access_token": token, "refresh_token": refresh,
                                          "token_type": "Bearer", "expires_in": 60},
           request=f"grant_type=password&password={password}&client_secret={client_secret}"
           .encode(), request_headers=[("Content-Type", "application/x-www-form-urlencoded")],
           headers=[("Set-Cookie", f"sid={cookie}; HttpOnly")]),
        ex("GET", f"/profile?api_key={api_key}", 200,
           {"user": "qa", "apiKey": api_key, "debug": f"authorized with {token}"},
           request_headers=[("Authorization", f"Bearer {token}"), ("Cookie", f"sid={cookie}")]),
        ex("GET", "/notes", 200, f"last login token {token}".encode(),
           headers=[("Content-Type", "text/plain"), ("X-Session", cookie)]),
    ]


def write_har(path: Path, exchanges: Sequence[Exchange]) -> Path:
    """A HAR as a browser would export it: plain JSON, secrets and all."""
    entries = [to_entry(e) for e in exchanges]
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"},
                                        "entries": entries}}), "utf-8")
    return path


def all_text(folder: Path) -> str:
    return "\n".join(p.read_text("utf-8") for p in sorted(folder.rglob("*")) if p.is_file())


def test_secrets_sent_and_received_reach_no_written_file(tmp_path: Path) -> None:
    har = write_har(tmp_path / "raw.har", unredacted())
    out = tmp_path / "partners"
    assert main(["record", "to-yaml", str(har), "--partner", "raw", "--out", str(out)]) == 0
    text = all_text(out)
    assert "REDACTED" in text
    for secret in SECRETS:
        assert secret not in text


# --- the CLI on files --------------------------------------------------------------------------


def test_browser_har_with_pages_cookies_base64_and_http2(tmp_path: Path, capsys) -> None:
    out = tmp_path / "partners"
    code = main(["record", "to-yaml", str(HAR_DATA / "browser.har"), "--partner", "shop",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr()
    report = capsys.readouterr().out
    assert "net::ERR_CONNECTION_RESET" in report and "binary body" in report
    data = yaml.safe_load((out / "shop" / "partner.yaml").read_text("utf-8"))
    assert data["hosts"] == ["api.shop.example"]
    assert [(d["name"], d["pattern"]) for d in data["datapoints"]] == [
        ("token", "oauth"), ("hotel", "fetch"), ("rooms", "paginated")]
    assert data["datapoints"][2]["endpoints"][0]["path"] == "/v2/hotels/{id}/rooms"
    rooms = json.loads((out / "shop" / "payloads" / "rooms.json").read_text("utf-8"))
    assert [r["roomId"] for r in rooms] == ["R1", "R2", "R3", "R4", "R5"]
    text = all_text(out)
    for secret in ("browser-client-secret-55", "browser-token-9f8e7d6c5b4a",
                   "browser-session-cookie-77", "browser-refresh-cookie-88"):
        assert secret not in text


def test_host_filter_on_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "partners"
    assert main(["record", "to-yaml", str(HAR_DATA / "browser.har"), "--partner", "cdn",
                 "--out", str(out), "--host", "cdn.shop.example"]) == 1  # only a binary flow
    assert not out.exists()


MALFORMED = [
    ("not_json.har", "not JSON (Expecting value: line 2 column 1 (char 35)), and no complete "
                     "HAR entries found"),
    ("no_entries.har", "not a HAR file (expected log.entries)"),
    ("entry_without_url.har", "log.entries.0: no request.method or request.url"),
    ("missing.har", "no such file"),
]


@pytest.mark.parametrize(("name", "reason"), MALFORMED)
def test_malformed_input_alone_is_a_clear_error_and_writes_nothing(
        name: str, reason: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "partners"
    code = main(["record", "to-yaml", str(HAR_DATA / name), "--partner", "x",
                 "--out", str(out)])
    assert code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"{HAR_DATA / name}: {reason}" in err
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(("name", "reason"), MALFORMED)
def test_malformed_input_beside_good_input_is_named_and_the_rest_converts(
        name: str, reason: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "partners"
    code = main(["record", "to-yaml", str(HAR_DATA / "browser.har"), str(HAR_DATA / name),
                 "--partner", "x", "--out", str(out)])
    assert code == 0
    report = " ".join(capsys.readouterr().out.split())
    assert f"skipped: {HAR_DATA / name}: {reason}" in report
    assert (out / "x" / "partner.yaml").exists()


def test_truncated_har_from_the_writer_is_recovered(tmp_path: Path) -> None:
    har = tmp_path / "cut.har"
    writer = HarWriter(har)
    for exchange in everything():
        writer.append(exchange)
    writer.close()
    text = har.read_text("utf-8")
    har.write_text(text[: text.rindex("\n]}}") - 40], "utf-8")  # the last entry is cut
    out = tmp_path / "partners"
    assert main(["record", "to-yaml", str(har), "--partner", "cut", "--out", str(out)]) == 0
    data = yaml.safe_load((out / "cut" / "partner.yaml").read_text("utf-8"))
    assert [d["name"] for d in data["datapoints"]] == ["token", "jobs", "items", "property"]


def test_mitmproxy_flow_file(tmp_path: Path) -> None:
    from mitmproxy import http, io
    from mitmproxy.test import tflow

    flow = tflow.tflow(resp=True)
    flow.request.url = "http://api.partner.example/hotels/7"
    flow.response = http.Response.make(200, b'{"hotel": 7}', {"Content-Type": "application/json"})
    path = tmp_path / "flows.mitm"
    with open(path, "wb") as handle:
        io.FlowWriter(handle).add(flow)
    out = tmp_path / "partners"
    assert main(["record", "to-yaml", str(path), "--partner", "mitm", "--out", str(out)]) == 0
    data = yaml.safe_load((out / "mitm" / "partner.yaml").read_text("utf-8"))
    assert data["datapoints"][0]["endpoints"][0]["path"] == "/hotels/{id}"
    assert json.loads((out / "mitm" / "payloads" / "hotel.json").read_text()) == {"hotel": 7}


def test_dry_run_writes_nothing_and_existing_files_need_force(tmp_path: Path, capsys) -> None:
    har = write_har(tmp_path / "a.har", everything())
    out = tmp_path / "partners"
    args = ["record", "to-yaml", str(har), "--partner", "acme", "--out", str(out)]
    assert main([*args, "--dry-run"]) == 0
    assert "partner: acme" in capsys.readouterr().out
    assert not out.exists()
    assert main(args) == 0
    assert main(args) == 1
    assert "use --force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0


def test_cli_output_is_byte_identical_across_runs(tmp_path: Path) -> None:
    har = write_har(tmp_path / "a.har", everything() + unredacted())
    runs = []
    for n in range(2):
        out = tmp_path / f"out{n}"
        assert main(["record", "to-yaml", str(har), "--partner", "acme", "--out", str(out)]) == 0
        runs.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*"))
                     if p.is_file()})
    assert runs[0] == runs[1]
    assert len(runs[0]) == 5  # partner.yaml and four payloads


def test_bad_partner_name(tmp_path: Path) -> None:
    assert main(["record", "to-yaml", str(HAR_DATA / "browser.har"), "--partner", "no way",
                 "--out", str(tmp_path)]) == 1
