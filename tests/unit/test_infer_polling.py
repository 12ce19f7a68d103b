"""Submit → status → result chains on a generated id become polling datapoints."""

from __future__ import annotations

import uuid

from imnot_proxy.recording.infer import infer

from .infer_support import BASE, datapoint, endpoint, ex, job_flow, payload


def test_polling_from_location_with_pending_series() -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    result = infer(job_flow(a) + job_flow(b, statuses=("PENDING", "COMPLETED")), "p")
    dp = datapoint(result, "jobs")
    assert dp["pattern"] == "polling"
    submit, status, fetch = dp["endpoints"]
    assert submit == {"step": 1, "method": "POST", "path": "/jobs", "response": {
        "status": 202, "generates_id": True, "id_header": "Location",
        "id_header_value": "/jobs/{id}"}}
    assert status["step"] == 2 and status["path"] == "/jobs/{id}/status"
    assert status["response"] == {
        "status": 200, "body": {"jobId": "{id}", "status": "COMPLETED"},
        "pending": [{"polls": 2, "status": 200, "body": {"jobId": "{id}", "status": "PENDING"}}]}
    assert fetch == {"step": 3, "method": "GET", "path": "/jobs/{id}/result",
                     "response": {"status": 200, "returns_payload": True, "template": True,
                                  "body": {"jobId": "{{ id }}",
                                           "rows": "{{ payload_json('$.rows') }}"}}}
    assert payload(result, "jobs") == {"jobId": b, "rows": [1, 2]}
    comment = result.datapoints[0].comment
    assert comment.startswith("polling: POST /jobs → 202 Location, 5 GET status polls, "
                              "result GET; from flows 1–9")


def test_polling_keeps_an_absolute_location_as_recorded() -> None:
    job = str(uuid.uuid4())
    result = infer(job_flow(job, location=f"{BASE}/jobs/{job}"), "p")
    response = endpoint(result, "jobs")["response"]
    assert response["id_header_value"] == f"{BASE}/jobs/{{id}}"


def test_polling_with_the_id_in_a_body_field_and_head_status() -> None:
    job = "a1b2c3d4e5f60718"
    flows = [
        ex("POST", "/reservations", 201, {"reservationId": job, "state": "RECEIVED"},
           request={"guest": "QA"}),
        ex("HEAD", f"/reservations/{job}", 200, b"", headers=[("Status", "PENDING")]),
        ex("HEAD", f"/reservations/{job}", 201, b"", headers=[("Status", "COMPLETED")]),
        ex("GET", f"/reservations/{job}", 200, {"reservationId": job, "guest": "QA"}),
    ]
    result = infer(flows, "p")
    submit, head, get = datapoint(result, "reservations")["endpoints"]
    assert submit["response"] == {"status": 201, "generates_id": True,
                                  "id_body_field": "reservationId",
                                  "body": {"state": "RECEIVED"}}
    assert (head["method"], head["path"]) == ("HEAD", "/reservations/{id}")
    assert head["response"] == {"status": 201, "headers": {"Status": "COMPLETED"},
                                "pending": [{"polls": 1, "status": 200,
                                             "headers": {"Status": "PENDING"}}]}
    assert (get["method"], get["path"], get["response"]) == (
        "GET", "/reservations/{id}", {"status": 200, "returns_payload": True, "template": True,
                                      "body": {"reservationId": "{{ id }}",
                                               "guest": "{{ payload_json('$.guest') }}"}})


def test_one_status_route_whose_answer_changes_is_a_status_step() -> None:
    job = str(uuid.uuid4())
    result = infer([
        ex("POST", "/exports", 202, b"", headers=[("Location", f"/exports/{job}")]),
        ex("GET", f"/exports/{job}", 200, {"state": "RUNNING"}),
        ex("GET", f"/exports/{job}", 200, {"state": "DONE", "url": f"/files/{job}.csv"}),
    ], "p")
    status = endpoint(result, "exports", 1)["response"]
    assert status["body"] == {"state": "DONE", "url": "/files/{id}.csv"}
    assert status["pending"] == [{"polls": 1, "status": 200, "body": {"state": "RUNNING"}}]
    assert not next(dp for dp in result.datapoints if dp.name == "exports").has_payload


def test_requests_on_a_step_route_for_unknown_ids_join_the_step() -> None:
    job = str(uuid.uuid4())
    old = str(uuid.uuid4())
    result = infer(job_flow(job) + [ex("GET", f"/jobs/{old}/status", 404, {"detail": "gone"})],
                   "p")
    assert [dp.name for dp in result.datapoints] == ["jobs"]
    row = next(r for r in result.inferred if r.request == "GET /jobs/{id}/status")
    assert "1 requests on ids not given out here" in row.why
