"""``infer()``: the inference steps in order over one recording, then secret scrubbing."""

from __future__ import annotations

from collections.abc import Sequence

from ...schema import HOST_RE
from ..exchange import Exchange
from ..redact import Redactor, copies, scrub
from .detectors import DETECTORS
from .detectors.callback import callback_url
from .draft import Draft, Route
from .flows import Flow
from .ids import mark_parameters, path, segments_of
from .polling import infer_polling
from .results import Inference, InferredDatapoint, Row


def infer(exchanges: Sequence[Exchange], partner: str, *, hosts: Sequence[str] = (),
          redactor: Redactor | None = None) -> Inference:
    """Infer a partner from recorded exchanges (in recorded order)."""
    redactor = redactor or Redactor.default()
    host_filter = [h.strip().lower() for h in hosts if h.strip()]
    found: list[str] = []
    redacted = [redactor.collect(ex, found) for ex in exchanges]
    secrets = copies(found)
    draft = Draft([Flow(i + 1, ex, segments_of(ex.path)) for i, ex in enumerate(redacted)])
    _set_aside_deliveries(draft)
    _select(draft, host_filter)
    mark_parameters(draft.usable)
    infer_polling(draft)
    _route_patterns(draft)
    found_hosts = _hosts(draft)
    ordered = sorted(draft.datapoints, key=lambda dp: min(dp.flows))
    datapoints = [_scrubbed(dp, secrets) for dp in ordered]
    inferred = [_scrubbed_row(r, secrets) for r in sorted(draft.inferred, key=lambda r: r.first)]
    skipped = [_scrubbed_row(r, secrets) for r in sorted(draft.skipped, key=lambda r: r.first)]
    notes = [scrub(note, secrets) for note in draft.notes]
    return Inference(partner, found_hosts, datapoints, inferred, skipped, len(draft.flows),
                     notes, secrets)


def _set_aside_deliveries(draft: Draft) -> None:
    """A recorded call to a URL that an earlier request handed over is a callback delivery:
    of the earliest request that handed it over and has no delivery yet."""
    handed: dict[str, list[int]] = {}  # URL -> requests that handed it over, not yet called
    for flow in draft.flows:
        waiting = handed.get(flow.ex.url)
        if waiting:
            draft.deliveries[waiting.pop(0)] = flow
            draft.claimed.add(flow.n)
            continue
        url = callback_url(flow.ex)
        if url is not None and flow.status == 202:
            handed.setdefault(url[2], []).append(flow.n)


def _select(draft: Draft, host_filter: list[str]) -> None:
    other_hosts: dict[str, list[int]] = {}
    for flow in draft.flows:
        if flow.n in draft.claimed:
            continue
        ex = flow.ex
        if host_filter and not _host_selected(ex.host, host_filter):
            other_hosts.setdefault(ex.host or "?", []).append(flow.n)
            continue
        if ex.status is None:
            reason = f"no response: {ex.error}" if ex.error else "no response recorded"
            draft.skipped.append(Row.of([flow.n], f"{ex.method} {ex.url}", "skipped", reason))
            continue
        draft.usable.append(flow)
        for seg in set(flow.segments):
            draft.by_segment.setdefault(seg, []).append(flow)
    for host, numbers in sorted(other_hosts.items()):
        draft.skipped.append(Row.of(numbers, f"{len(numbers)} flows to {host}",
                                    "skipped", "host not selected with --host"))


def _host_selected(host: str, selected: list[str]) -> bool:
    return any(host == h or (h.startswith("*.") and host.endswith(h[1:])) for h in selected)


def _route_patterns(draft: Draft) -> None:
    """The flows no polling chain took, grouped by route, each group to the first detector
    that takes it."""
    groups: dict[Route, list[Flow]] = {}
    for flow in draft.usable:
        if flow.n not in draft.claimed:
            groups.setdefault((flow.method, flow.shape), []).append(flow)
    for (method, shape), flows in groups.items():
        owner = draft.routes.get((method, shape))
        if owner is not None:
            draft.skipped.append(Row.of([f.n for f in flows],
                                        f"{method} {path(flows[0], {})}", "skipped",
                                        f"route already served by datapoint '{owner}'"))
            continue
        for detect in DETECTORS:
            if detect(draft, flows):
                break


def _hosts(draft: Draft) -> list[str]:
    used = {n for dp in draft.datapoints for n in dp.flows}
    hosts = {flow.host for flow in draft.flows if flow.n in used}
    good = sorted(h for h in hosts if HOST_RE.match(h))
    for host in sorted(hosts - set(good)):
        draft.notes.append(f"host '{host}' cannot be written to hosts: (not a host name)")
    return good


def _scrubbed_row(row: Row, secrets: list[str]) -> Row:
    return Row(row.flows, scrub(row.request, secrets), row.outcome, scrub(row.why, secrets),
               row.first)


def _scrubbed(dp: InferredDatapoint, secrets: list[str]) -> InferredDatapoint:
    if not secrets:
        return dp
    return InferredDatapoint(
        dp.name, dp.pattern, scrub(dp.data, secrets), scrub(dp.comment, secrets),
        dp.flows, dp.payload if not dp.has_payload else scrub(dp.payload, secrets),
        [scrub(gap, secrets) for gap in dp.gaps],
        {name: scrub(value, secrets) for name, value in dp.named.items()})
