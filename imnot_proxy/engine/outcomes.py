"""What the engine decides for one request, and the policy it decides by.

``Engine.handle`` returns exactly one outcome; the addon only turns it back into
a flow: answer it (``Mocked``, ``Unmatched``, ``Admin``), send it on untouched
(``Forward``), send it on and keep a copy (``Record``), or send it on and compare the
real answer with the mock's (``Verify``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..messages import MockResponse
from ..routing import Miss, Route

if TYPE_CHECKING:
    from .faults import Injection


@dataclass(frozen=True)
class Policy:
    """The options that steer the decision (see ``settings.OPTIONS``)."""

    admin_host: str = "imnot.proxy"
    unmatched: str = "404"  # 404 | passthrough | record
    mode: str = "mock"  # mock | record | verify (a partner's own ``mode:`` wins)
    record_hosts: tuple[str, ...] = ()  # exact names or *.suffix
    verify_hosts: tuple[str, ...] = ()  # partner hosts verified whatever the modes say

    def records_host(self, host: str) -> bool:
        return _named(host, self.record_hosts)

    def verifies_host(self, host: str) -> bool:
        return _named(host, self.verify_hosts)


def _named(host: str, hosts: tuple[str, ...]) -> bool:
    return any(host == h or (h.startswith("*.") and host.endswith(h[1:])) for h in hosts)


@dataclass(frozen=True)
class Admin:
    """For the admin API (admin host, or an admin path sent straight to the proxy port)."""


@dataclass(frozen=True)
class Mocked:
    """A partner route answered; ``route.endpoint`` is the endpoint that answered.

    ``fault``: what to do to the answer (``engine/faults.py``); when it replaces the answer
    (a status, a reset...) the pattern did not run and ``response`` is the status fault's
    answer, or an empty 0 that is never sent."""

    route: Route
    response: MockResponse
    params: dict[str, str] = field(default_factory=dict)
    fault: Injection | None = None


@dataclass(frozen=True)
class Unmatched:
    """A partner host (or a direct request) with no route: a 404/405 naming the closest."""

    miss: Miss
    response: MockResponse
    reason: str | None = None  # why no endpoint on a matched path answered (their when:)
    partner: str | None = None  # whose path it was, when one partner's


@dataclass(frozen=True)
class Forward:
    """Sent upstream untouched; ``partner_host`` when a partner names the host (journalled).
    ``fault``: a fault set at run time for that partner (``partner``)."""

    partner_host: bool = False
    fault: Injection | None = None
    partner: str | None = None


@dataclass(frozen=True)
class Record:
    """Sent upstream and recorded under ``partner`` (for a record host that no partner
    file names, a name made from the host)."""

    partner: str
    host: str
    fault: Injection | None = None


@dataclass(frozen=True)
class Verify:
    """Sent upstream; what the mock would have answered is worked out beside it, and the
    two answers compared (the drift check)."""

    partner: str
    host: str


@functools.lru_cache(maxsize=1024)
def partner_name_for(host: str) -> str:
    """A partner name for a host recorded before any YAML names it."""
    return re.sub(r"[^a-z0-9_-]+", "-", host.lower()).strip("-")[:64] or "partner"


ADMIN = Admin()
FORWARD = Forward(False)
FORWARD_PARTNER = Forward(True)
Outcome = Admin | Mocked | Unmatched | Forward | Record | Verify
