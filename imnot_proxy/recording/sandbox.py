"""The drift check offline: a recording's client requests sent, in order, to a running
partner (a sandbox) and to the mock, and the two answers compared per endpoint.

Three parties: the recording says which requests to send; the sandbox and the mock
each give out their own ids, so each side has its own ``IdMap`` from the
recorded ids (learnt by comparing its answer with the recorded one), and every
request reaches each side with that side's ids. The mock runs in-process over a
scratch store (``replay.MockSide``) on the wall clock, as the sandbox does. How
requests are sent is the caller's (``send``), so this module does no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from ..loader import PartnerSource
from .compare import Ignore, Observed
from .drift import DriftReport
from .evidence import Proposals
from .exchange import Exchange, Pairs
from .idmap import IdMap, later_use
from .replay import MockSide, callback_deliveries, label, not_replayed

Send = Callable[[str, str, Pairs, bytes], Observed]  # method, url, headers, body
DROPPED = frozenset({"host", "content-length", "connection", "transfer-encoding",
                     "accept-encoding", "proxy-authorization", "proxy-connection", "keep-alive",
                     "te", "upgrade", "x-imnot-session"})


@dataclass
class Verified:
    report: DriftReport
    skipped: list[str] = field(default_factory=list)  # "flow 3 GET /x: why"
    sent: int = 0
    proposals: Proposals = field(default_factory=Proposals)  # the answers behind the drift


def rebase(url: str, base: str) -> str:
    """The recorded URL on the sandbox: its scheme and host, its path as a prefix."""
    target, parts = urlsplit(base), urlsplit(url)
    prefix = target.path.rstrip("/")
    return urlunsplit((target.scheme, target.netloc, prefix + (parts.path or "/"), parts.query,
                       ""))


def outgoing(headers: Pairs, extra: Sequence[tuple[str, str]]) -> Pairs:
    """Recorded headers minus transport ones, with ``extra`` replacing same-named ones (a
    credential the recording holds only redacted)."""
    replaced = {k.lower() for k, _ in extra}
    kept = tuple((k, v) for k, v in headers
                 if k.lower() not in DROPPED and k.lower() not in replaced)
    return kept + tuple(extra)


def verify_recording(exchanges: Sequence[Exchange], sources: Sequence[PartnerSource],
                     base: str, send: Send, *, ignore: Ignore,
                     hosts: Sequence[str] = (),
                     headers: Sequence[tuple[str, str]] = (),
                     clock: Callable[[], float] = time.time) -> Verified:
    exchanges = list(exchanges)
    host_filter = [h.strip().lower() for h in hosts if h.strip()]
    deliveries = callback_deliveries(exchanges)
    later = later_use(exchanges)
    real_ids, mock_ids = IdMap(), IdMap()
    done = Verified(DriftReport(ignore))
    with MockSide(sources) as mock:
        for i, ex in enumerate(exchanges):
            why = not_replayed(i, ex, host_filter, deliveries)
            if why is None:
                mock.now = clock()
                url, pairs, body = mock_ids.request(ex)
                answered = mock.answer(ex.method, url, pairs, body)
                why = answered.skipped
            if why is not None:
                done.skipped.append(f"flow {i + 1} {label(ex)}: {why}")
                continue
            url, pairs, body = real_ids.request(ex)
            real = send(ex.method, rebase(url, base), outgoing(pairs, headers), body)
            done.sent += 1
            recorded = Observed(ex.status, ex.response_headers, ex.response_body)
            known_real, known_mock = set(real_ids.values), set(mock_ids.values)
            real_ids.learn(recorded, real, later(i))
            mock_ids.learn(recorded, answered.observed, later(i))  # type: ignore[arg-type]
            new = {real_ids.values[k]: mock_ids.values[k] for k in real_ids.values
                   if k in mock_ids.values and (k not in known_real or k not in known_mock)}
            found = done.report.add(answered.endpoint, real, answered.observed,  # type: ignore[arg-type]
                                    series=answered.series, new_ids=new,
                                    real_ids=tuple(real_ids.values.values()),
                                    mock_ids=tuple(mock_ids.values.values()))
            if found and real.status is not None:
                real_id = next(iter(new), None) or _real_id(answered.series, real_ids, mock_ids)
                done.proposals.add(answered.endpoint, Exchange(
                    clock(), ex.method, url, pairs, body, real.status, real.headers, real.body),
                    found, real_id=real_id, mock_status=answered.observed.status)  # type: ignore[union-attr]
    return done


def _real_id(series: str | None, real_ids: IdMap, mock_ids: IdMap) -> str | None:
    """The real partner's id for the mock's id ``series`` (both learnt from one recorded id)."""
    if series is None:
        return None
    recorded = next((k for k, v in mock_ids.values.items() if v == series), None)
    return real_ids.values.get(recorded) if recorded is not None else None
