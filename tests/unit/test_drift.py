"""The drift report: per endpoint counts, polling shape, id places, nothing secret kept."""

from __future__ import annotations

import json

from imnot_proxy.recording.compare import Observed
from imnot_proxy.recording.drift import DriftReport, format_drift_line

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNlY3JldC14eXo"


def answer(body: object, status: int = 200, headers=()) -> Observed:
    return Observed(status, (("Content-Type", "application/json"), *headers),
                    json.dumps(body).encode())


def test_only_a_different_number_of_polls_is_drift() -> None:
    report = DriftReport()
    for real, mock in (("PENDING", "PENDING"), ("PENDING", "DONE"), ("DONE", "DONE")):
        report.add("p/jobs GET /jobs/{id}", answer({"status": real}), answer({"status": mock}),
                   series="j1")
    (view,) = report.view()["endpoints"]
    assert view["differing"] == 0 and view["polls_until_done"] == {"real": [2], "mock": [1]}
    assert not report.ok
    assert "polls until done: real [2], mock [1]" in format_drift_line(view)


def test_where_ids_are_given_out_and_secrets_in_locations() -> None:
    report = DriftReport()
    real = answer({"jobId": "J-1234567"}, 202, (("Location", f"/jobs/J-1234567?sig={JWT}"),))
    mock = answer({"id": "M-7654321"}, 202)
    found = report.add("p/jobs POST /jobs", real, mock, new_ids={"J-1234567": "M-7654321"})
    text = json.dumps(report.view())
    assert JWT not in text and JWT.split(".")[2] not in text
    assert {d.aspect for d in found} == {"body", "location", "id"}
    (view,) = report.view()["endpoints"]
    assert view["id_places"] == {"real": ["body $.jobId", "header location"],
                                 "mock": ["body $.id"]}
