"""The replay check: a recording's client requests, replayed in order against a partner's
mock, each answer compared with the recorded one.

The mock runs in-process: an ``Engine`` over a scratch SQLite store in memory,
seeded with the partner's payloads, whose clock is set to each recorded
request's time moved by ``clocked.SHIFT`` (so ``seconds`` limits and polls behave
as they did, and an answer must write the time it is replayed at where the recorded
one wrote the time it was recorded at). Ids the mock
gives out replace the recorded ones in later requests (``IdMap``). Requests the
partner did not receive are skipped, with the reason: failed exchanges, hosts the
partner does not serve, and the partner's own calls to a callback URL. Besides
shapes, an answer must carry the ids the mock gave out and the values the client
sent where the recorded one did (``echoes``), and its own moment where the recorded one
carried the recording's (``clocked``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from ..engine import Engine, EngineSettings, Forward, Mocked, Unmatched
from ..engine.callback import DeliveryJob, delivery_request
from ..errors import RequestError
from ..loader import PartnerSource, parse_partner
from ..messages import JSON_TYPE, CIHeaders, MockResponse, RequestView, encode_json
from ..seeding import CONTENT_TYPES, payload_files, payload_folder, seed_payloads
from ..store import SqliteStore
from .clocked import SHIFT, Clock
from .compare import Difference, Observed, compare
from .echoes import carried, carried_xml, sent_values
from .exchange import Exchange
from .idmap import IdMap, later_use
from .infer.detectors.callback import callback_url
from .redact import Redactor
from .yamlout import PARTNER_FILE, Rendered

# (partner, datapoint, name) -> (bytes, content type)
Payloads = dict[tuple[str, str, str], tuple[bytes, str]]
PARTNERS_CALL = "the partner's call to a callback URL"


@dataclass(frozen=True)
class Step:
    """One recorded request: its recorded and replayed status and how the answers differ."""

    n: int  # the flow's number in the recording, from 1
    request: str
    recorded: int | None
    replayed: int | None = None
    differences: tuple[Difference, ...] = ()
    owner: str | None = None  # partner/datapoint that answered
    skipped: str | None = None  # why it was not replayed

    @property
    def equal(self) -> bool:
        return self.skipped is None and not self.differences


@dataclass(frozen=True)
class Fidelity:
    steps: tuple[Step, ...] = field(default=())

    @property
    def compared(self) -> list[Step]:
        return [s for s in self.steps if s.skipped is None]

    @property
    def differing(self) -> list[Step]:
        return [s for s in self.compared if s.differences]

    @property
    def ok(self) -> bool:
        """Every replayed step equal, and at least one replayed."""
        return bool(self.compared) and not self.differing

    @property
    def score(self) -> str:
        compared = self.compared
        return f"{len(compared) - len(self.differing)}/{len(compared)} steps equal"

    def view(self) -> dict:
        return {"ok": self.ok, "score": self.score, "steps": [
            {"n": s.n, "request": s.request, "recorded": s.recorded, "replayed": s.replayed,
             "equal": s.equal, "owner": s.owner, "skipped": s.skipped,
             "differences": [str(d) for d in s.differences]} for s in self.steps]}


@dataclass(frozen=True)
class MockAnswer:
    """The mock's answer to one request: who answered, on which endpoint, about which id."""

    observed: Observed | None = None
    owner: str | None = None  # partner/datapoint
    endpoint: str = ""  # "partner/datapoint METHOD /path/{id}" or "(no route) METHOD /path"
    series: str | None = None  # the id the request was about
    skipped: str | None = None  # why there is no answer


def observed_of(response: MockResponse) -> Observed:
    return Observed(response.status, tuple(response.headers), response.body)


class MockSide:
    """A partner's mock in-process: its engine over a scratch store, on a settable clock."""

    def __init__(self, sources: Sequence[PartnerSource], payloads: Payloads | None = None):
        """``payloads`` None: the partners' payload files, as the proxy seeds them."""
        self.now = 0.0
        self.store = SqliteStore(Path(":memory:"), clock=self.clock)
        if payloads is None:
            seed_payloads(list(sources), self.store)
        for (partner, datapoint, name), (body, kind) in (payloads or {}).items():
            self.store.put_global(partner, datapoint, body, name=name, content_type=kind)
        mocked = [replace(s, model=s.model.model_copy(update={"mode": None})) for s in sources]
        self.calls: dict[str, list[DeliveryJob]] = {}  # callback URL -> calls not yet made
        self.engine = Engine(mocked, self.store, EngineSettings(clock=self.clock,
                                                                dispatch=self._dispatch))
        self.direct = not any(s.model.hosts for s in sources)

    def _dispatch(self, job: DeliveryJob) -> None:
        self.calls.setdefault(job.request.url, []).append(job)

    def call(self, url: str) -> Observed | str:
        """The call the mock would make to a callback URL (the oldest one waiting), or why
        there is none."""
        waiting = self.calls.get(url)
        if not waiting:
            return "the mock made no call to this URL"
        job = waiting.pop(0)
        try:
            body, headers = delivery_request(job.store, job.request, job.shape)
        except RequestError as exc:
            return f"the mock's call fails: {exc.detail}"
        return Observed(200, tuple(headers.items()), body)

    def clock(self) -> float:
        return self.now

    def answer(self, method: str, url: str, headers: tuple[tuple[str, str], ...],
               body: bytes) -> MockAnswer:
        """The mock's answer, or why there is none (``answer.skipped``)."""
        view = request_view(method, url, headers, body, self.direct)
        outcome = self.engine.handle(view)
        if isinstance(outcome, Mocked):
            route, response = outcome.route, outcome.response
            return MockAnswer(observed_of(response), route.owner,
                              f"{route.owner} {route.method} {route.path}",
                              outcome.params.get("id"))
        if isinstance(outcome, Unmatched):
            return MockAnswer(observed_of(outcome.response), None,
                              f"(no route) {view.method} {view.path}")
        if isinstance(outcome, Forward):
            return MockAnswer(skipped="not a host of this partner")
        return MockAnswer(skipped="an admin request")

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> MockSide:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def replay_rendered(rendered: Rendered, folder: Path, exchanges: Sequence[Exchange],
                    hosts: Sequence[str] = ()) -> Fidelity | None:
    """The replay check of a partner file not written yet (None when it does not load);
    payloads it does not carry are read from the folder's payload files, as the proxy would."""
    source, problems = parse_partner(rendered.partner_yaml, folder / PARTNER_FILE)
    if source is None:
        return None
    texts: dict[tuple[str, str], tuple[str, str]] = {}  # (datapoint, name) -> (suffix, text)
    for file, text in rendered.payloads.items():
        parts = Path(file).parts  # payloads/<dp>.json or payloads/<dp>/<name>.json
        key = (parts[1], Path(parts[2]).stem) if len(parts) == 3 else (Path(file).stem, "")
        texts[key] = (Path(file).suffix, text)
    existing = payload_folder(folder / PARTNER_FILE)
    for dp in source.model.datapoints:
        for name, file in payload_files(existing, dp.name) if existing.is_dir() else ():
            if (dp.name, name) not in texts and file.suffix in CONTENT_TYPES:
                texts[(dp.name, name)] = (file.suffix, file.read_text(encoding="utf-8"))
    payloads: Payloads = {}
    for (datapoint, name), (suffix, text) in texts.items():
        if suffix != ".json":
            payloads[(source.name, datapoint, name)] = (text.encode(), CONTENT_TYPES[suffix])
            continue
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if value is not None:
            payloads[(source.name, datapoint, name)] = (encode_json(value), JSON_TYPE)
    return replay(exchanges, [source], payloads, hosts=hosts)


def request_view(method: str, url: str, headers: tuple[tuple[str, str], ...], body: bytes,
                 direct: bool = False) -> RequestView:
    parts = urlsplit(url)
    scheme = parts.scheme or "http"
    return RequestView(
        method=method.upper(), path=parts.path or "/", query_string=parts.query,
        headers=CIHeaders(headers), body=body, scheme=scheme,
        host=(parts.hostname or "").lower(), port=parts.port or (443 if scheme == "https" else 80),
        direct=direct)


def callback_deliveries(exchanges: Sequence[Exchange]) -> set[int]:
    """Indexes of recorded calls to a URL that an earlier request handed the partner."""
    handed: set[str] = set()
    out: set[int] = set()
    for i, ex in enumerate(exchanges):
        if ex.url in handed:
            out.add(i)
            continue
        found = callback_url(ex)
        if found is not None and ex.status == 202:
            handed.add(found[2])
    return out


def label(ex: Exchange) -> str:
    parts = urlsplit(ex.url)
    return f"{ex.method} {parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")


def selected(host: str, hosts: Sequence[str]) -> bool:
    return any(host == h or (h.startswith("*.") and host.endswith(h[1:])) for h in hosts)


def not_replayed(index: int, ex: Exchange, host_filter: Sequence[str],
                 deliveries: set[int]) -> str | None:
    """Why a recorded request is not one the client sent the partner, or None."""
    if ex.status is None:
        return "no response recorded"
    if index in deliveries:
        return PARTNERS_CALL
    if host_filter and not selected(ex.host, host_filter):
        return "host not selected"
    return None


def replay(exchanges: Sequence[Exchange], sources: Sequence[PartnerSource],
           payloads: Payloads | None = None, *, hosts: Sequence[str] = ()) -> Fidelity:
    """Replay the recorded client requests against the partners' mock, in recorded order
    (secrets redacted first: nothing the check prints can hold one); the partner's calls
    to a callback URL are compared with the calls the mock would make."""
    redactor = Redactor.default()
    exchanges = [redactor.exchange(ex) for ex in exchanges]
    host_filter = [h.strip().lower() for h in hosts if h.strip()]
    deliveries = callback_deliveries(exchanges)
    later = later_use(exchanges)
    check = _Check(Clock(exchanges, deliveries), IdMap(), set())
    steps: list[Step] = []
    with MockSide(sources, payloads) as mock:
        for i, ex in enumerate(exchanges):
            step = Step(i + 1, label(ex), ex.status)
            why = not_replayed(i, ex, host_filter, deliveries)
            mock.now = ex.started + SHIFT
            if why == PARTNERS_CALL:
                steps.append(check.call(i, ex, mock))
                continue
            if why is not None:
                steps.append(replace(step, skipped=why))
                continue
            url, headers, body = check.ids.request(ex)
            answered = mock.answer(ex.method, url, headers, body)
            got = answered.observed
            if got is None:
                steps.append(replace(step, skipped=answered.skipped))
                continue
            recorded = Observed(ex.status, ex.response_headers, ex.response_body)
            check.ids.learn(recorded, got, later(i))
            check.sent |= sent_values(ex)
            steps.append(replace(step, replayed=got.status, owner=answered.owner,
                                 differences=check.differences(i, ex, recorded, got, mock.now)))
    return Fidelity(tuple(steps))


@dataclass
class _Check:
    clock: Clock
    ids: IdMap
    sent: set[str]

    def differences(self, i: int, ex: Exchange, recorded: Observed, got: Observed,
                    now: float) -> tuple[Difference, ...]:
        """How the mock's answer differs from the recorded one: shapes, then the ids, the
        values sent and the time stamps it must carry."""
        ids = self.ids.values
        found = compare(recorded, got, expected_ids=ids.keys(), got_ids=ids.values())
        differences = found.differences
        if recorded.status != got.status:
            return differences
        if recorded.json() is not None:
            differences += tuple(Difference("value", text) for text in carried(
                recorded.json(), got.json(), ids, self.sent))
        else:
            differences += tuple(Difference("value", text) for text in carried_xml(
                recorded.body, got.body, ids, self.sent))
        return differences + tuple(Difference("time", text) for text in self.clock.untracked(
            i, recorded, got, ex.started, now))

    def call(self, i: int, ex: Exchange, mock: MockSide) -> Step:
        """The partner's recorded call to a callback URL against the mock's."""
        step = Step(i + 1, f"{label(ex)} (the partner's call)", None, owner=None)
        got = mock.call(self.ids.request(ex)[0])
        if isinstance(got, str):
            return replace(step, differences=(Difference("call", got),))
        recorded = Observed(200, ex.request_headers, ex.request_body)
        return replace(step, differences=self.differences(i, ex, recorded, got, mock.now))
