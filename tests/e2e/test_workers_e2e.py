"""``imnot-proxy start --workers N``: several lean proxies on one port, one supervisor that
restarts a worker that dies and stops them all on SIGTERM; a bad store stops it with code 2."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from imnot_proxy.workers import worker_count

from .conftest import E2E_PARTNERS
from .harness import Launcher, direct_request, proxied_request, run, wait_until
from .launcher import IMNOT_CLI, free_port

BASE = "http://api.sharedco.example"


def children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(p) for p in text.split()}


def listeners(port: int) -> int:
    """How many sockets listen on 127.0.0.1:port (from /proc/net/tcp)."""
    wanted = f"0100007F:{port:04X}"
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "0A":
            count += 1
    return count


@pytest.fixture
def workers(tmp_path: Path):
    if not Path("/proc/self/task").is_dir():
        pytest.skip("needs Linux /proc to find the workers")
    proc = Launcher.imnot_start(tmp_path, "--workers", "2", "--partners",
                                str(E2E_PARTNERS / "shared"), "--db", str(tmp_path / "s.db"),
                                "--no-watch", confdir=tmp_path / "conf")
    proc.start()
    yield proc
    proc.stop()


def test_two_workers_share_one_port_and_one_store(workers: Launcher):
    wait_until(lambda: listeners(workers.port) == 2 and len(children(workers.pid)) == 2,
               timeout=30, message="two workers listening")
    reply = direct_request(workers.url, "POST", "/imnot/admin/sharedco/job/payload",
                           b'{"v": 1}', {})
    assert reply.status == 200, reply.text
    for _ in range(6):  # new connections each time: the kernel spreads them over the workers
        location = proxied_request(workers.url, "POST", f"{BASE}/jobs").headers["Location"]
        assert proxied_request(workers.url, "GET", f"{BASE}{location}/status").status == 200
        assert proxied_request(workers.url, "GET", f"{BASE}{location}/status").status == 200
        assert proxied_request(workers.url, "GET", f"{BASE}{location}").json() == {"v": 1}

    def journal() -> list[dict]:  # any worker lists every worker's requests
        entries = direct_request(workers.url, "GET", "/imnot/admin/journal?limit=100", None,
                                 {}).json()
        return entries if len(entries) >= 24 else []

    entries = wait_until(journal, timeout=5, message="every request in the journal")
    assert len({e["replica"] for e in entries}) == 2


def test_a_fault_set_through_one_worker_applies_on_every_worker(workers: Launcher):
    """Faults live in the shared SQLite file; each worker's list of faults in force follows
    the file's changes within 10 ms."""
    wait_until(lambda: listeners(workers.port) == 2, timeout=30, message="two workers")
    body = (b'{"kind": "status", "status": 503, "partner": "sharedco", "session": "w1", '
            b'"body": {"faulted": true}}')
    reply = direct_request(workers.url, "POST", "/imnot/admin/faults", body,
                           {"Content-Type": "application/json"})
    assert reply.status == 201, reply.text
    for _ in range(12):  # new connections: the kernel spreads them over the workers
        faulted = proxied_request(workers.url, "GET", f"{BASE}/limited",
                                  headers={"X-Imnot-Session": "w1"})
        assert (faulted.status, faulted.json()) == (503, {"faulted": True})
    assert proxied_request(workers.url, "POST", f"{BASE}/jobs").status == 202  # no session

    def faulted_by_both() -> list[dict]:
        entries = direct_request(workers.url, "GET",
                                 "/imnot/admin/journal?limit=100&session=w1", None, {}).json()
        return entries if len({e["replica"] for e in entries}) == 2 else []

    entries = wait_until(faulted_by_both, timeout=5, message="both workers faulted w1")
    assert {e["kind"] for e in entries} == {"fault"}


def test_a_dead_worker_is_replaced_and_sigterm_stops_them_all(workers: Launcher):
    first = wait_until(lambda: len(children(workers.pid)) == 2 and children(workers.pid),
                       timeout=30, message="two workers")
    wait_until(lambda: listeners(workers.port) == 2, timeout=30, message="two listeners")
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: len(children(workers.pid)) == 2 and victim not in children(workers.pid),
               timeout=30, message="the dead worker replaced")
    wait_until(lambda: listeners(workers.port) == 2, timeout=30, message="listening again")
    assert direct_request(workers.url, "GET", "/healthz", None, {}).status == 200
    now = children(workers.pid)
    workers._proc.send_signal(signal.SIGTERM)
    assert workers._proc.wait(30) == 0
    for pid in now:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    assert "exited with code -9; starting it again" in workers.log_text()


def test_a_store_that_cannot_be_opened_stops_every_worker_with_code_2(tmp_path: Path):
    port = free_port()
    done = run([*IMNOT_CLI, "start", "--workers", "2", "--port", str(port), "--partners",
                str(E2E_PARTNERS / "shared"), "--db", f"redis://:hunter2@127.0.0.1:{free_port()}/0",
                "--confdir", str(tmp_path / "conf")], cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "redis://:****@127.0.0.1" in done.stderr and "hunter2" not in done.stderr


@pytest.mark.parametrize(("text", "count"), [("1", 1), ("3", 3)])
def test_worker_count(text: str, count: int):
    assert worker_count(text) == count
    assert worker_count("auto") >= 1
    with pytest.raises(ValueError, match="auto or a number"):
        worker_count("0")


def test_workers_run_the_lean_engine_only(capsys):
    from imnot_proxy.cli import main

    assert main(["start", "--workers", "2", "--web"]) == 2
    assert "does not combine with --web" in capsys.readouterr().err
    assert main(["start", "--workers", "many"]) == 2
    assert "auto or a number" in capsys.readouterr().err
