"""ScratchStore: the Store contract over two files, and state changes that never reach the
real store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from store_contract import StoreContract, body

from imnot_proxy.store import SqliteStore
from imnot_proxy.store.scratch import ScratchStore


def pair(tmp_path: Path, clock) -> ScratchStore:
    return ScratchStore(SqliteStore(tmp_path / "real.db", clock=clock),
                        SqliteStore(tmp_path / "scratch.db", clock=clock))


class TestScratchStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path, clock) -> Iterator[ScratchStore]:
        opened = pair(tmp_path, clock)
        yield opened
        opened.close()
        opened.real.close()

    @pytest.fixture
    def reopen(self, tmp_path: Path, clock) -> Callable[[], ScratchStore]:
        return lambda: pair(tmp_path, clock)

    def test_last_used_stamped_only_when_the_session_payload_is_used(self, store):
        """The one difference on purpose: the drift check's reads are not uses."""
        sid = store.create_session("p", "d", body(1))
        assert store.session_payload(sid, "p", "d").body == body(1)
        assert store.get_session(sid).last_used is None

    def test_reading_without_touch_leaves_last_used(self, store):
        sid = store.open_session()
        store.put_session_payload(sid, "p", "d", body(1))
        assert store.session_payload(sid, "p", "d", touch=False).body == body(1)
        assert store.session_payload(sid, "p", "d").body == body(1)
        assert store.get_session(sid).last_used is None


def test_request_state_stays_in_the_scratch_store(tmp_path: Path, clock) -> None:
    real = SqliteStore(tmp_path / "real.db", clock=clock)
    scratch = ScratchStore(real, SqliteStore(Path(":memory:"), clock=clock))
    real.put_global("p", "jobs", body({"rows": []}))
    session = real.create_session("p", "jobs", body({"rows": [1]}))
    before = real.get_session(session)
    issued = scratch.issue_id("p", "jobs", None)
    assert scratch.count_poll("p", "jobs", issued.id) is not None
    cursor = scratch.add_cursor("p", "list", None, 10, 60)
    scratch.take_token("p/jobs/GET /x", 1)
    assert scratch.get_global("p", "jobs").body == body({"rows": []})
    assert scratch.session_payload(session, "p", "jobs").body == body({"rows": [1]})
    assert scratch.session_payload(session, "p", "other") is None
    assert real.get_id("p", "jobs", issued.id) is None
    assert real.get_cursor("p", "list", None, cursor) is None
    assert real.take_token("p/jobs/GET /x", 1) == 0  # the real bucket is still full
    assert real.get_session(session) == before  # no last_used stamp either
    scratch.close()
    real.close()
