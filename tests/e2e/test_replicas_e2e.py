"""Three proxies on one Redis behave as one, through real proxy processes.

Each proxy has its own copy of the partners directory (as replicas on different hosts
would) and its own replica name. Clients hit them in turn: submit on A, poll on B,
fetch on C; uploads, sessions, partner registrations and the journal cross replicas;
a callback survives the ``kill -9`` of the replica that accepted it; a replica
restarted mid-flow and a Redis restarted with its append-only file lose nothing; a
Redis that goes away makes stateful mocks answer 503 naming the store while other
traffic passes untouched, until Redis is back. A fault set for one session through one
replica applies on the others within 100 ms, counted once for all of them.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_server import RedisServer

from .conftest import E2E_PARTNERS, ENTRY_SCRIPT, Imnot, StartImnot
from .harness import CallbackReceiver, UpstreamServer, run, wait_until
from .launcher import IMNOT_CLI, find_program, free_port

BASE = "http://api.relayco.example"
NEWCO = """
partner: newco
hosts: [api.newco.example]
datapoints:
  - name: hello
    pattern: static
    endpoints:
      - method: GET
        path: /hello
        response: {status: 200, body: {hello: newco}}
"""


@pytest.fixture(scope="module")
def redis_e2e(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis-e2e"), aof=True).start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def store_url(redis_e2e: RedisServer) -> str:
    return f"{redis_e2e.url}?prefix=e2e"


def replica(start_imnot: StartImnot, tmp_path_factory, store_url: str, name: str) -> Imnot:
    folder = tmp_path_factory.mktemp(f"partners-{name}")
    shutil.copy(E2E_PARTNERS / "replicas" / "relayco.yaml", folder)
    return start_imnot(folder, name=name, imnot_db=store_url, imnot_replica=name,
                       imnot_callback_allow="127.0.0.1")


@pytest.fixture(scope="module")
def trio(start_imnot: StartImnot, tmp_path_factory, store_url: str) -> list[Imnot]:
    return [replica(start_imnot, tmp_path_factory, store_url, name) for name in "abc"]


def test_submit_on_a_poll_on_b_fetch_on_c(trio: list[Imnot]):
    a, b, c = trio
    a.upload("relayco", "job", {"order": 42})
    location = a.request("POST", f"{BASE}/jobs").headers["Location"]
    assert c.request("GET", f"{BASE}{location}").status == 409  # not done yet, anywhere
    assert b.request("GET", f"{BASE}{location}/status").json() == {"status": "RUNNING"}
    assert c.request("GET", f"{BASE}{location}/status").json() == {"status": "DONE"}
    assert c.request("GET", f"{BASE}{location}").json() == {"order": 42}


def test_an_upload_on_a_is_served_by_b_within_100_ms(trio: list[Imnot]):
    a, b, _ = trio
    a.upload("relayco", "profile", {"v": 1})
    assert b.request("GET", f"{BASE}/profile").json() == {"v": 1}  # b caches it now
    a.upload("relayco", "profile", {"v": 2})
    acknowledged = time.monotonic()
    wait_until(lambda: b.request("GET", f"{BASE}/profile").json() == {"v": 2}, timeout=0.1,
               interval=0.005, message="b serves the new upload")
    assert time.monotonic() - acknowledged < 0.1


def test_a_session_created_on_b_is_used_on_a(trio: list[Imnot]):
    a, b, c = trio
    sid = b.new_session("relayco", "profile", {"who": "session"})
    assert a.request("GET", f"{BASE}/profile", session=sid).json() == {"who": "session"}
    assert c.request("GET", f"{BASE}/profile", user=sid).json() == {"who": "session"}
    sessions = {s["session_id"] for s in c.admin("GET", "sessions").json()}
    assert sid in sessions


def test_a_partner_registered_on_a_is_served_by_b_within_1_s(trio: list[Imnot]):
    a, b, c = trio
    reply = a.admin("POST", "partners", NEWCO)
    assert reply.status == 201, reply.text
    registered = time.monotonic()
    wait_until(lambda: b.request("GET", "http://api.newco.example/hello").status == 200,
               timeout=1.0, interval=0.02, message="b serves the new partner")
    assert time.monotonic() - registered < 1.0
    assert b.request("GET", "http://api.newco.example/hello").json() == {"hello": "newco"}
    assert c.admin("DELETE", "partners/newco").status == 200  # deleted on another replica
    wait_until(lambda: a.request("GET", "http://api.newco.example/hello").status != 200,
               timeout=1.0, interval=0.02, message="a stops serving the deleted partner")


def test_the_journal_on_b_lists_the_requests_a_served(trio: list[Imnot]):
    a, b, c = trio
    request_id = f"trace-{uuid.uuid4().hex[:8]}"
    assert c.request("GET", f"{BASE}/ping").status == 200
    assert a.request("GET", f"{BASE}/ping", headers={"X-Request-ID": request_id}).status == 200

    def listed() -> list[dict]:  # each replica sends its entries every 50 ms
        entries = b.admin("GET", "journal?limit=200").json()
        replicas = {e["replica"] for e in entries}
        return [e for e in entries if e["request_id"] == request_id] and {"a", "c"} <= replicas \
            and entries

    entries = wait_until(listed, timeout=1.0, message="a's and c's requests in b's journal")
    mine = [e for e in entries if e["request_id"] == request_id]
    assert len(mine) == 1 and mine[0]["replica"] == "a" and mine[0]["url"] == f"{BASE}/ping"


def test_a_session_fault_set_through_a_applies_on_b_only_for_that_session(trio: list[Imnot]):
    a, b, c = trio
    sid = f"faulted-{uuid.uuid4().hex[:8]}"
    reply = a.admin("POST", "faults", {"kind": "status", "status": 503, "partner": "relayco",
                                       "datapoint": "ping", "session": sid,
                                       "when": {"first": 2}})
    assert reply.status == 201, reply.text
    fault_id = reply.json()["id"]
    try:
        set_at = time.monotonic()
        wait_until(lambda: b.request("GET", f"{BASE}/ping", session=sid).status == 503,
                   timeout=0.1, interval=0.005, message="b injects the fault set through a")
        assert time.monotonic() - set_at < 0.1
        # counted once for every replica: b had the 1st, c the 2nd, then the mock again
        assert c.request("GET", f"{BASE}/ping", user=sid).status == 503
        assert a.request("GET", f"{BASE}/ping", session=sid).json() == {"pong": True}
        for proxy in trio:  # other sessions, and no session, never saw it
            assert proxy.request("GET", f"{BASE}/ping").json() == {"pong": True}
            assert proxy.request("GET", f"{BASE}/ping", session="other").status == 200
        assert [f["id"] for f in c.admin("GET", f"faults?session={sid}").json()] == [fault_id]
    finally:
        assert b.admin("DELETE", f"faults/{fault_id}").status == 200
    assert a.admin("GET", f"faults?session={sid}").json() == []


def test_a_callback_is_delivered_once_after_its_accepting_replica_is_killed(
        trio: list[Imnot], start_imnot: StartImnot, tmp_path_factory, store_url: str):
    doomed = replica(start_imnot, tmp_path_factory, store_url, "doomed")
    doomed.expect_tracebacks = True
    doomed.upload("relayco", "hook", {"event": "done"})
    with CallbackReceiver() as receiver:
        accepted = doomed.request("POST", f"{BASE}/hooks",
                                  {"callbackUrl": f"{receiver.url}/hook"})
        assert accepted.status == 202, accepted.text
        request_id = accepted.json()["request_id"]
        doomed.kill9()  # before the 3 s delay ends
        (delivered,) = receiver.wait_for_requests(1, timeout=15)
        assert json.loads(delivered.body) == {"event": "done"}
        with pytest.raises(AssertionError):  # and never a second time
            receiver.wait_for_requests(2, timeout=1.5)
    log = trio[1].admin("GET", f"relayco/hook/callback/{request_id}").json()
    assert [d["status"] for d in log["deliveries"]] == [200]


def test_a_replica_restarted_mid_flow_loses_nothing(trio: list[Imnot]):
    a, b, _ = trio
    a.upload("relayco", "job", {"kept": True})
    location = a.request("POST", f"{BASE}/jobs").headers["Location"]
    assert a.request("GET", f"{BASE}{location}/status").json() == {"status": "RUNNING"}
    a.restart()
    assert a.request("GET", f"{BASE}{location}/status").json() == {"status": "DONE"}
    assert a.request("GET", f"{BASE}{location}").json() == {"kept": True}


def test_redis_restarted_with_its_append_only_file_loses_no_acknowledged_write(
        trio: list[Imnot], redis_e2e: RedisServer):
    a, b, c = trio
    a.upload("relayco", "job", {"survives": "restart"})
    sid = b.new_session("relayco", "profile", {"session": "survives"})
    location = c.request("POST", f"{BASE}/jobs").headers["Location"]
    redis_e2e.restart()  # SIGKILL, then start on the same folder

    def serving() -> bool:
        return b.request("GET", f"{BASE}{location}/status").status == 200

    wait_until(serving, timeout=15, message="the replicas use Redis again")
    assert a.request("GET", f"{BASE}{location}/status").json() == {"status": "DONE"}
    assert c.request("GET", f"{BASE}{location}").json() == {"survives": "restart"}
    assert a.request("GET", f"{BASE}/profile", session=sid).json() == {"session": "survives"}


def test_without_redis_stateful_mocks_answer_503_and_the_rest_passes(
        trio: list[Imnot], redis_e2e: RedisServer, store_url: str):
    a, _, _ = trio
    a.upload("relayco", "job", {"back": True})
    with UpstreamServer() as upstream:
        before = a.request("GET", f"{upstream.url}/untouched?x=1")
        redis_e2e.stop()
        try:
            refused = a.request("POST", f"{BASE}/jobs")
            assert refused.status == 503
            detail = refused.json()
            assert detail["store"] == store_url and store_url in detail["detail"]
            assert a.request("GET", f"{BASE}/ping").json() == {"pong": True}  # no state needed
            after = a.request("GET", f"{upstream.url}/untouched?x=1")
            assert (after.status, after.body) == (before.status, before.body)
            assert upstream.requests[-1].path == "/untouched?x=1"
            assert a.admin("GET", "journal").status == 503
        finally:
            redis_e2e.start()

    def recovered() -> bool:
        return a.request("POST", f"{BASE}/jobs").status == 202

    wait_until(recovered, timeout=15, message="a serves again once Redis is back")
    assert a.admin("GET", "journal?limit=5").status == 200


def test_a_bad_store_url_is_one_line_with_the_password_masked_and_exit_code_2(tmp_path: Path):
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    done = run([*IMNOT_CLI, "start", "--port", str(free_port()), "--partners",
                str(E2E_PARTNERS / "replicas"), "--db", url, "--confdir", str(tmp_path)],
               cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    (line,) = [ln for ln in done.stderr.splitlines() if "imnot_db" in ln]
    assert "redis://:****@127.0.0.1" in line and "hunter2" not in done.stderr + done.stdout
    unknown = run([*IMNOT_CLI, "start", "--port", str(free_port()), "--partners",
                   str(E2E_PARTNERS / "replicas"), "--db", "mongodb://h/0",
                   "--confdir", str(tmp_path)], cwd=tmp_path, timeout=60)
    assert unknown.returncode == 2 and "unknown scheme 'mongodb'" in unknown.stderr
    script = run([find_program("mitmdump"), "-q", "--listen-port", str(free_port()),
                  "--set", f"confdir={tmp_path}", "-s", str(ENTRY_SCRIPT),
                  "--set", f"imnot_partners={E2E_PARTNERS / 'replicas'}",
                  "--set", f"imnot_db={url}"], cwd=tmp_path, timeout=60)
    assert script.returncode != 0
    output = script.stdout + script.stderr
    assert "Cannot open imnot_db" in output and "hunter2" not in output
