"""Two processes on one store race, as replicas do: counters, buckets and ids stay exact.

Each backend (a SQLite file, a real redis-server) gets the same cases; every process
opens its own store object with ``open_store`` and hammers it from several threads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from imnot_proxy.store import open_store

WORKER = textwrap.dedent("""
    import json, sys, threading
    from imnot_proxy.store import open_store

    target, op, key, count, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), 4
    store = open_store(target)
    results, lock = [], threading.Lock()
    go = threading.Event()

    def work():
        go.wait()
        mine = []
        for _ in range(count // threads):
            if op == "poll":
                mine.append(store.count_poll("p", "d", key).polls)
            elif op == "token":
                mine.append(store.take_token(key, 60))
            elif op == "seed":
                name = f"n{len(mine)}"
                if store.put_global("p", "d", name.encode(), name=name, if_absent=True):
                    mine.append(name)
                else:
                    mine.append(None)
            else:
                mine.append(store.next_sequence(key))
        with lock:
            results.extend(mine)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    print("ready", flush=True)
    sys.stdin.readline()
    go.set()
    for w in workers:
        w.join()
    store.close()
    print(json.dumps(results), flush=True)
""")


@pytest.fixture(params=["sqlite", "redis"])
def target(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "shared.db")
    server = request.getfixturevalue("redis_server")
    return f"{server.url}?prefix=race-{uuid.uuid4().hex[:8]}"


def race(target: str, op: str, key: str, per_process: int) -> list:
    """Two processes, four threads each, released at once; every value they got back."""
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, target, op, key, str(per_process)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for proc in procs:
        if proc.stdout.readline().strip() != "ready":
            proc.kill()
            raise AssertionError(f"a racer did not start: {proc.communicate()[1]}")
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    values = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        values += json.loads(out.strip().splitlines()[-1])
    return values


def test_1000_concurrent_poll_counts_from_two_processes_end_at_exactly_1000(target: str):
    store = open_store(target)
    try:
        issued = store.issue_id("p", "d", None)
        seen = race(target, "poll", issued.id, 500)
        assert sorted(seen) == list(range(1000))  # each count handed out exactly once
        assert store.get_id("p", "d", issued.id).polls == 1000
    finally:
        store.close()


def test_a_bucket_spent_from_two_processes_gives_exactly_its_capacity(target: str):
    waits = race(target, "token", "shared-bucket", 100)
    assert len(waits) == 200
    assert waits.count(0) == 60  # 60 per minute: the burst is 60, across both processes


def test_sequences_from_two_processes_never_repeat(target: str):
    values = race(target, "seq", "shared-seq", 200)
    assert sorted(values) == list(range(1, 401))


def test_seeders_racing_in_two_processes_write_each_payload_exactly_once(target: str):
    names = race(target, "seed", "unused", 200)  # 8 attempts at each of 50 names
    won = [n for n in names if n is not None]
    assert sorted(won) == sorted(f"n{i}" for i in range(50))
    store = open_store(target)
    try:
        assert store.payload_names("p", "d") == sorted(won)
    finally:
        store.close()
