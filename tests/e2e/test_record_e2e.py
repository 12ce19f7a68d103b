"""Record → to-yaml → mock fidelity through real mitmdump processes.

A stateful fake partner on 127.0.0.1 (OAuth token, an async job API whose status
answers PENDING twice then COMPLETED, an offset/limit list, a fetch and a static
XML lookup) is driven by one client script through a proxy in record mode. The
recording becomes a partner file with ``record to-yaml``; the fake partner is
stopped and the same client script runs against a proxy in mock mode: every step
must get the same status and body shape, and new ids must flow from Location
into the status and result paths with the same PENDING, PENDING, COMPLETED
series per id.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from imnot_proxy.cli import main as cli_main
from imnot_proxy.recording.har import HarError, read_har

from .conftest import Imnot, StartImnot
from .harness import HandlerResult, Reply, UpstreamServer, free_port, wait_until

CLIENT_SECRET = "cl1ent-s3cret-" + uuid.uuid4().hex[:12]
ITEMS = [{"sku": f"SKU-{i}", "qty": i, "price": 9.5 + i} for i in range(5)]
CURRENCIES = '<?xml version="1.0"?><currencies><currency code="EUR"/></currencies>'
MAX_POLLS = 6
MAX_PAGES = 10

Send = Callable[[str, str, bytes | None, dict[str, str]], Reply]


class FakePartner:
    """The real partner: state per job id, a token checked on every call."""

    def __init__(self) -> None:
        self.token = "tok-" + uuid.uuid4().hex
        self.polls: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, method: str, target: str, headers: Message, body: bytes) -> HandlerResult:
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if (method, path) == ("POST", "/oauth/token"):
            form = parse_qs(body.decode())
            if form.get("client_secret") != [CLIENT_SECRET]:
                return 401, {}, {"error": "invalid_client"}
            return 200, {"Cache-Control": "no-store"}, {
                "access_token": self.token, "token_type": "Bearer", "expires_in": 1800}
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {}, {"error": "unauthorized"}
        segments = path.strip("/").split("/")
        if (method, path) == ("POST", "/jobs"):
            job = str(uuid.uuid4())
            with self.lock:
                self.polls[job] = 0
            return 202, {"Location": f"/jobs/{job}"}, b""
        if method == "GET" and len(segments) == 3 and segments[0] == "jobs":
            job, what = segments[1], segments[2]
            with self.lock:
                if job not in self.polls:
                    return 404, {}, {"detail": "no such job"}
                if what == "status":
                    self.polls[job] += 1
                    done = self.polls[job] > 2
                    return 200, {}, {"jobId": job, "status": "COMPLETED" if done else "PENDING"}
            if what == "result":
                return 200, {}, {"jobId": job, "rows": [{"sku": "SKU-1", "qty": 3}],
                                 "generatedAt": "2026-01-01T00:00:00Z"}
        if (method, path) == ("GET", "/items"):
            offset = int(query.get("offset", ["0"])[0])
            limit = int(query.get("limit", ["2"])[0])
            more = offset + limit < len(ITEMS)
            return 200, {}, {"items": ITEMS[offset:offset + limit], "total": len(ITEMS),
                             "hasMore": more, "nextOffset": offset + limit if more else None,
                             "offset": offset, "limit": limit}
        if (method, path) == ("GET", "/properties/42"):
            return 200, {}, {"id": 42, "name": "Seaside", "rooms": 12, "tags": ["sea", "spa"]}
        if (method, path) == ("GET", "/lookup/currencies"):
            return 200, {"Content-Type": "application/xml", "X-Lookup-Version": "3"}, \
                CURRENCIES.encode()
        return 404, {}, {"detail": f"no route {method} {path}"}


# --- the client script -------------------------------------------------------------------


def shape(value: Any) -> Any:
    """Keys and types of a JSON value; a list by its first item."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def body_shape(reply: Reply) -> Any:
    kind = reply.headers.get("Content-Type", "")
    if not reply.body:
        return None
    if "json" in kind:
        return shape(reply.json())
    return (kind, reply.text)


@dataclass
class Run:
    steps: list[tuple[str, int, Any]]
    job_ids: list[str]
    statuses: dict[str, list[str]]
    items: list[Any]


def client_script(send: Send, base: str) -> Run:
    """What an integration does with the partner; asserts only what any partner guarantees."""
    steps: list[tuple[str, int, Any]] = []

    def call(label: str, method: str, url: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> Reply:
        reply = send(method, url, body, headers or {})
        steps.append((label, reply.status, body_shape(reply)))
        return reply

    form = urlencode({"grant_type": "client_credentials", "client_id": "rm-staging",
                      "client_secret": CLIENT_SECRET}).encode()
    token = call("token", "POST", f"{base}/oauth/token", form,
                 {"Content-Type": "application/x-www-form-urlencoded"})
    assert token.status == 200, token.text
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}

    job_ids: list[str] = []
    statuses: dict[str, list[str]] = {}
    for n in range(2):
        submit = call(f"submit {n}", "POST", f"{base}/jobs", b'{"report": "daily"}',
                      {**auth, "Content-Type": "application/json"})
        assert submit.status == 202, submit.text
        location = submit.headers["Location"]
        job = location.rsplit("/", 1)[-1]
        uuid.UUID(job)
        job_ids.append(job)
        seen = statuses.setdefault(job, [])
        for _ in range(MAX_POLLS):
            status = call(f"status {n}", "GET", f"{base}{location}/status", headers=auth)
            assert status.status == 200, status.text
            assert status.json()["jobId"] == job
            seen.append(status.json()["status"])
            if seen[-1] == "COMPLETED":
                break
        result = call(f"result {n}", "GET", f"{base}{location}/result", headers=auth)
        assert result.status == 200, result.text

    items: list[Any] = []
    offset = 0
    for _ in range(MAX_PAGES):
        page = call(f"items {offset}", "GET", f"{base}/items?offset={offset}&limit=2",
                    headers=auth)
        assert page.status == 200, page.text
        items += page.json()["items"]
        if not page.json()["hasMore"]:
            break
        offset = page.json()["nextOffset"]

    prop = call("property", "GET", f"{base}/properties/42", headers=auth)
    assert prop.status == 200, prop.text
    call("currencies", "GET", f"{base}/lookup/currencies", headers=auth)
    return Run(steps, job_ids, statuses, items)


# --- fixtures ----------------------------------------------------------------------------


@dataclass
class Recorded:
    run: Run
    har: Path
    base: str
    down: Reply
    after_down: Reply
    secrets: tuple[str, ...]


@pytest.fixture(scope="module")
def recorded(start_imnot: StartImnot, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Recorded]:
    """One recording session against the fake partner; the partner is stopped afterwards."""
    base_dir = tmp_path_factory.mktemp("record")
    (base_dir / "partners").mkdir()
    recordings = base_dir / "recordings"
    partner = FakePartner()
    with UpstreamServer(partner) as server:
        proxy = start_imnot(base_dir / "partners", name="recorder",
                            imnot_record_hosts="localhost", imnot_recordings=str(recordings))
        base = f"http://localhost:{server.port}"
        run = client_script(_sender(proxy), base)
        down = proxy.request("GET", f"http://localhost:{free_port()}/jobs/unreachable")
        after_down = proxy.request("GET", f"{base}/lookup/currencies",
                                   headers={"Authorization": f"Bearer {partner.token}"})
        expected = len(run.steps) + 2

        def complete() -> list[Path]:
            files = sorted(recordings.glob("*.har"))
            try:  # the writer child may have created the file and not yet written an entry
                return files if files and len(read_har(files[0])) >= expected else []
            except HarError:
                return []

        har = wait_until(complete, timeout=10, message="recording never held every flow")[0]
    yield Recorded(run, har, base, down, after_down, (CLIENT_SECRET, partner.token))


def _sender(proxy: Imnot) -> Send:
    def send(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Reply:
        return proxy.request(method, url, body, headers=headers)

    return send


# --- tests -------------------------------------------------------------------------------


def test_recording_session_ran_against_the_real_partner(recorded: Recorded) -> None:
    run = recorded.run
    assert len(set(run.job_ids)) == 2
    assert all(seq == ["PENDING", "PENDING", "COMPLETED"] for seq in run.statuses.values())
    assert run.items == ITEMS


def test_upstream_down_gives_502_and_is_recorded(recorded: Recorded) -> None:
    assert recorded.down.status == 502
    assert recorded.after_down.status == 200
    assert recorded.after_down.text == CURRENCIES
    entries = json.loads(recorded.har.read_text("utf-8"))["log"]["entries"]
    failed = [e for e in entries if e.get("_error")]
    assert len(failed) == 1
    assert failed[0]["request"]["url"].endswith("/jobs/unreachable")


def test_recorded_partner_replays_with_the_same_shapes(
        recorded: Recorded, start_imnot: StartImnot, tmp_path: Path) -> None:
    out = tmp_path / "partners"
    code = cli_main(["record", "to-yaml", str(recorded.har), "--partner", "fake",
                     "--out", str(out)])
    assert code == 0
    folder = out / "fake"
    assert sorted(p.name for p in (folder / "payloads").iterdir()) == [
        "items.json", "jobs.json", "property.json"]
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_text("utf-8")
            for secret in recorded.secrets:
                assert secret not in text, f"{secret} leaked into {path}"

    mock = start_imnot(out, name="replay")
    replay = client_script(_sender(mock), recorded.base)

    assert [s[0] for s in replay.steps] == [s[0] for s in recorded.run.steps]
    for then, now in zip(recorded.run.steps, replay.steps, strict=True):
        assert now[1] == then[1], f"{now[0]}: status {now[1]} != recorded {then[1]}"
        assert now[2] == then[2], f"{now[0]}: body {now[2]} != recorded {then[2]}"
    assert set(replay.job_ids).isdisjoint(recorded.run.job_ids)
    assert len(set(replay.job_ids)) == 2
    assert replay.statuses == {job: ["PENDING", "PENDING", "COMPLETED"]
                               for job in replay.job_ids}
    assert replay.items == ITEMS


def test_to_yaml_is_deterministic(recorded: Recorded, tmp_path: Path) -> None:
    outputs = []
    for n in range(2):
        out = tmp_path / f"out{n}"
        assert cli_main(["record", "to-yaml", str(recorded.har), "--partner", "fake",
                         "--out", str(out)]) == 0
        outputs.append({p.relative_to(out): p.read_bytes()
                        for p in sorted(out.rglob("*")) if p.is_file()})
    assert outputs[0] == outputs[1]
