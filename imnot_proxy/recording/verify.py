"""Verify mode in a running proxy: each request goes to the real partner, and what the mock
would have answered is worked out beside it and compared (the drift report).

The mock side is an engine over the same partner definitions and a
``ScratchStore``: it answers from the uploaded payloads and sessions, but the ids
it issues, the polls it counts and the cursors it makes stay in memory, so
verifying never changes what the mock answers afterwards. Ids the real partner
gives out are paired with the mock's (``IdMap``), so that the client's next call
with the real id reaches the mock with the mock's id. Nothing here touches
mitmproxy: the addon hands over ``RequestView`` values and ``Observed`` answers.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from ..engine import Engine, EngineSettings, Mocked, Unmatched
from ..messages import RequestView
from ..store import SqliteStore
from ..store.scratch import ScratchStore
from .capture import Captured, exchange, response
from .compare import Difference, Observed
from .drift import DriftReport, volatile
from .evidence import Proposals
from .exchange import Exchange
from .idmap import IdMap
from .infer.ids import id_kind
from .propose import propose
from .redact import Redactor
from .replay import observed_of, request_view

MAX_IDS = 10_000  # id pairs kept per partner; the oldest go first


@dataclass(frozen=True)
class Pending:
    """The mock's side of one request, waiting for the real answer."""

    partner: str
    endpoint: str
    mock: Observed
    series: str | None  # the mock id the request was about, when it was about one


def looks_like_id(value: str) -> bool:
    """Ids given out live are paired by shape: the rest of the traffic is not known yet."""
    return bool(id_kind(value)) or (len(value) >= 8 and any(c.isdigit() for c in value))


class VerifySide:
    def __init__(self, ignore: tuple[str, ...] = ()):
        self.report = DriftReport(volatile(ignore))
        self.proposals = Proposals()  # the real answers behind the drift, for the patch
        self._redact: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        self.patch: Path | None = None  # the patch proposal last written
        self.run = time.strftime("%Y%m%d-%H%M%S")
        self._ids: dict[str, IdMap] = {}
        self._built_from: Engine | None = None
        self._mock: Engine | None = None
        self._waiting: dict[str, Pending] = {}  # flow id -> the mock's answer

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def begin(self, key: str, engine: Engine, partner: str, view: RequestView) -> None:
        """Work out the mock's answer to a request now going to the real partner."""
        self._waiting[key] = self.mock_answer(engine, partner, view)

    def finish(self, key: str, real: Captured) -> list[Difference] | None:
        """The real answer arrived (or the request failed): compare; None when ``key`` was
        not being verified."""
        pending = self._waiting.pop(key, None)
        if pending is None:
            return None
        return self.observe(pending, Observed(*response(real)), lambda: exchange(real))

    def configure(self, ignore: tuple[str, ...], redact_headers: tuple[str, ...] = (),
                  redact_fields: tuple[str, ...] = ()) -> None:
        """Fields left out of the comparison, and names redacted beyond the defaults (as in
        recordings); a change starts a new report."""
        ignored = volatile(ignore)
        redact = (tuple(redact_headers), tuple(redact_fields))
        if ignored != self.report.ignore or redact != self._redact:
            redactor = Redactor.default(*redact)
            self.report = DriftReport(ignored, redactor)
            self.proposals = Proposals(redactor)
            self._redact = redact

    def mock_answer(self, engine: Engine, partner: str, view: RequestView) -> Pending:
        """What the mock answers to this request, on the scratch state."""
        mock = self._engine(engine)
        ids = self._ids.get(partner)
        if ids:
            view = _rewritten(view, ids)
        outcome = mock.handle(view)
        if isinstance(outcome, Mocked):
            route = outcome.route
            return Pending(partner, f"{route.owner} {route.method} {route.path}",
                           observed_of(outcome.response), outcome.params.get("id"))
        if isinstance(outcome, Unmatched):
            return Pending(partner, f"{partner} (no route) {view.method} {view.path}",
                           observed_of(outcome.response), None)
        return Pending(partner, f"{partner} (not mocked) {view.method} {view.path}",
                       Observed(None), None)

    def observe(self, pending: Pending, real: Observed,
                evidence: Callable[[], Exchange] | None = None) -> list[Difference]:
        """Compare the real answer with the mock's and add it to the report; where they
        differ, ``evidence`` (the exchange with the real partner) is kept for the patch
        proposal."""
        ids = self._ids.setdefault(pending.partner, IdMap())
        known = len(ids.values)
        ids.learn(real, pending.mock, looks_like_id)
        new = dict(list(ids.values.items())[known:])
        if len(ids.values) > MAX_IDS:
            for old in list(ids.values)[:len(ids.values) - MAX_IDS]:
                del ids.values[old]
        found = self.report.add(pending.endpoint, real, pending.mock, series=pending.series,
                                new_ids=new, real_ids=tuple(ids.values),
                                mock_ids=tuple(ids.values.values()))
        if found and evidence is not None and real.status is not None:
            real_id = next(iter(new), None) or next(
                (k for k, v in ids.values.items() if v == pending.series), None)
            self.proposals.add(pending.endpoint, evidence, found, real_id=real_id,
                               mock_status=pending.mock.status, answer=real)
        return found

    def save(self, directory: Path) -> Path | None:
        """The report as JSON in ``directory`` (replaced atomically), and beside it the patch
        proposal (``drift-<run>.patch``, ``patch``) when there is a change to propose; None
        when nothing was verified."""
        if not self.report.endpoints:
            return None
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"drift-{self.run}.json"
        _write(path, json.dumps(self.report.view(), indent=2, ensure_ascii=False) + "\n")
        sources = self._built_from.partners if self._built_from is not None else []
        proposal = propose(self.report, self.proposals, sources) if sources else None
        self.patch = path.with_suffix(".patch") if proposal else None
        if proposal:
            _write(path.with_suffix(".patch"), proposal.diff())
        return path

    def _engine(self, engine: Engine) -> Engine:
        """The mock-side engine for these definitions, built again when they change."""
        if self._mock is None or self._built_from is not engine:
            if self._mock is not None:
                self._mock.store.close()
            sources = [replace(s, model=s.model.model_copy(update={"mode": None}))
                       for s in engine.partners]
            scratch = ScratchStore(engine.store, SqliteStore(Path(":memory:")))
            s = engine.settings
            self._mock = Engine(sources, scratch, EngineSettings(
                default_limit=s.default_limit, callback_allowed=s.callback_allowed,
                clock=s.clock, faults=False))  # no dispatch: the mock side never delivers a
            # callback; no faults: the partner's own answers are compared with the mock's
            self._built_from = engine
        return self._mock

    def close(self) -> None:
        if self._mock is not None:
            self._mock.store.close()
            self._mock = None
            self._built_from = None


def _write(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def _rewritten(view: RequestView, ids: IdMap) -> RequestView:
    """The request with the real ids the client sends replaced by the mock's."""
    pairs = _pairs(view.headers)
    port = "" if view.port in (80, 443) else f":{view.port}"
    url = f"{view.scheme}://{view.host}{port}{view.path}" + (
        f"?{view.query_string}" if view.query_string else "")
    new_url, headers, body = ids.request(Exchange(0.0, view.method, url, pairs, view.body))
    if (new_url, headers, body) == (url, pairs, view.body):
        return view
    rebuilt = request_view(view.method, new_url, headers, body, view.direct)
    parts = urlsplit(new_url)
    return replace(rebuilt, port=view.port, scheme=view.scheme, session=view.session,
                   host=view.host, path=parts.path or "/")


def _pairs(headers: object) -> tuple[tuple[str, str], ...]:
    """Header pairs of mitmproxy's ``Headers`` (repeats kept) or of a plain mapping."""
    try:
        return tuple(headers.items(multi=True))  # type: ignore[attr-defined]
    except TypeError:
        return tuple(headers.items())  # type: ignore[attr-defined]
