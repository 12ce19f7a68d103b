"""The replay check as the oracle of record mode: a recording of a small stateful partner,
turned into a partner file, replayed against that file's mock — every step must be equal.

Each test fails without the inference it is about: the table shows the step that differs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imnot_proxy.cli import main
from imnot_proxy.loader import load_paths
from imnot_proxy.recording.har import HarWriter
from imnot_proxy.recording.replay import replay

from .fake_partners import (
    Catalog,
    Channel,
    Holds,
    Jobs,
    Offers,
    Recorder,
    avail_rq,
    converted,
    read_rq,
    table,
)


def run_jobs(rec: Recorder, *, early: bool = True, jobs: int = 2) -> list[str]:
    """What an integration does: submit, maybe ask for the result too early, poll, fetch."""
    ids = []
    for n in range(jobs):
        report = ("daily", "weekly", "monthly")[n % 3]
        location = rec.send("POST", "/jobs", {"report": report, "n": n}).headers["Location"]
        ids.append(location.rsplit("/", 1)[1])
        if early:
            assert rec.send("GET", f"{location}/result").status == 409
        while rec.send("GET", f"{location}/status").json()["status"] != "DONE":
            pass
        assert rec.send("GET", f"{location}/result").status == 200
    return ids


def test_a_result_asked_for_too_early_is_not_ready_and_the_roles_stay_right() -> None:
    rec = Recorder(Jobs(polls=3))
    run_jobs(rec)
    _, _, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)
    early = fidelity.steps[1]
    assert (early.request.endswith("/result"), early.recorded, early.replayed) \
        == (True, 409, 409)
    # the status series and the result keep their place: PENDING twice, DONE, then data
    assert [s.replayed for s in fidelity.steps[:6]] == [202, 409, 200, 200, 200, 200]


def test_steps_in_the_order_first_called_do_not_decide_the_roles() -> None:
    rec = Recorder(Jobs(polls=2))
    run_jobs(rec, jobs=1)
    result, _, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)
    steps = result.datapoints[0].data["endpoints"]
    assert [s["path"] for s in steps] == ["/jobs", "/jobs/{id}/status", "/jobs/{id}/result"]


def test_unknown_ids_answer_as_the_partner_did() -> None:
    rec = Recorder(Jobs(polls=2))
    run_jobs(rec, early=False, jobs=1)
    assert rec.send("GET", "/jobs/not-a-job/status").status == 404
    assert rec.send("GET", "/jobs/3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f/result").status == 404
    _, _, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)
    assert [s.replayed for s in fidelity.steps[-2:]] == [404, 404]


def test_the_submits_recorded_body_is_answered_with_the_new_id() -> None:
    rec = Recorder(Jobs(polls=1, submit_body=True))
    run_jobs(rec, early=False, jobs=1)
    _, rendered, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)
    assert fidelity.steps[0].replayed == 202 and fidelity.steps[0].equal


def test_results_carry_their_own_id_and_the_values_their_submit_sent() -> None:
    rec = Recorder(Jobs(polls=2))
    run_jobs(rec, early=False, jobs=3)  # reports daily, weekly, monthly
    _, _, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)
    results = [s for s in fidelity.steps if s.request.endswith("/result")]
    assert len(results) == 3 and all(s.equal for s in results)


def test_list_envelopes_keep_their_null_and_constant_keys() -> None:
    rec = Recorder(Catalog())
    for page in (1, 2, 3):
        rec.send("GET", f"/catalog?page={page}&size=2")
    _, _, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)


def test_a_step_that_differs_is_named_and_fails_the_check(tmp_path: Path, capsys) -> None:
    rec = Recorder(Jobs(polls=2))
    run_jobs(rec, jobs=1)
    har = tmp_path / "jobs.har"
    writer = HarWriter(har)
    for exchange in rec.exchanges:
        writer.append(exchange)
    writer.close()
    out = tmp_path / "partners"
    assert main(["record", "to-yaml", str(har), "--partner", "jobs", "--out", str(out)]) == 0
    assert "replay check: 5/5 steps equal" in capsys.readouterr().out
    assert main(["record", "replay-check", str(har), "--partner", "jobs",
                 "--partners", str(out)]) == 0
    capsys.readouterr()
    partner = out / "jobs" / "partner.yaml"
    partner.write_text(partner.read_text().replace("status: 409", "status: 425"))
    assert main(["record", "replay-check", str(har), "--partner", "jobs", "--partners",
                 str(out), "--json"]) == 1
    view = json.loads(capsys.readouterr().out)
    assert view["score"] == "4/5 steps equal"
    (step,) = [s for s in view["steps"] if not s["equal"]]
    assert (step["n"], step["differences"]) == (2, ["status: 409 ≠ 425"])


def test_replay_check_without_the_partner_fails_clearly(tmp_path: Path, capsys) -> None:
    rec = Recorder(Catalog())
    rec.send("GET", "/catalog?page=1&size=2")
    har = tmp_path / "c.har"
    writer = HarWriter(har)
    writer.append(rec.exchanges[0])
    writer.close()
    assert main(["record", "replay-check", str(har), "--partner", "nope",
                 "--partners", str(tmp_path)]) == 1
    assert "no loadable partner 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("hosts", [(), ("api.partner.example",)])
def test_flows_to_other_hosts_and_failed_ones_are_skipped_with_the_reason(
        tmp_path: Path, hosts: tuple[str, ...]) -> None:
    rec = Recorder(Catalog())
    rec.send("GET", "/properties/P-100")
    rec.send("GET", "https://cdn.other.example/logo.png")
    _, rendered, _ = converted(rec.exchanges[:1], folder=tmp_path / "p")
    folder = tmp_path / "p"
    from imnot_proxy.recording.yamlout import write
    write(rendered, folder)
    fidelity = replay(rec.exchanges, load_paths([folder / "partner.yaml"]).partners,
                      hosts=hosts)
    assert fidelity.ok
    assert fidelity.steps[1].skipped in ("not a host of this partner", "host not selected")


def test_answers_that_depend_on_the_request_become_alternatives() -> None:
    rec = Recorder(Offers())
    for prop in ("P-100", "P-200", "P-404", "P-100"):
        rec.send("GET", f"/properties/{prop}")
    for tier in ("gold", "silver", "gold"):
        rec.send("GET", "/offers", headers={"X-Tier": tier})
    for plan in ("basic", "pro", "basic"):
        rec.send("POST", "/quotes", {"plan": plan, "nights": 3})
    result, _, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)
    assert {row.outcome.split()[0] for row in result.inferred} == {"fetch", "static"}


def test_a_soap_partner_becomes_an_xml_mock_by_operation_with_echoes() -> None:
    rec = Recorder(lambda *a: (404, {}, b""))
    rec.partner = Channel(lambda: rec.now)
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    for n, token in enumerate(("echo-41", "echo-42", "echo-43")):
        rec.send("POST", "/ota", avail_rq(token), headers={**headers, "SOAPAction": "avail"})
        if n == 1:
            rec.send("POST", "/ota", read_rq("read-7"), headers={**headers, "SOAPAction": "read"})
    result, rendered, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)
    assert "s3cret-pw" not in rendered.partner_yaml
    (dp,) = result.datapoints
    assert dp.pattern == "static"


def test_answers_that_echo_the_request_and_the_time_become_templates() -> None:
    rec = Recorder(lambda *a: (404, {}, b""))
    rec.partner = Holds(lambda: rec.now)
    for hotel, guest, nights, channel in (("7001", "G-1001", 3, "web"),
                                          ("7001", "G-2002", 5, "web"),
                                          ("9002", "G-3003", 5, "phone")):
        rec.send("POST", f"/hotels/{hotel}/holds?channel={channel}",
                 {"guest": {"ref": guest}, "nights": nights})
    result, _, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)
    assert not result.datapoints[0].gaps


def test_templates_never_echo_a_secret() -> None:
    def echo(method: str, url: str, headers: dict, body: bytes):
        sent = json.loads(body)
        return 200, {}, {"ref": sent["ref"], "password": sent["password"],
                         "apiToken": headers.get("X-Api-Token")}

    rec = Recorder(echo)
    for n in range(2):
        rec.send("PUT", "/accounts/me", {"ref": f"R-10{n}", "password": f"pw-secret-{n}"},
                 headers={"X-Api-Token": f"tok-secret-{n}"})
    _, rendered, fidelity = converted(rec.exchanges)
    text = rendered.partner_yaml + "".join(rendered.payloads.values())
    assert "pw-secret" not in text and "tok-secret" not in text
    assert "$.password" not in text and "X-Api-Token" not in text
    assert "request.json('$.ref')" in text.replace("''", "'")
    assert fidelity.ok, table(fidelity)
