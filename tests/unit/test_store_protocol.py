"""Every store implements the whole ``Store`` protocol with the protocol's signatures, so a
method added to the protocol cannot be forgotten in one backend (or in the scratch store of
verify mode, which wraps the others)."""

from __future__ import annotations

import inspect

import pytest

from imnot_proxy.store.base import Store
from imnot_proxy.store.scratch import ScratchStore
from imnot_proxy.store.sqlite import SqliteStore

redis_store = pytest.importorskip("imnot_proxy.store.redis.store")

MEMBERS = sorted(name for name in dir(Store) if not name.startswith("_"))


@pytest.mark.parametrize("store", [SqliteStore, redis_store.RedisStore, ScratchStore],
                         ids=lambda c: c.__name__)
@pytest.mark.parametrize("member", MEMBERS)
def test_each_store_has_each_member_with_the_protocols_signature(store, member):
    assert hasattr(store, member), f"{store.__name__} has no {member}"
    wanted = getattr(Store, member)
    if callable(wanted):
        assert inspect.signature(getattr(store, member)) == inspect.signature(wanted)
