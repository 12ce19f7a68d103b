"""Recordings from other tools and damaged files: what converts, what is skipped and why, and
never a traceback or a half-written partner when nothing is usable."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imnot_proxy.cli import main
from imnot_proxy.recording.sources import load

TOOLS = Path(__file__).resolve().parents[1] / "data" / "har" / "tools"
JOB = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"


def to_yaml(path: Path, out: Path) -> int:
    return main(["record", "to-yaml", str(path), "--partner", "t", "--out", str(out)])


def test_chrome_export_with_http2_pseudo_headers_base64_and_non_http_entries() -> None:
    loaded = load(TOOLS / "chrome.har")
    assert [s.split(": ", 2)[1:] for s in loaded.skipped] == [
        ["log.entries.5", "not an HTTP request (data URL)"],
        ["log.entries.6", "not an HTTP request (wss URL)"],
        ["log.entries.8", "not an HTTP request (chrome-extension URL)"]]
    submit, *_, logo, blocked = loaded.exchanges
    assert not any(k.startswith(":") for k, _ in submit.request_headers)
    assert json.loads(submit.request_body) == {"report": "daily"}
    assert logo.response_body.startswith(b"\x89PNG")
    assert blocked.status is None and blocked.error == "net::ERR_BLOCKED_BY_CLIENT"


def test_chrome_export_converts_and_replays(tmp_path: Path, capsys) -> None:
    assert to_yaml(TOOLS / "chrome.har", tmp_path / "out") == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "skipped: " + str(TOOLS / "chrome.har") + ": log.entries.6: not an HTTP request" in out
    # the polling flow replays; the binary logo cannot be a static answer, and says so
    assert "replay check: 4/5 steps equal" in out
    assert "GET api.staylink.example/v1/logo.png │ skipped │ binary body" in out


def test_a_pretty_printed_har_cut_short_keeps_its_complete_entries() -> None:
    loaded = load(TOOLS / "chrome-truncated.har")
    assert len(loaded.exchanges) == 3 and not loaded.skipped
    assert loaded.notes == [f"{TOOLS / 'chrome-truncated.har'}: the file is cut short; read the "
                            "3 complete entries before the cut"]


def test_a_har_cut_short_converts_its_complete_entries_and_replays(tmp_path: Path,
                                                                    capsys) -> None:
    assert to_yaml(TOOLS / "chrome-truncated.har", tmp_path / "out") == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "the file is cut short; read the 3 complete entries before the cut" in out
    assert "replay check: 3/3 steps equal" in out


def test_firefox_export_notes_bodies_it_did_not_save(tmp_path: Path, capsys) -> None:
    loaded = load(TOOLS / "firefox.har")
    assert not loaded.skipped and len(loaded.exchanges) == 4
    assert [n.split(": ", 2)[2] for n in loaded.notes] == [
        "POST /v3/reservations/RES-20261130-0042/notes: the request body was not saved (no "
        "postData); replayed empty",
        "GET /v3/hotel/photo.jpg: the response body was not saved (2048 bytes)"]
    first = loaded.exchanges[0]
    assert datetime.fromtimestamp(first.started, UTC).isoformat() \
        == "2026-11-30T09:12:01.120000+00:00"
    assert to_yaml(TOOLS / "firefox.har", tmp_path / "out") == 0
    assert "replay check: 4/4 steps equal" in capsys.readouterr().out


def test_charles_export_with_base64_text_bodies(tmp_path: Path, capsys) -> None:
    loaded = load(TOOLS / "charles.har")
    (skipped,) = loaded.skipped
    assert "log.entries.3: bad base64 body" in skipped
    assert json.loads(loaded.exchanges[2].request_body) == {"DBL": 3, "SGL": 1}
    assert json.loads(loaded.exchanges[0].response_body)["rates"][0]["room"] == "DBL"
    assert to_yaml(TOOLS / "charles.har", tmp_path / "out") == 0
    assert "replay check: 3/3 steps equal" in capsys.readouterr().out


def test_insomnia_har_with_unsent_requests() -> None:
    loaded = load(TOOLS / "insomnia.har")
    assert [s.split(": ", 2)[1:] for s in loaded.skipped] == [
        ["log.entries.2", "no request.method or request.url"]]
    charge, unsent = loaded.exchanges
    assert charge.status == 201 and unsent.status is None


def test_insomnia_har_converts_what_was_answered_and_replays(tmp_path: Path, capsys) -> None:
    assert to_yaml(TOOLS / "insomnia.har", tmp_path / "out") == 0
    captured = capsys.readouterr()
    out = " ".join(captured.out.split())
    assert "log.entries.2: no request.method or request.url" in " ".join(
        (captured.out + captured.err).split())
    assert "replay check: 1/1 steps equal" in out
    assert "Traceback" not in captured.out + captured.err


@pytest.mark.parametrize(("name", "reason"), [
    ("insomnia-export.json", "not a HAR file (expected log.entries); this is an Insomnia "
                             "export: it holds requests but no responses (export HAR instead)"),
    ("garbage.bin", "not a HAR (JSON) or mitmproxy flow file"),
])
def test_files_with_nothing_usable_write_nothing(name: str, reason: str, tmp_path: Path,
                                                  capsys) -> None:
    out = tmp_path / "out"
    assert to_yaml(TOOLS / name, out) == 1
    captured = capsys.readouterr()
    assert f"{TOOLS / name}: {reason}" in " ".join(captured.err.split())
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_har_with_a_byte_order_mark(tmp_path: Path, encoding: str) -> None:
    har = tmp_path / "bom.har"
    har.write_text((TOOLS / "charles.har").read_text("utf-8"), encoding=encoding)
    assert len(load(har).exchanges) == 3


def test_a_flow_file_cut_short_keeps_its_flows_and_names_other_kinds(tmp_path: Path) -> None:
    from mitmproxy import io
    from mitmproxy.test import tflow

    path = tmp_path / "flows.mitm"
    with open(path, "wb") as handle:
        writer = io.FlowWriter(handle)
        writer.add(tflow.tflow(resp=True))
        writer.add(tflow.ttcpflow())
        writer.add(tflow.tflow(resp=True))
        size = handle.tell()
        writer.add(tflow.tflow(resp=True))
    data = path.read_bytes()
    path.write_bytes(data[:size + (len(data) - size) // 2])
    loaded = load(path)
    assert len(loaded.exchanges) == 2
    assert loaded.skipped == [f"{path}: flow 2: a tcp flow, not HTTP"]
    (note,) = loaded.notes
    assert "cut short or damaged after flow 3" in note
