"""What replicas share beyond the store, on a real redis-server: the journal stream, the
callback queue with its leases, and partner registrations."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from imnot_proxy import replicas
from imnot_proxy.definitions import Definitions
from imnot_proxy.engine.callback import DeliveryJob
from imnot_proxy.engine.faults import Injection
from imnot_proxy.journal import JournalEntry
from imnot_proxy.replicas.callbacks import CallbackQueue, lease_seconds
from imnot_proxy.replicas.journal import RedisJournal
from imnot_proxy.schema.faults import FAULT
from imnot_proxy.store import SqliteStore
from imnot_proxy.store.redis import RedisStore, parse

HELLO = """
partner: hello
description: registered at runtime
datapoints:
  - name: greeting
    pattern: static
    endpoints:
      - method: GET
        path: /hello/greeting
        response:
          status: 200
          body: {"hi": true}
"""


def wait_for(predicate: Callable[[], object], timeout: float = 5.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def replica_pair(redis_server, clock) -> Iterator[Callable[..., RedisStore]]:
    url = parse(f"{redis_server.url}?prefix=rep-{uuid.uuid4().hex[:8]}")
    opened: list[RedisStore] = []

    def open_one(**kwargs) -> RedisStore:
        store = RedisStore(url, **kwargs)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


def entry(path: str, at: float = 1.0) -> JournalEntry:
    return JournalEntry(at, "mock", "GET", "http", "api.test", 80, path, 200, 0.001,
                        partner="p", closest=("GET /x",))


def test_the_journal_lists_every_replicas_requests_with_its_name(replica_pair):
    a, b = replica_pair(), replica_pair()
    key = a.keys.named("journal")
    ja = RedisJournal(a.client, key, "replica-a", store_name=a.name, size=5)
    jb = RedisJournal(b.client, key, "replica-b", store_name=b.name, size=5)
    try:
        ja.add(entry("/one"))
        jb.add(entry("/two"))
        ja.add(entry("/three"))
        ja.flush()
        seen = jb.latest(10)  # b's own pending entry is sent first
        assert sorted((e.path, e.replica) for e in seen) == [
            ("/one", "replica-a"), ("/three", "replica-a"), ("/two", "replica-b")]
        assert seen[0].view()["replica"] in ("replica-a", "replica-b")
        assert seen[0].closest == ("GET /x",)
        for i in range(300):
            ja.add(entry(f"/{i}"))
        ja.flush()
        assert len(ja) < 300  # capped (approximately, as Redis trims whole nodes)
        assert [e.path for e in jb.latest(2)] == ["/299", "/298"]
    finally:
        ja.close()
        jb.close()


def test_a_batch_of_journal_entries_is_one_stream_entry_and_old_rows_still_read(
        replica_pair):
    """One command per flush, not one per request; rows of one entry (field ``e``, as
    earlier versions wrote them) are read beside the batches."""
    from imnot_proxy.replicas.journal import encode

    a = replica_pair()
    key = a.keys.named("journal")
    a.client.xadd(key, {"e": encode(entry("/old"), "replica-old")})
    journal = RedisJournal(a.client, key, "replica-a", store_name=a.name, size=100)
    try:
        for path in ("/one", "/two", "/three"):
            journal.add(entry(path))
        journal.flush()
        assert a.client.xlen(key) == 2  # the old row and one batch
        assert [e.path for e in journal.latest(10)] == ["/three", "/two", "/one", "/old"]
        assert [e.path for e in journal.latest(2)] == ["/three", "/two"]
        assert len(journal) == 4
    finally:
        journal.close()


def test_an_unclaimed_callback_is_delivered_once_by_another_replica(replica_pair, clock):
    a, b = replica_pair(clock=clock), replica_pair(clock=clock)
    qa, qb = CallbackQueue(a), CallbackQueue(b)
    request = a.add_callback("p", "cb", None, "http://127.0.0.1:9/hook", "POST")
    qa.dispatch(DeliveryJob(a, request, retries=1, delay=5.0))  # then replica a dies
    assert qb.claim() == []  # not due yet
    clock.advance(5.0)
    claimed = qb.claim()
    assert [(j["id"], j["retries"]) for j in claimed] == [(request.id, 1)]
    assert qa.claim() == [] and qb.claim() == []  # leased: nobody else takes it
    qb.ack(claimed[0]["member"])
    clock.advance(3600)
    assert qa.claim() == []  # acknowledged: gone for good


def test_a_lease_that_runs_out_is_taken_over(replica_pair, clock):
    a, b = replica_pair(clock=clock), replica_pair(clock=clock)
    qa, qb = CallbackQueue(a), CallbackQueue(b)
    request = a.add_callback("p", "cb", None, "http://127.0.0.1:9/hook", "POST")
    qa.dispatch(DeliveryJob(a, request, retries=0, delay=0.0))
    assert len(qa.claim()) == 1  # a claims, then dies mid-delivery
    clock.advance(lease_seconds(0) - 1)
    assert qb.claim() == []
    clock.advance(2)
    assert [j["id"] for j in qb.claim()] == [request.id]


async def test_the_poller_delivers_each_due_callback_exactly_once(replica_pair):
    delivered: list[str] = []

    async def deliver(store, request, retries):
        delivered.append(request.id)
        return True

    a, b = replica_pair(), replica_pair()
    queues = [CallbackQueue(a, deliver_fn=deliver), CallbackQueue(b, deliver_fn=deliver)]
    tasks: set[asyncio.Task] = set()

    def spawn(coro, name):
        task = asyncio.get_running_loop().create_task(coro, name=name)
        tasks.add(task)
        return task

    pollers = [spawn(q.run(spawn), "poller") for q in queues]
    requests = [a.add_callback("p", "cb", None, "http://127.0.0.1:9/h", "POST")
                for _ in range(20)]
    for i, request in enumerate(requests):
        queues[i % 2].dispatch(DeliveryJob(a, request, retries=0, delay=0.05))
    deadline = time.monotonic() + 5
    while len(delivered) < 20 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)  # one more poll round: nothing is delivered twice
    for task in pollers:
        task.cancel()
    assert sorted(delivered) == sorted(r.id for r in requests)


async def test_a_callback_fault_decided_on_one_replica_is_delivered_as_decided(replica_pair):
    """The accepting replica decides (with the counters all replicas share); the fault
    travels in the queue, so whichever replica claims the callback duplicates or drops it."""
    delivered: list[str] = []

    async def deliver(store, request, retries, shape=None):
        delivered.append(request.id)
        return True

    a, b = replica_pair(), replica_pair()
    qa, qb = CallbackQueue(a, deliver_fn=deliver), CallbackQueue(b, deliver_fn=deliver)
    twice = Injection("callback_duplicate", label="callback duplicate",
                      spec=FAULT.validate_python({"kind": "callback_duplicate", "times": 3}))
    never = Injection("callback_drop", label="callback drop",
                      spec=FAULT.validate_python({"kind": "callback_drop"}))
    dup = a.add_callback("p", "cb", "s1", "http://127.0.0.1:9/h", "POST")
    drop = a.add_callback("p", "cb", "s1", "http://127.0.0.1:9/h", "POST")
    plain = a.add_callback("p", "cb", None, "http://127.0.0.1:9/h", "POST")
    qa.dispatch(DeliveryJob(a, dup, 0, 0.0, fault=lambda p, d, s: twice))
    qa.dispatch(DeliveryJob(a, drop, 0, 0.0, fault=lambda p, d, s: never))
    qa.dispatch(DeliveryJob(a, plain, 0, 0.0, fault=lambda p, d, s: None))
    claimed = {j["id"]: j for j in qb.claim()}  # b takes them all: a never delivers
    assert claimed[dup.id]["lease"] == 3 * lease_seconds(0)
    assert "f" not in claimed[plain.id]
    await asyncio.gather(*(qb._deliver_one(job) for job in claimed.values()))
    assert sorted(delivered) == sorted([dup.id] * 3 + [plain.id])
    assert [d.error for d in b.deliveries(drop.id)] == ["dropped (imnot fault callback drop)"]


def test_a_partner_registered_on_one_replica_is_served_by_the_other_within_1s(
        replica_pair, tmp_path: Path):
    views = []
    for name in ("a", "b"):
        folder = tmp_path / name / "partners"
        folder.mkdir(parents=True)
        store = replica_pair()
        definitions = Definitions([str(folder)], store)
        shared = replicas.Shared(store, name)
        shared.attach(definitions)
        definitions.reload(initial=True)
        views.append((definitions, shared))
    (a, _), (b, _) = views
    started = time.monotonic()
    a.register(HELLO)
    wait_for(lambda: "hello" in [s.name for s in b.current().partners], timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert (tmp_path / "a" / "partners" / "hello" / "partner.yaml").is_file()
    b.unregister("hello")  # deleted where it was not registered: no file there
    wait_for(lambda: "hello" not in [s.name for s in a.current().partners], timeout=1.0)
    a.reload()  # a's own file is gone from disk too (see the tests below)
    assert "hello" not in [s.name for s in a.current().partners]
    for _, shared in views:
        shared.close()


def test_a_restarted_replica_serves_partners_registered_while_it_was_away(
        replica_pair, tmp_path: Path):
    first = replica_pair()
    definitions = Definitions([str(tmp_path / "a")], first)
    (tmp_path / "a").mkdir()
    definitions.share(replicas.Shared(first, "a").partners)
    definitions.reload(initial=True)
    definitions.register(HELLO)
    (tmp_path / "b").mkdir()
    late = Definitions([str(tmp_path / "b")], replica_pair())
    late.share(replicas.Shared(late.store, "b").partners)
    late.reload(initial=True)
    assert [s.name for s in late.current().partners] == ["hello"]


@pytest.fixture
def replicas_on_one_store(replica_pair, tmp_path: Path):
    """``start(name, folder=None)``: a replica following the others, serving its own
    partners directory (``tmp_path/<name>/partners`` unless given)."""
    started = []

    def start(name: str, folder: Path | None = None) -> Definitions:
        folder = folder or tmp_path / name / "partners"
        folder.mkdir(parents=True, exist_ok=True)
        store = replica_pair()
        definitions = Definitions([str(folder)], store)
        shared = replicas.Shared(store, name)
        shared.attach(definitions)
        definitions.reload(initial=True)
        started.append(shared)
        return definitions

    yield start
    for shared in started:
        shared.close()


def names(definitions: Definitions) -> list[str]:
    return [s.name for s in definitions.current().partners]


def test_a_partner_deleted_on_b_loses_its_file_on_the_replica_that_registered_it(
        replicas_on_one_store, tmp_path: Path):
    a, b = replicas_on_one_store("a"), replicas_on_one_store("b")
    a.register(HELLO)
    registered = tmp_path / "a" / "partners" / "hello"
    # generous deadlines: the 1 s guarantee has its own test; this one is about the file
    wait_for(lambda: "hello" in names(b), timeout=5.0)
    b.unregister("hello")
    wait_for(lambda: not registered.exists(), timeout=5.0)  # the file and its folder
    assert "hello" not in names(a)
    assert (tmp_path / "a" / "partners").is_dir()


def test_replicas_sharing_a_partners_directory_do_not_fail_on_a_file_already_gone(
        replicas_on_one_store, tmp_path: Path, caplog):
    folder = tmp_path / "both"
    a, b = replicas_on_one_store("a", folder), replicas_on_one_store("b", folder)
    a.register(HELLO)
    b.reload()  # b serves the file now, not the announcement
    assert [s.file for s in b.current().partners] == [folder / "hello" / "partner.yaml"]
    caplog.set_level("INFO", logger="imnot_proxy")
    a.unregister("hello")  # deletes the file; b then finds it gone
    wait_for(lambda: "hello" not in names(b), timeout=1.0)
    b.reload()
    assert "hello" not in names(b) and not (folder / "hello").exists()
    assert "kept" not in caplog.text and "failed" not in caplog.text


@pytest.mark.parametrize("linked", ["folder", "file", "file inside"])
def test_a_file_reached_through_a_symlink_is_kept(replicas_on_one_store, tmp_path: Path,
                                                   linked: str):
    folder = tmp_path / "a" / "partners"
    original = tmp_path / "outside" / "hello" / "partner.yaml"
    if linked == "file inside":  # inside the partners directory, under a name not loaded
        original = folder / "originals" / "hello.txt"
    original.parent.mkdir(parents=True)
    original.write_text(HELLO)
    folder.mkdir(parents=True, exist_ok=True)
    if linked == "folder":
        (folder / "hello").symlink_to(original.parent, target_is_directory=True)
    else:
        (folder / "hello").mkdir()
        (folder / "hello" / "partner.yaml").symlink_to(original)
    a, b = replicas_on_one_store("a", folder), replicas_on_one_store("b")
    assert "hello" in names(a)
    b.register(HELLO)  # so that b can delete it
    b.unregister("hello")
    wait_for(lambda: "hello" not in names(a), timeout=1.0)
    a.reload()
    assert "hello" not in names(a)
    assert original.read_text() == HELLO
    assert (folder / "hello" / "partner.yaml").is_symlink() or linked == "folder"
    assert (folder / "hello").exists()


def test_a_file_that_no_longer_names_the_deleted_partner_is_kept(replicas_on_one_store,
                                                                  tmp_path: Path):
    a, b = replicas_on_one_store("a"), replicas_on_one_store("b")
    a.register(HELLO)
    wait_for(lambda: "hello" in names(b), timeout=1.0)
    file = tmp_path / "a" / "partners" / "hello" / "partner.yaml"
    other = HELLO.replace("partner: hello", "partner: other").replace("/hello/", "/other/")
    file.write_text(other)  # changed by hand since it was loaded
    b.unregister("hello")
    wait_for(lambda: "hello" not in names(a), timeout=1.0)
    assert file.read_text() == other
    a.reload()
    assert names(a) == ["other"]


def test_a_replica_started_after_a_deletion_removes_its_stale_file_and_keeps_a_newer_one(
        replicas_on_one_store, tmp_path: Path):
    stale = tmp_path / "late" / "partners" / "hello" / "partner.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text(HELLO)  # e.g. a copy of the directory taken before the deletion
    newer = tmp_path / "newer" / "partners" / "hello" / "partner.yaml"
    newer.parent.mkdir(parents=True)
    newer.write_text(HELLO)
    later = time.time() + 60
    os.utime(newer, (later, later))  # put there after the deletion
    flat = tmp_path / "flat" / "partners" / "hello.yaml"  # not where registration writes
    flat.parent.mkdir(parents=True)
    flat.write_text(HELLO)
    a = replicas_on_one_store("a")
    a.register(HELLO)
    a.unregister("hello")
    late = replicas_on_one_store("late")
    assert "hello" not in names(late)
    assert not stale.parent.exists()
    kept = [replicas_on_one_store("newer"), replicas_on_one_store("flat")]
    assert all("hello" not in names(d) for d in kept)
    assert newer.exists() and flat.exists()


def test_sqlite_keeps_everything_in_this_process(tmp_path: Path):
    store = SqliteStore(tmp_path / "x.db")
    local = replicas.for_store(store, "r", lambda job: None)
    assert isinstance(local, replicas.Local) and len(local.journal) == 0
    store.close()


def test_workers_on_one_sqlite_file_share_a_capped_journal(tmp_path: Path):
    from imnot_proxy.replicas.sqlite_journal import SqliteJournal

    store = SqliteStore(tmp_path / "x.db")
    one = replicas.for_store(store, "w1", lambda job: None, 5, shared_journal=True)
    two = SqliteJournal(tmp_path / "x.db", "w2", size=5)
    try:
        assert isinstance(one.journal, SqliteJournal)
        one.journal.add(entry("/from-one"))
        two.add(entry("/from-two"))
        two.flush()
        seen = one.journal.latest(10)
        assert [(e.path, e.replica) for e in seen] == [("/from-one", "w1"), ("/from-two", "w2")]
        for i in range(20):
            two.add(entry(f"/{i}"))
        two.flush()
        assert [e.path for e in one.journal.latest(3)] == ["/19", "/18", "/17"]
        assert len(two) == 5
    finally:
        one.close()
        two.close()
        store.close()
