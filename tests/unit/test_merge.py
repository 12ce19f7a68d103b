"""A second recording merged into the partner file of the first: new endpoints added, the
file's own kept (comments included), conflicts shown and written aside. Each recording must
still replay equal against the merged file."""

from __future__ import annotations

from pathlib import Path

import yaml

from imnot_proxy.cli import main
from imnot_proxy.recording.har import HarWriter

from .fake_partners import Catalog, Jobs, Recorder
from .test_replay import run_jobs


def partner(jobs: Jobs, catalog: Catalog):
    def answer(method: str, url: str, headers: dict[str, str], body: bytes):
        return (jobs if "/jobs" in url else catalog)(method, url, headers, body)
    return answer


def har(path: Path, rec: Recorder) -> str:
    writer = HarWriter(path)
    for exchange in rec.exchanges:
        writer.append(exchange)
    writer.close()
    return str(path)


def to_yaml(*args: str) -> int:
    return main(["record", "to-yaml", *args, "--partner", "acme"])


def replay_check(recording: str, out: Path) -> int:
    return main(["record", "replay-check", recording, "--partner", "acme",
                 "--partners", str(out)])


def test_two_recordings_make_one_partner_that_replays_both(tmp_path: Path, capsys) -> None:
    first = Recorder(partner(Jobs(polls=2), Catalog()))
    run_jobs(first, jobs=1)
    for page in (1, 2, 3):
        first.send("GET", f"/catalog?page={page}&size=2")
    second = Recorder(partner(Jobs(polls=2), Catalog()))
    run_jobs(second, jobs=1)
    second.send("GET", "/properties/P-100")
    a, b = har(tmp_path / "a.har", first), har(tmp_path / "b.har", second)
    out = tmp_path / "partners"
    assert to_yaml(a, "--out", str(out)) == 0
    file = out / "acme" / "partner.yaml"
    file.write_text("# kept: a comment written by hand\n" + file.read_text())
    capsys.readouterr()
    assert to_yaml(b, "--out", str(out)) == 1
    assert "or --merge to add to it" in " ".join(capsys.readouterr().err.split())
    assert to_yaml(b, "--out", str(out), "--merge") == 0
    report = " ".join(capsys.readouterr().out.split())
    assert "jobs │ unchanged" in report and "P-100 │ added" in report
    assert "replay check: 6/6 steps equal" in report
    merged = file.read_text()
    assert merged.startswith("# kept: a comment written by hand\n")
    names = [dp["name"] for dp in yaml.safe_load(merged)["datapoints"]]
    assert names == ["jobs", "catalog", "P-100"]
    assert (out / "acme" / "payloads" / "P-100.json").exists()
    assert replay_check(a, out) == 0
    assert replay_check(b, out) == 0


def test_a_conflict_keeps_the_files_version_and_writes_the_recorded_one_aside(
        tmp_path: Path, capsys) -> None:
    first = Recorder(Jobs(polls=2))
    run_jobs(first, jobs=1)
    changed = Recorder(Jobs(polls=4))
    run_jobs(changed, jobs=1)
    out = tmp_path / "partners"
    assert to_yaml(har(tmp_path / "a.har", first), "--out", str(out)) == 0
    before = (out / "acme" / "partner.yaml").read_text()
    capsys.readouterr()
    assert to_yaml(har(tmp_path / "c.har", changed), "--out", str(out), "--merge") == 0
    report = " ".join(capsys.readouterr().out.split())
    assert "jobs │ conflict" in report
    assert "pending.0.polls: 1 → 3" in report.replace("│ ", "")
    assert (out / "acme" / "partner.yaml").read_text() == before
    aside = yaml.safe_load((out / "acme" / "conflicts" / "jobs.yaml").read_text())
    assert aside[0]["endpoints"][1]["response"]["pending"][0]["polls"] == 3
    assert (out / "acme" / "conflicts" / "jobs.json").exists()


def test_new_hosts_are_added_to_the_files_list(tmp_path: Path, capsys) -> None:
    first = Recorder(Catalog())
    first.send("GET", "/properties/P-100")
    other = Recorder(Catalog())
    other.send("GET", "https://eu.partner.example/properties/P-100")
    other.send("GET", "https://eu.partner.example/catalog?page=1&size=2")
    out = tmp_path / "partners"
    assert to_yaml(har(tmp_path / "a.har", first), "--out", str(out)) == 0
    assert to_yaml(har(tmp_path / "b.har", other), "--out", str(out), "--merge") == 0
    data = yaml.safe_load((out / "acme" / "partner.yaml").read_text())
    assert data["hosts"] == ["api.partner.example", "eu.partner.example"]
    assert [dp["name"] for dp in data["datapoints"]] == ["P-100", "catalog"]
