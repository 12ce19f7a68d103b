"""The drift check offline: a recording replayed against a sandbox and the mock, each side
with its own ids; volatile fields left out unless asked for."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from imnot_proxy.loader import load_paths
from imnot_proxy.recording import yamlout
from imnot_proxy.recording.compare import Observed
from imnot_proxy.recording.drift import volatile
from imnot_proxy.recording.sandbox import outgoing, rebase, verify_recording

from .fake_partners import ChangedJobs, Jobs, Recorder, converted
from .test_replay import run_jobs

SANDBOX = "https://sandbox.partner.example/api"


def sender(partner, seen: list[tuple[str, str, dict]]):
    def send(method: str, url: str, headers, body: bytes) -> Observed:
        seen.append((method, url, dict(headers)))
        path = urlsplit(url).path.removeprefix("/api")
        status, out_headers, out = partner(method, "https://x.example" + path, dict(headers),
                                           body)
        raw = out if isinstance(out, bytes) else json.dumps(out).encode()
        kind = {} if isinstance(out, bytes) else {"Content-Type": "application/json"}
        return Observed(status, tuple({**kind, **out_headers}.items()), raw)
    return send


def written(rec: Recorder, folder: Path):
    """The recording's partner file and payloads on disk, loaded as the CLI loads them."""
    _, rendered, _ = converted(rec.exchanges)
    yamlout.write(rendered, folder / "p")
    return load_paths([folder]).partners


def recorded_partner(tmp_path: Path):
    rec = Recorder(Jobs(polls=2))
    run_jobs(rec, jobs=2)
    return rec.exchanges, written(rec, tmp_path)


def test_the_same_partner_shows_no_drift_and_gets_its_own_ids(tmp_path: Path) -> None:
    exchanges, sources = recorded_partner(tmp_path)
    seen: list = []
    done = verify_recording(exchanges, sources, SANDBOX, sender(Jobs(polls=2), seen),
                            ignore=volatile(), headers=[("Authorization", "Bearer sandbox")])
    assert done.report.ok, done.report.view()
    assert done.sent == len(exchanges) == len(seen)
    submit_url, status_url = seen[0][1], seen[2][1]
    assert submit_url == f"{SANDBOX}/jobs"
    assert status_url.startswith(f"{SANDBOX}/jobs/") and exchanges[2].url not in status_url
    assert seen[0][2]["Authorization"] == "Bearer sandbox"


def test_a_partner_that_changed_shows_where(tmp_path: Path) -> None:
    exchanges, sources = recorded_partner(tmp_path)
    done = verify_recording(exchanges, sources, SANDBOX, sender(ChangedJobs(), []),
                            ignore=volatile())
    view = {e["endpoint"]: e for e in done.report.view()["endpoints"]}
    assert not done.report.ok
    # the recorded client polls twice: the changed partner is not done yet, so its result
    # answers 409 where the mock gives the data
    result = view["p/jobs GET /jobs/{id}/result"]
    assert result["differing"] == 2 and "status: 409 ≠ 200" in result["examples"]
    status = view["p/jobs GET /jobs/{id}/status"]
    assert status["differing"] == 0  # same shape: PENDING and DONE are both strings
    assert status["polls_until_done"] == {"real": [0, 0], "mock": [1, 1]}
    assert status["aspects"] == {"polling": 1}
    assert view["p/jobs POST /jobs"]["id_places"] == {"real": ["body $.id", "header location"],
                                                      "mock": ["body $.id", "header location"]}


def test_volatile_fields_are_left_out_unless_asked_for(tmp_path: Path) -> None:
    jobs = Jobs(polls=1)

    def stamped(method, url, headers, body):
        status, h, out = jobs(method, url, headers, body)
        if isinstance(out, dict):
            out = {**out, "updatedAt": None if method == "POST" else "2026-11-30T10:00:00Z"}
        return status, h, out

    rec = Recorder(stamped)
    run_jobs(rec, early=False, jobs=1)
    sources = written(rec, tmp_path)

    def check(**kw):  # a sandbox that no longer sends updatedAt at all
        return verify_recording(rec.exchanges, sources, SANDBOX, sender(Jobs(polls=1), []),
                                **kw).report

    assert check(ignore=volatile()).ok
    assert not check(ignore=volatile(defaults=False)).ok
    assert check(ignore=volatile(("updatedAt",), defaults=False)).ok


def test_rebase_and_outgoing_headers() -> None:
    assert rebase("http://a.example/jobs/1?x=2", "https://s.example/v2/") \
        == "https://s.example/v2/jobs/1?x=2"
    assert outgoing((("Host", "a"), ("Authorization", "REDACTED"), ("X-A", "1"),
                     ("Content-Length", "3")), [("authorization", "Bearer t")]) \
        == (("X-A", "1"), ("authorization", "Bearer t"))
