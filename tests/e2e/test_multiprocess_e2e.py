"""Several proxy processes on one SQLite store behave as one: ids, progress, payloads and
rate limits are shared, and in-process caches notice writes made by the other process."""

from __future__ import annotations

from .conftest import E2E_PARTNERS, StartImnot

BASE = "http://api.sharedco.example"


def test_two_processes_share_ids_progress_payloads_and_rate_limits(
        start_imnot: StartImnot, tmp_path) -> None:
    db = str(tmp_path / "shared.db")
    partners = E2E_PARTNERS / "shared"
    a = start_imnot(partners, name="a", imnot_db=db)
    b = start_imnot(partners, name="b", imnot_db=db)

    a.upload("sharedco", "job", {"v": 1})
    assert b.request("GET", f"{BASE}/jobs/nope").status == 404  # strict: unknown id

    submitted = a.request("POST", f"{BASE}/jobs")
    location = submitted.headers["Location"]
    assert b.request("GET", f"{BASE}{location}").status == 409  # not ready on the other one
    assert b.request("GET", f"{BASE}{location}/status").json() == {"status": "RUNNING"}
    assert a.request("GET", f"{BASE}{location}/status").json() == {"status": "DONE"}
    assert b.request("GET", f"{BASE}{location}").json() == {"v": 1}

    # An upload on B is served at once by A, whose payload cache saw it first.
    assert a.request("GET", f"{BASE}{location}").json() == {"v": 1}
    b.upload("sharedco", "job", {"v": 2})
    assert a.request("GET", f"{BASE}{location}").json() == {"v": 2}

    a.upload("sharedco", "limited", {"ok": True})
    statuses = [a.request("GET", f"{BASE}/limited").status,
                b.request("GET", f"{BASE}/limited").status,
                a.request("GET", f"{BASE}/limited").status]
    assert statuses == [200, 200, 429]
