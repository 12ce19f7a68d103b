"""SqliteStore against the backend-agnostic contract, plus what only SQLite has."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from store_contract import StoreContract, body

from imnot_proxy.errors import StoreError
from imnot_proxy.store import SqliteStore, Store, open_store
from imnot_proxy.store.redis import RedisStore
from imnot_proxy.store.redis import url as redis_url
from imnot_proxy.store.sqlite import MIGRATIONS


class TestStore(StoreContract):
    """The contract, run against every backend: SQLite and a real redis-server."""

    @pytest.fixture(params=["sqlite", "redis"])
    def reopen(self, request, tmp_path: Path, clock) -> Callable[[], Store]:
        if request.param == "sqlite":
            return lambda: SqliteStore(tmp_path / "imnot.db", clock=clock)
        server = request.getfixturevalue("redis_server")
        url = redis_url.parse(f"{server.url}?prefix=t-{uuid.uuid4().hex[:12]}")
        return lambda: RedisStore(url, clock=clock)

    @pytest.fixture
    def store(self, reopen) -> Iterator[Store]:
        opened = reopen()
        yield opened
        opened.close()


def test_file_is_in_wal_mode_and_migrated(store: SqliteStore):
    db = sqlite3.connect(store.path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        db.close()


def test_a_version_2_file_is_migrated_keeping_its_payloads_and_sessions(tmp_path: Path, clock):
    db = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:2], start=1):
        db.executescript(f"BEGIN; {script}; PRAGMA user_version={number}; COMMIT;")
    db.execute("INSERT INTO global_payloads VALUES ('p','d',?, 'then', NULL)", (b'{"a":1}',))
    db.execute("INSERT INTO sessions VALUES ('s1','p','d',?, 'then', NULL, 'failed')",
               (b"[1]",))
    db.close()
    store = SqliteStore(tmp_path / "old.db", clock=clock)
    try:
        payload = store.get_global("p", "d")
        assert (payload.body, payload.content_type, payload.name) == (
            b'{"a":1}', "application/json", "")
        assert store.session_payload("s1", "p", "d").outcome == "failed"
    finally:
        store.close()


def test_a_version_4_file_gets_the_fault_tables_as_migration_5(tmp_path: Path, clock):
    """A file made before faults (main's numbering up to 4, written by hand here as that
    version's code wrote it) migrates in order and keeps everything; the faults come last."""
    assert "CREATE TABLE faults" in MIGRATIONS[4] and len(MIGRATIONS) == 5
    db = sqlite3.connect(tmp_path / "v4.db", isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:4], start=1):
        db.executescript(f"BEGIN; {script}; PRAGMA user_version={number}; COMMIT;")
    db.execute("INSERT INTO global_payloads (partner, datapoint, name, payload, updated_at) "
               "VALUES ('p','d','big',?, 'then')", (b'{"a":1}',))
    db.execute("INSERT INTO session_payloads (session_id, partner, datapoint, payload, "
               "updated_at) VALUES ('s1','p','other',?, 'then')", (b"[2]",))
    db.execute("INSERT INTO sequences VALUES ('n', 7)")
    db.close()
    store = SqliteStore(tmp_path / "v4.db", clock=clock)
    try:
        assert store.get_global("p", "d", "big").body == b'{"a":1}'
        assert store.next_sequence("n") == 8
        fault = store.add_fault("p", "s1", b'{"kind":"reset"}', None)
        assert store.active_faults() == (fault,)
    finally:
        store.close()
    db = sqlite3.connect(tmp_path / "v4.db")
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 5
        (rows,) = db.execute("SELECT count(*) FROM session_payloads").fetchone()
        assert rows == 1
    finally:
        db.close()


def test_reopening_does_not_migrate_twice(tmp_path: Path, clock):
    SqliteStore(tmp_path / "x.db", clock=clock).close()
    again = SqliteStore(tmp_path / "x.db", clock=clock)  # a second CREATE TABLE would raise
    again.put_global("p", "d", body(1))
    assert again.get_global("p", "d").body == b"1"
    again.close()


def test_creates_missing_parent_folders(tmp_path: Path):
    opened = SqliteStore(tmp_path / "a" / "b" / "imnot.db")
    assert (tmp_path / "a" / "b" / "imnot.db").is_file()
    opened.close()


def test_unusable_file_is_a_store_error(tmp_path: Path):
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match="cannot open store"):
        SqliteStore(tmp_path / "dir.db")


@pytest.mark.parametrize("url", ["sqlite:///{tmp}/u.db", "{tmp}/u.db"])
def test_open_store_by_path_or_url(tmp_path: Path, url: str):
    opened = open_store(url.format(tmp=tmp_path))
    assert isinstance(opened, SqliteStore)
    assert opened.path == tmp_path / "u.db"
    opened.close()


def test_open_store_rejects_other_schemes():
    with pytest.raises(StoreError, match=r"cannot open store ftp://x/y: unknown scheme 'ftp'"):
        open_store("ftp://x/y")


@pytest.mark.parametrize("url", ["mongodb://h/0", "redis://127.0.0.1:notaport/0", "redis:///0",
                                 "redis://h/0?session_ttl=soon", "redis://h/zero"])
def test_a_bad_store_url_gives_one_piece_of_advice(url: str):
    with pytest.raises(StoreError) as raised:
        open_store(url)
    assert str(raised.value).count("use ") <= 1, str(raised.value)
    if url.startswith("mongodb"):
        assert str(raised.value) == (
            "cannot open store mongodb://h/0: unknown scheme 'mongodb'; use a path, "
            "sqlite:///path, redis://[:password@]host:port/db, rediss://… or unix://…")


def test_session_reads_are_cached_but_see_another_process_deleting(tmp_path: Path, clock):
    a = SqliteStore(tmp_path / "shared.db", clock=clock)
    b = SqliteStore(tmp_path / "shared.db", clock=clock)
    sid = a.create_session("p", "d", body({"v": 1}))
    assert b.session_payload(sid, "p", "d").body == b'{"v":1}'
    assert b.session_payload(sid, "p", "other") is None  # scoped even when cached
    a.delete_session(sid)
    assert b.session_payload(sid, "p", "d") is None
    a.close()
    b.close()


def test_last_used_is_written_at_most_once_a_second_per_session(store: SqliteStore, clock):
    sid = store.create_session("p", "d", body(1))
    store.session_payload(sid, "p", "d")
    first = store.get_session(sid).last_used
    clock.advance(0.5)
    store.session_payload(sid, "p", "d")
    assert store.get_session(sid).last_used == first
    clock.advance(1.0)
    store.session_payload(sid, "p", "d")
    assert store.get_session(sid).last_used is not None


def test_processes_opening_a_new_store_file_at_once_all_open_it(tmp_path):
    """Workers or replicas on one host open a new file together; SQLite refuses the second
    switch to WAL at once ("database is locked", no busy wait), so the store asks again."""
    import threading

    from imnot_proxy.store.sqlite import SqliteStore

    for round_ in range(60):
        path = tmp_path / f"new-{round_}.db"
        barrier, errors = threading.Barrier(8), []

        def open_it(path=path, barrier=barrier, errors=errors):
            barrier.wait()
            try:
                SqliteStore(path).close()
            except Exception as exc:  # the failure this test is about
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == [], errors
