"""Verify mode in the proxy: each partner request goes upstream, the mock's answer is worked
out on scratch state beside it, and the drift report shows where they differ — here against a
fake partner whose answers change shape between two runs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from mitmproxy import http

from imnot_proxy.addon import ImnotProxy
from imnot_proxy.recording import yamlout

from .fake_partners import ChangedJobs, Jobs, Partner, Recorder, converted
from .test_addon import make_flow
from .test_replay import run_jobs

BASE = "http://api.partner.example"


class Through:
    """A client whose requests go through the addon; the upstream is a fake partner."""

    def __init__(self, addon: ImnotProxy, partner: Partner):
        self.addon, self.partner = addon, partner
        self.flows: list[http.HTTPFlow] = []

    def send(self, method: str, path: str, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else b""
        flow = make_flow(method, BASE + path, data, headers or {})
        self.addon.request(flow)
        assert flow.response is None, "verify mode must forward"
        status, out_headers, out = self.partner(method, BASE + path, dict(headers or {}), data)
        raw = out if isinstance(out, bytes) else json.dumps(out).encode()
        kind = {} if isinstance(out, bytes) else {"Content-Type": "application/json"}
        flow.response = http.Response.make(status, raw, {**kind, **out_headers})
        self.addon.response(flow)
        self.flows.append(flow)
        return _Answer(flow.response)


class _Answer:
    def __init__(self, response: http.Response):
        self.status, self.headers = response.status_code, dict(response.headers)
        self.headers["Location"] = response.headers.get("location", "")
        self._body = response.content

    def json(self):
        return json.loads(self._body)


def partner_in_verify_mode(tmp_path: Path) -> Path:
    rec = Recorder(Jobs(polls=2), base=BASE)
    run_jobs(rec, jobs=1)
    _, rendered, fidelity = converted(rec.exchanges)
    assert fidelity.ok
    folder = tmp_path / "partners" / "p"
    yamlout.write(yamlout.Rendered(rendered.partner_yaml.replace(
        "partner: p\n", "partner: p\nmode: verify\n"), rendered.payloads), folder)
    return tmp_path / "partners"


def test_verify_mode_reports_drift_and_never_changes_the_mock(tmp_path: Path,
                                                             addon_context) -> None:
    partners = partner_in_verify_mode(tmp_path)
    addon = ImnotProxy()
    with addon_context(addon) as tctx:
        tctx.configure(addon, imnot_partners=[str(partners)],
                       imnot_db=str(tmp_path / "imnot.db"),
                       imnot_recordings=str(tmp_path / "rec"))
        same = Through(addon, Jobs(polls=2))
        run_jobs(same, jobs=2)
        assert all(f.metadata["imnot"]["drift"] == [] for f in same.flows), \
            [f.metadata["imnot"]["drift"] for f in same.flows]
        assert addon.verify.report.ok
        assert same.flows[0].comment.endswith("· as the mock")

        changed = Through(addon, ChangedJobs())
        run_jobs(changed, jobs=1)
        view = {e["endpoint"]: e for e in addon.verify.report.view()["endpoints"]}
        result = view["p/jobs GET /jobs/{id}/result"]
        assert result["differing"] == 1
        assert "body: $.rows: array ≠ object" not in result["examples"]  # real first
        assert "body: $.rows: object ≠ array" in result["examples"]
        assert "body: $.meta not expected" not in result["examples"]
        assert "body: $.meta missing" in result["examples"]
        status = view["p/jobs GET /jobs/{id}/status"]
        assert status["polls_until_done"] == {"real": [1, 1, 3], "mock": [1, 1, 1]}
        assert status["aspects"]["polling"] == 1
        early = [f for f in changed.flows if f.metadata["imnot"]["drift"]]
        assert early and early[0].comment.startswith("imnot verify p GET /jobs/")

        lines = tctx.command(addon.verify_report_command)
        assert any(line.startswith("p/jobs GET /jobs/{id}/result: 1/") for line in lines)
        (saved,) = (tmp_path / "rec").glob("drift-*.json")
        assert json.loads(saved.read_text())["ok"] is False
        addon.done()
    db = sqlite3.connect(tmp_path / "imnot.db")
    assert db.execute("SELECT count(*) FROM issued_ids").fetchone() == (0,)
    db.close()
