"""The store ``imnot_db`` names and what is built on it: what replicas share
(``replicas``), the partner definitions and the admin API; and the engine settings that
come from both."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

from mitmproxy import exceptions

from . import replicas
from .admin import AdminApi, AdminService
from .definitions import Definitions
from .engine import Engine, EngineSettings, Policy
from .engine.callback import callback_refusal
from .errors import StoreError
from .settings import Settings
from .store import Store, open_store
from .tasks import Tasks, loop_running
from .yamlsafe import Limits


class StoreOptionsError(exceptions.OptionsError):
    """The store cannot be opened (bad URL, wrong password, unreachable): exit code 2."""


class Built(NamedTuple):
    replication: replicas.Local | replicas.Shared
    definitions: Definitions
    admin: AdminApi


def open_store_option(settings: Settings) -> Store:
    try:
        return open_store(settings.db)
    except (StoreError, ValueError) as exc:
        raise StoreOptionsError(f"Cannot open imnot_db: {exc}") from None


def build_on(store: Store, settings: Settings, tasks: Tasks, *,
             admin_key: Callable[[], str | None],
             on_swap: Callable[[Engine], None]) -> Built:
    """Replication, definitions and admin API over a newly opened store."""
    replication = replicas.for_store(store, settings.replica, tasks.dispatch,
                                     settings.journal_size,
                                     shared_journal=settings.shared_journal)
    definitions = Definitions(settings.partners, store,
                              limits=Limits(max_bytes=settings.max_partner_bytes))
    definitions.on_swap(on_swap)
    replication.attach(definitions)
    if loop_running():
        replication.start(tasks.spawn)
    admin = AdminApi(AdminService(
        definitions, store, journal=replication.journal, dispatch=replication.dispatch,
        admin_key=admin_key, max_payload_bytes=settings.max_payload_bytes))
    return Built(replication, definitions, admin)


def engine_settings(settings: Settings, policy: Policy,
                    replication: replicas.Local | replicas.Shared, store: Store) -> EngineSettings:
    return EngineSettings(
        default_limit=settings.default_limit, dispatch=replication.dispatch, clock=store.now,
        callback_allowed=functools.partial(callback_refusal, allow=settings.callback_allow),
        policy=policy)
