"""Time stamps, ids in lists and XML polling, proved by the replay check: a recording of a
small stateful partner, turned into a partner file, replayed against its mock (whose clock
runs days after the recording's) — every step must be equal.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from imnot_proxy.recording.clocked import SHIFT, Clock
from imnot_proxy.recording.compare import Observed
from imnot_proxy.recording.infer.stamps import constant_places, fresh, parse
from imnot_proxy.recording.replay import replay_rendered
from imnot_proxy.recording.yamlout import Rendered

from .fake_partners import (
    STAMP_FORMATS,
    ListedJobs,
    Recorder,
    SoapJobs,
    TimedJobs,
    converted,
    submit_rq,
    table,
)
from .test_replay import run_jobs

DAY = 86400.0


def timed(fmt: str, *, jobs: int = 2, days: bool = False) -> Recorder:
    rec = Recorder(TimedJobs(polls=3))
    rec.partner.clock = lambda: rec.now  # type: ignore[attr-defined]
    rec.partner.fmt = fmt  # type: ignore[attr-defined]
    if days:  # a job a day: a date that tracks the recording changes from job to job
        for _ in range(jobs):
            run_jobs(rec, jobs=1)
            rec.now += DAY
    else:
        run_jobs(rec, jobs=jobs)
    return rec


@pytest.mark.parametrize("fmt", sorted(STAMP_FORMATS))
def test_status_submit_and_error_answers_write_the_time_they_are_given(fmt: str) -> None:
    rec = timed(fmt, days=fmt == "date")
    result, rendered, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)
    assert not any("time" in g for g in result.datapoints[0].gaps)
    assert "template: true" in rendered.partner_yaml


def test_without_templates_a_recorded_time_is_a_difference() -> None:
    rec = timed("iso_ms_z")
    _, rendered, _ = converted(rec.exchanges)
    literal = yaml.safe_load(rendered.partner_yaml)
    polls = literal["datapoints"][0]["endpoints"][1]["response"]
    polls.pop("template")
    for pending in polls.get("pending", []):
        pending.pop("template", None)
        pending["body"]["updatedAt"] = "2023-11-14T22:13:20.000Z"
    polls["body"]["updatedAt"] = "2023-11-14T22:13:20.000Z"
    text = yaml.safe_dump(literal, sort_keys=False)
    fidelity = replay_rendered(Rendered(text, rendered.payloads), Path("/nonexistent/p"),
                               rec.exchanges)
    assert fidelity is not None and not fidelity.ok
    differing = {str(d) for s in fidelity.differing for d in s.differences}
    assert any("$.updatedAt" in d and "recorded time" in d for d in differing), differing


def test_a_time_stamp_constant_across_the_recording_stays_literal() -> None:
    rec = timed("iso_s_z", jobs=3)
    _, rendered, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)
    since = rec.partner.since  # type: ignore[attr-defined]
    assert STAMP_FORMATS["iso_s_z"](since) in rendered.partner_yaml


def test_the_check_demands_the_constant_stamp_as_recorded() -> None:
    rec = timed("iso_s_z", jobs=2)
    clock = Clock(rec.exchanges)
    poll = next(i for i, ex in enumerate(rec.exchanges) if ex.url.endswith("/status"))
    ex = rec.exchanges[poll]
    recorded = Observed(ex.status, ex.response_headers, ex.response_body)
    body = ex.response_json()
    now = ex.started + SHIFT
    moved = dict(body, since=STAMP_FORMATS["iso_s_z"](now),
                 updatedAt=STAMP_FORMATS["iso_s_z"](now))
    differences = clock.untracked(poll, recorded, Observed(200, (), json.dumps(moved).encode()),
                                  ex.started, now)
    assert [d.split(" ")[0] for d in differences] == ["$.since"]


def test_stamps_are_recognised_in_their_formats() -> None:
    t = 1_700_000_000.25
    for fmt, write in STAMP_FORMATS.items():
        assert fresh(write(t), t) is not None, fmt
        assert fresh(write(t), t + 3600) is None or fmt == "date", fmt
    assert parse(True) is None and parse(12) is None and parse("2023-13-45") is None
    assert parse(1_700_000_000).expression == "{{ now('epoch') }}"
    assert parse("1700000000").expression == "{{ now('epoch') | string }}"
    assert constant_places([({"a": "2023-11-14T22:13:20Z"}, t), ({"a": "2023-11-14T22:13:20Z"},
                                                                   t + 2)]) == {("a",)}
    assert constant_places([({"a": "2023-11-14T22:13:20.250Z"}, t),
                            ({"a": "2023-11-14T22:13:20.500Z"}, t + 0.25)]) == frozenset()


def test_ids_inside_lists_strings_and_keys_of_a_result_are_the_new_job() -> None:
    rec = Recorder(ListedJobs(polls=2))
    run_jobs(rec, early=False, jobs=2)
    result, rendered, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)
    assert not [g for g in result.datapoints[0].gaps if "list" in g]
    results = [s for s in fidelity.steps if s.request.endswith("/result")]
    assert len(results) == 2 and all(s.equal for s in results)


def test_a_soap_async_flow_gives_out_its_id_in_the_xml_body() -> None:
    rec = Recorder(lambda *a: (404, {}, b""))
    rec.partner = SoapJobs(lambda: rec.now)
    xml = {"Content-Type": "text/xml; charset=utf-8"}
    for n, report in enumerate(("daily", "weekly")):
        answer = rec.send("POST", "/reports", submit_rq(f"tok-{n}", report), headers=xml)
        job = answer.body.decode().split('ID="', 1)[1].split('"', 1)[0]
        assert rec.send("GET", f"/reports/{job}/result").status == 409
        while b'Status="DONE"' not in rec.send("GET", f"/reports/{job}/status").body:
            pass
        rec.send("GET", f"/reports/{job}/result")
    rec.send("GET", "/reports/6c1d2e3f-0000-4000-8000-000000000000/status")
    result, rendered, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)
    (dp,) = result.datapoints
    assert dp.pattern == "polling"
    submit = dp.data["endpoints"][0]["response"]
    assert submit["id_xpath"] == "//Job/@ID"
    assert [s.replayed for s in fidelity.steps[:5]] == [202, 409, 200, 200, 200]
