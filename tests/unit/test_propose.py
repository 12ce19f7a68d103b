"""The drift check's patch proposal: the partner-file changes that would make the mock answer
as the real partner did, as a unified diff — proved by applying it (``git apply``) and
checking again: no drift left. Never applied by the check itself; secrets redacted."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from imnot_proxy.addon import ImnotProxy
from imnot_proxy.loader import load_paths
from imnot_proxy.recording.drift import volatile
from imnot_proxy.recording.patch import set_value
from imnot_proxy.recording.propose import propose
from imnot_proxy.recording.sandbox import verify_recording

from .fake_partners import ChangedJobs, Jobs, Offers, Recorder, Reshaped
from .test_replay import run_jobs
from .test_sandbox import SANDBOX, sender, written
from .test_verify import Through, partner_in_verify_mode

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git (git apply)")


def applied(patch: str, where: Path) -> None:
    (where / "drift.patch").write_text(patch)
    done = subprocess.run(["git", "apply", "drift.patch"], cwd=where, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr + patch


def test_a_reshaped_partner_gets_a_patch_that_removes_the_drift(tmp_path: Path) -> None:
    rec = Recorder(Jobs(polls=2))
    run_jobs(rec, jobs=2)
    rec.send("GET", "/jobs/not-a-job/status")
    sources = written(rec, tmp_path / "partners")
    before = (tmp_path / "partners" / "p" / "partner.yaml").read_text()
    done = verify_recording(rec.exchanges, sources, SANDBOX, sender(Reshaped(polls=2), []),
                            ignore=volatile())
    assert not done.report.ok
    proposal = propose(done.report, done.proposals, sources, base=tmp_path)
    assert set(proposal.changes) == {"partners/p/partner.yaml", "partners/p/payloads/jobs.json"}
    assert (tmp_path / "partners" / "p" / "partner.yaml").read_text() == before  # not applied
    patch = proposal.diff()
    assert "-          status: 202\n+          status: 201" in patch
    assert "+        status: 410" in patch and "+            progress: 100" in patch
    applied(patch, tmp_path)
    again = verify_recording(rec.exchanges, load_paths([tmp_path / "partners"]).partners,
                             SANDBOX, sender(Reshaped(polls=2), []), ignore=volatile())
    assert again.report.ok, again.report.view()


def test_a_route_the_mock_does_not_have_is_proposed_as_a_new_datapoint(tmp_path: Path) -> None:
    rec = Recorder(Offers())
    for tier in ("gold", "silver"):
        rec.send("GET", "/offers", headers={"X-Tier": tier})
    rec.send("POST", "/quotes", {"plan": "pro", "nights": 3})
    written(rec, tmp_path / "partners")
    file = tmp_path / "partners" / "p" / "partner.yaml"
    raw = yaml.safe_load(file.read_text())
    file.write_text(set_value(file.read_text(), ("datapoints",), [
        dp for dp in raw["datapoints"] if dp["name"] != "quotes"]))
    sources = load_paths([tmp_path / "partners"]).partners
    done = verify_recording(rec.exchanges, sources, SANDBOX, sender(Offers(), []),
                            ignore=volatile())
    assert not done.report.ok
    applied(propose(done.report, done.proposals, sources, base=tmp_path).diff(), tmp_path)
    again = verify_recording(rec.exchanges, load_paths([tmp_path / "partners"]).partners,
                             SANDBOX, sender(Offers(), []), ignore=volatile())
    assert again.report.ok, again.report.view()


def test_verify_mode_writes_the_patch_beside_its_report(tmp_path: Path, addon_context,
                                                        monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the patch names files from where the proxy runs
    partners = partner_in_verify_mode(tmp_path)
    addon = ImnotProxy()
    with addon_context(addon) as tctx:
        tctx.configure(addon, imnot_partners=[str(partners)],
                       imnot_db=str(tmp_path / "imnot.db"),
                       imnot_recordings=str(tmp_path / "rec"))
        run_jobs(Through(addon, ChangedJobs()), jobs=2)
        lines = tctx.command(addon.verify_report_command)
        (patch,) = (tmp_path / "rec").glob("drift-*.patch")
        assert any(str(patch) in line for line in lines)
        text = patch.read_text()
        assert "+            meta: '{{ payload_json(''$.meta'') }}'" in text, text
        assert "-            - polls: 1\n+            - polls: 3" in text, text
        applied(text, tmp_path)
        tctx.command(addon.reload_command)
        # payload files seed only a store without the payload: the patch says to upload it
        assert "upload the changed payloads" in text
        new = (partners / "p" / "payloads" / "jobs.json").read_bytes()
        addon.definitions.engine.store.put_global("p", "jobs", json.dumps(json.loads(new))
                                                  .encode())
        again = Through(addon, ChangedJobs())
        run_jobs(again, jobs=2)
        assert all(f.metadata["imnot"]["drift"] == [] for f in again.flows), [\
            (f.request.path, f.metadata["imnot"]["drift"]) for f in again.flows if f.metadata["imnot"]["drift"]]
        addon.done()


def test_secrets_in_the_real_answers_never_reach_the_patch(tmp_path: Path) -> None:
    class Leaky(Reshaped):
        def __call__(self, method, url, headers, body):
            status, out_headers, out = super().__call__(method, url, headers, body)
            if url.endswith("/status"):
                out = {**out, "api_token": "tok-5ecret-value-123"}
                out_headers = {**out_headers, "X-Session-Token": "hdr-5ecret-value-456"}
            return status, out_headers, out

    rec = Recorder(Jobs(polls=2))
    run_jobs(rec, jobs=1)
    sources = written(rec, tmp_path / "partners")
    done = verify_recording(rec.exchanges, sources, SANDBOX, sender(Leaky(polls=2), []),
                            ignore=volatile())
    patch = propose(done.report, done.proposals, sources, base=tmp_path).diff()
    assert "api_token" in patch
    assert "5ecret" not in patch
    assert json.dumps(done.report.view()).count("5ecret") == 0


def test_the_evidence_is_redacted_with_the_names_the_proxy_adds(tmp_path: Path) -> None:
    from imnot_proxy.recording.compare import Difference
    from imnot_proxy.recording.evidence import Proposals
    from imnot_proxy.recording.exchange import Exchange
    from imnot_proxy.recording.redact import Redactor

    kept = Proposals(Redactor.default(("X-Branch-Code",), ("pin",)))
    kept.add("p/acct GET /acct", Exchange(0.0, "GET", "https://api.partner.example/acct", (),
                                          b"", 200, (("X-Branch-Code", "BR-88123"),),
                                          b'{"pin": "4921-7730", "name": "Ada"}'),
             [Difference("body", "$.pin missing")])
    (evidence,) = kept.evidence["p/acct GET /acct"].values()
    assert b"4921-7730" not in evidence.exchange.response_body
    assert "BR-88123" not in str(evidence.exchange.response_headers)
    assert {"4921-7730", "BR-88123"} <= kept.secrets


def test_evidence_is_redacted_once_when_read_and_the_latest_answer_wins() -> None:
    from imnot_proxy.recording.compare import Difference, Observed
    from imnot_proxy.recording.evidence import Proposals
    from imnot_proxy.recording.exchange import Exchange
    from imnot_proxy.recording.redact import Redactor

    made: list[int] = []

    def exchange(n: int):
        def make() -> Exchange:
            made.append(n)
            return Exchange(float(n), "GET", "https://api.partner.example/acct", (), b"", 200,
                            (), b'{"status": "DONE", "pin": "4921-77%02d"}' % n)
        return make

    kept = Proposals(Redactor.default((), ("pin",)))
    for n in range(100):  # a live proxy: one differing flow after another
        kept.add("p/acct GET /acct", exchange(n), [Difference("body", "$.pin")],
                 answer=Observed(200, (), b'{"status": "DONE", "pin": "4921-77%02d"}' % n))
    assert made == []  # nothing made or redacted on the proxy's hot path
    (evidence,) = kept.evidence["p/acct GET /acct"].values()
    assert made == [99] and evidence.exchange.started == 99.0
    assert b"4921-7799" not in evidence.exchange.response_body and "4921-7799" in kept.secrets
    kept.evidence  # noqa: B018 - read again: nothing new to redact
    assert made == [99]
