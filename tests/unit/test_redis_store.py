"""What only the Redis store has: URLs, masked errors, native expiry, a Redis that goes away
and comes back, and one clock for replicas whose own clocks disagree."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_server import RedisServer

from imnot_proxy.errors import StoreError
from imnot_proxy.store import open_store
from imnot_proxy.store.redis import RedisStore, mask, parse


def wait_for(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.mark.parametrize(("url", "masked"), [
    ("redis://:s3cret@h:6379/0", "redis://:****@h:6379/0"),
    ("redis://user:s3cret@h/1?prefix=a", "redis://user:****@h/1?prefix=a"),
    ("rediss://h:6380/0", "rediss://h:6380/0"),
    ("redis://:p%40ss@h:1/0", "redis://:****@h:1/0"),
])
def test_passwords_are_masked(url: str, masked: str):
    assert mask(url) == masked


@pytest.mark.parametrize(("url", "error"), [
    ("redis://", "no host"),
    ("redis://h:99999/0", "Port out of range"),
    ("redis://h:abc/0", "malformed URL"),
    ("redis://h/zero", "database 'zero' must be a number"),
    ("redis://h/0?prefix=a b", "prefix"),
    ("redis://h/0?colour=red", "unknown parameter 'colour'"),
    ("redis://h/0?session_ttl=soon", "session_ttl 'soon'"),
    ("unix://", "socket path"),
])
def test_bad_urls_say_what_is_wrong(url: str, error: str):
    with pytest.raises(ValueError, match=error):
        parse(url)


def test_urls_carry_prefix_and_ttls():
    parsed = parse("redis://h/2?prefix=team-a&session_ttl=2h&id_ttl=90&callback_ttl=0")
    assert (parsed.prefix, parsed.session_ttl, parsed.id_ttl, parsed.callback_ttl) == (
        "team-a", 7200, 90, 0)
    assert parsed.client_url() == "redis://h/2"
    assert parse("unix:///run/r.sock?db=3&prefix=x").client_url() == "unix:///run/r.sock?db=3"


def test_open_store_names_the_url_with_the_password_masked(tmp_path: Path):
    server = RedisServer(tmp_path / "auth", password="right-one", aof=False).start()
    try:
        wrong = f"redis://:wrong-one@127.0.0.1:{server.port}/0"
        with pytest.raises(StoreError) as raised:
            open_store(wrong)
        message = str(raised.value)
        assert f"redis://:****@127.0.0.1:{server.port}/0" in message
        assert "wrong-one" not in message and "\n" not in message
        assert "invalid username-password" in message or "WRONGPASS" in message
        open_store(server.url).close()
    finally:
        server.shutdown()
    with pytest.raises(StoreError, match=r"cannot open store redis://:\*\*\*\*@127.0.0.1"):
        open_store(f"redis://:x@127.0.0.1:{server.port}/0")  # nobody listens now
    with pytest.raises(StoreError, match="unknown scheme 'memcached'"):
        open_store("memcached://h/0")


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "own").start()
    yield server
    server.shutdown()


def test_a_redis_that_goes_away_is_a_store_error_and_comes_back_by_itself(own_server):
    store = RedisStore(parse(own_server.url))
    other = RedisStore(parse(own_server.url))
    try:
        store.put_global("p", "d", b'{"v":1}')
        assert store.get_global("p", "d").body == b'{"v":1}'  # cached from here on
        own_server.stop()
        with pytest.raises(StoreError, match=f"127.0.0.1:{own_server.port}"):
            store.issue_id("p", "d", None)
        wait_for(lambda: not store.cache.enabled)  # off while nothing can invalidate it
        with pytest.raises(StoreError, match="unreachable"):
            store.get_global("p", "d")
        own_server.start()  # with its append-only file: nothing acknowledged is lost

        def served() -> bool:
            try:
                return store.get_global("p", "d").body == b'{"v":1}'
            except StoreError:
                return False

        wait_for(served)
        wait_for(lambda: store.cache.enabled)
        other.put_global("p", "d", b'{"v":2}')
        wait_for(lambda: store.get_global("p", "d").body == b'{"v":2}', timeout=0.1)
    finally:
        store.close()
        other.close()


def test_sessions_ids_and_callbacks_expire_natively(redis_server):
    url = parse(f"{redis_server.url}?prefix=ttl-{uuid.uuid4().hex[:6]}&session_ttl=1&id_ttl=1"
                "&callback_ttl=1")
    store = RedisStore(url)
    try:
        sid = store.create_session("p", "d", b"1")
        issued = store.issue_id("p", "d", sid)
        callback = store.add_callback("p", "d", sid, "http://127.0.0.1/x", "POST")
        assert store.count_sessions() == 1
        wait_for(lambda: store.get_session(sid) is None and store.get_id("p", "d", issued.id)
                 is None and store.get_callback("p", "d", callback.id) is None)
        assert store.count_sessions() == 0 and store.list_sessions() == []
    finally:
        store.close()


def test_replicas_with_skewed_clocks_time_flows_by_redis(redis_server, monkeypatch):
    store = RedisStore(parse(f"{redis_server.url}?prefix=clock-{uuid.uuid4().hex[:6]}"))
    try:
        true_now = store.now()
        monkeypatch.setattr(time, "time", lambda: true_now + 3600.0)  # this host is an hour fast
        store._set_offset(store._measure_offset())
        assert abs(store.now() - true_now) < 1.0
        issued = store.issue_id("p", "d", None)
        assert abs(issued.created - true_now) < 1.0
    finally:
        store.close()


def test_without_redis_server_the_tests_skip_with_a_hint_or_fail_in_ci(monkeypatch):
    import shutil

    import redis_server

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("IMNOT_REQUIRE_REDIS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install redis-server"):
        redis_server.require_redis_server()
    monkeypatch.setenv("IMNOT_REQUIRE_REDIS", "1")
    with pytest.raises(pytest.fail.Exception, match="IMNOT_REQUIRE_REDIS=1"):
        redis_server.require_redis_server()


def test_out_of_memory_and_read_only_are_store_errors_and_write_nothing(own_server):
    store = RedisStore(parse(own_server.url))
    try:
        store.put_global("p", "d", b'{"v":1}')
        issued = store.issue_id("p", "d", None)
        own_server.cli("CONFIG", "SET", "maxmemory-policy", "noeviction")
        own_server.cli("CONFIG", "SET", "maxmemory", "1")  # already over: writes are refused
        with pytest.raises(StoreError, match="refused the operation: .*maxmemory"):
            store.put_global("p", "d", b'{"v":2}')
        with pytest.raises(StoreError, match="maxmemory"):
            store.create_session("p", "d", b"1")
        own_server.cli("CONFIG", "SET", "maxmemory", "0")
        assert store.get_global("p", "d").body == b'{"v":1}'  # nothing half-written
        assert store.list_sessions() == []

        own_server.cli("REPLICAOF", "127.0.0.1", "1")  # a read-only replica of nobody
        with pytest.raises(StoreError, match="read only replica"):
            store.issue_id("p", "d", None)
        assert store.get_id("p", "d", issued.id).id == issued.id  # reads still work
        own_server.cli("REPLICAOF", "NO", "ONE")
        assert store.issue_id("p", "d", None).id
    finally:
        store.close()


def test_health_says_when_redis_is_unreachable_with_at_most_one_ping_a_second(own_server):
    store = RedisStore(parse(own_server.url))
    pings = []
    real_ping = store.client.ping
    store.client.ping = lambda: pings.append(1) or real_ping()
    try:
        assert store.health() is None and store.health() is None
        assert len(pings) == 1  # the answer is kept a second
        own_server.stop()
        problem = wait_for(store.health, timeout=5)
        assert str(problem).startswith(f"store {store.name} is unreachable")
        assert problem.store == store.name
        own_server.start()
        wait_for(lambda: store.health() is None, timeout=10)
    finally:
        store.close()


OOM = "command not allowed when used memory > 'maxmemory'."


def test_a_refused_write_says_why_and_never_what_was_written(own_server):
    """redis-py quotes a pipeline's failed command, payload included; our errors do not."""
    from imnot_proxy.journal import JournalEntry
    from imnot_proxy.replicas.journal import RedisJournal

    store = RedisStore(parse(own_server.url))
    journal = RedisJournal(store.client, "imnot:journal", "r1", store_name=store.name)
    session = store.create_session("p", "d", b"{}")
    try:
        own_server.cli("CONFIG", "SET", "maxmemory-policy", "noeviction")
        own_server.cli("CONFIG", "SET", "maxmemory", "1")
        refused = f"store {store.name} refused the operation: {OOM}"
        writes = {  # each a pipeline or MULTI of its own
            "create_session": lambda: store.create_session("p", "d", b'{"oom":1}'),
            "delete_session": lambda: store.delete_session(session),
            "log_delivery": lambda: store.log_delivery("oom-req", 1, 500, '{"oom":1}'),
            "delete_fault": lambda: store.delete_fault("oom-fault"),
        }
        for name, write in writes.items():
            with pytest.raises(StoreError) as raised:
                write()
            assert str(raised.value) == refused, name
        journal.add(JournalEntry(at=0.0, kind="mock", method="POST", scheme="http", host="h",
                                 port=80, path="/oom/secret-path", status=200, seconds=0.0))
        with pytest.raises(StoreError) as raised:
            journal.latest(5)
        assert str(raised.value) == f"store {store.name} is unreachable: {OOM}"
    finally:
        own_server.cli("CONFIG", "SET", "maxmemory", "0")
        journal.close()
        store.close()


@pytest.mark.parametrize("text", [
    "Command # 1 (HSET {aud}:ss:1 body {\"oom\":1}) of pipeline caused error: " + OOM,
    "Command # 2 (HSET k body x\ny of pipeline caused error: z) of pipeline caused error: " + OOM,
])
def test_the_reason_of_a_pipeline_error_leaves_its_command_out(text: str):
    from redis.exceptions import OutOfMemoryError

    from imnot_proxy.store.redis.reasons import reason

    assert reason(OutOfMemoryError(text)) == OOM
    assert reason(OutOfMemoryError(OOM + "\nmore")) == OOM


def test_the_offline_cli_names_an_unreachable_store_in_one_line(capsys, partners_dir: Path):
    from imnot_proxy.cli import main

    with pytest.raises(SystemExit) as raised:
        main(["payload", "get", "staylink", "reservation", "--partners", str(partners_dir),
              "--db", "redis://:pw@127.0.0.1:1/0"])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert "cannot open store redis://:****@127.0.0.1:1/0" in err and ":pw@" not in err
