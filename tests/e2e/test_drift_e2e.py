"""The drift check end to end, against a fake partner on 127.0.0.1 whose answers change shape
between two runs: offline (``imnot-proxy verify --against``) and live (a real mitmdump with
the partner in ``mode: verify``, the report written when the proxy stops)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from unit.fake_partners import ChangedJobs, Jobs, Partner, Recorder, Reshaped
from unit.test_replay import run_jobs

from imnot_proxy.cli import main as cli_main
from imnot_proxy.recording.har import HarWriter

from .conftest import Imnot, StartImnot
from .harness import HandlerResult, UpstreamServer, wait_until


class Switchable:
    """The real partner: answers as ``current``, which a test swaps between runs."""

    def __init__(self, current: Partner):
        self.current = current
        self.base = ""

    def __call__(self, method: str, target: str, headers: Message, body: bytes
                 ) -> HandlerResult:
        return self.current(method, self.base + target, dict(headers.items()), body)


class ThroughProxy:
    """The client of ``run_jobs``, sending through a proxy."""

    def __init__(self, proxy: Imnot, base: str):
        self.proxy, self.base = proxy, base

    def send(self, method: str, path: str, body: Any = None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json"} if data else {}
        return self.proxy.request(method, self.base + path, data, headers={**sent,
                                                                         **(headers or {})})


@pytest.fixture(scope="module")
def partner(tmp_path_factory: pytest.TempPathFactory):
    """A recording of the fake partner, its partner file, and the partner still running."""
    folder = tmp_path_factory.mktemp("drift")
    fake = Switchable(Jobs(polls=2))
    with UpstreamServer(fake) as server:
        base = f"http://localhost:{server.port}"
        fake.base = base
        rec = Recorder(fake.current, base=base)
        run_jobs(rec, jobs=2)
        har = folder / "jobs.har"
        writer = HarWriter(har)
        for exchange in rec.exchanges:
            writer.append(exchange)
        writer.close()
        out = folder / "partners"
        assert cli_main(["record", "to-yaml", str(har), "--partner", "jobs", "--out",
                         str(out)]) == 0
        yield fake, base, har, out, folder


def verify(har: Path, base: str, out: Path, capsys) -> tuple[int, dict]:
    capsys.readouterr()
    code = cli_main(["verify", str(har), "--against", base, "--partner", "jobs",
                     "--partners", str(out), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_offline_against_the_partner_then_after_it_changed(partner, capsys) -> None:
    fake, base, har, out, _ = partner
    fake.current = Jobs(polls=2)
    code, report = verify(har, base, out, capsys)
    assert (code, report["ok"], report["sent"]) == (0, True, 10)
    fake.current = ChangedJobs()
    code, report = verify(har, base, out, capsys)
    assert code == 1
    result = next(e for e in report["endpoints"] if e["endpoint"].endswith("/result"))
    assert result["differing"] >= 1


def run_live(start_imnot: StartImnot, partner, current: Partner, name: str) -> dict:
    fake, base, _, out, folder = partner
    fake.current = current
    verifying = folder / name / "partners"
    (verifying / "jobs").mkdir(parents=True)
    for file in (out / "jobs").rglob("*"):
        if file.is_file():
            target = verifying / "jobs" / file.relative_to(out / "jobs")
            target.parent.mkdir(parents=True, exist_ok=True)
            text = file.read_text()
            target.write_text(text.replace("partner: jobs\n", "partner: jobs\nmode: verify\n"))
    recordings, db = folder / name / "rec", folder / name / "imnot.db"
    proxy = start_imnot(verifying, name=name, imnot_recordings=str(recordings),
                        imnot_db=str(db))
    run_jobs(ThroughProxy(proxy, base), jobs=2)
    assert proxy.stop() == 0
    (report,) = wait_until(lambda: list(recordings.glob("drift-*.json")), timeout=10,
                           message="no drift report written")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM issued_ids").fetchone() == (0,)
    view = json.loads(report.read_text())
    # the patch proposal is written beside the report when there is drift
    assert report.with_suffix(".patch").exists() == (not view["ok"])
    return view


def test_live_verify_mode_in_two_runs(partner, start_imnot: StartImnot) -> None:
    same = run_live(start_imnot, partner, Jobs(polls=2), "same")
    assert same["ok"], same
    changed = run_live(start_imnot, partner, ChangedJobs(), "changed")
    assert not changed["ok"]
    view = {e["endpoint"]: e for e in changed["endpoints"]}
    result = view["jobs/jobs GET /jobs/{id}/result"]
    assert "body: $.rows: object ≠ array" in result["examples"]
    status = view["jobs/jobs GET /jobs/{id}/status"]
    assert status["polls_until_done"] == {"real": [3, 3], "mock": [1, 1]}


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git (git apply)")
def test_offline_proposal_applied_removes_the_drift(partner, capsys, tmp_path: Path,
                                                    monkeypatch) -> None:
    fake, base, har, out, _ = partner
    fake.current = Reshaped(polls=2)
    shutil.copytree(out, tmp_path / "partners")
    monkeypatch.chdir(tmp_path)
    args = ["verify", str(har), "--against", base, "--partner", "jobs", "--partners",
            "partners"]
    capsys.readouterr()
    assert cli_main([*args, "--propose", "drift.patch"]) == 1
    assert "patch proposal written to drift.patch" in capsys.readouterr().out
    assert (tmp_path / "partners").exists() and (tmp_path / "drift.patch").exists()
    assert (tmp_path / "partners" / "jobs" / "partner.yaml").read_text() \
        == (out / "jobs" / "partner.yaml").read_text()  # proposed, not applied
    subprocess.run(["git", "apply", "drift.patch"], cwd=tmp_path, check=True)
    assert cli_main(args) == 0
