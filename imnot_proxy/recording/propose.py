"""The drift report's patch proposal: per drifting endpoint, the change to the partner file
(and its payload files) that would make the mock answer as the real partner did, as a
unified diff for a person to review and apply (``git apply``); never applied here.

``propose`` turns the evidence (``evidence.Proposals``: the real answers behind the
differences) into changes, using what the inference does with a recorded
answer: the new status, a static answer's body (echoes and time stamps as templates),
an oauth answer's fields, a callback's reply, a polling step's answer (the id as
``{id}``), a payload file for data, a result template over the new payload (values
captured at submit kept where the payload still has their place), ``strict_order``
answers for the errors, the number of pending polls; and, for requests no route
answered, new datapoints (``merge``). A change that would not load is left out, named.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ..loader import PartnerSource, parse_partner
from ..seeding import payload_folder
from .compare import Observed
from .drift import DriftReport, EndpointDrift, label
from .evidence import Evidence, Proposals
from .exchange import Exchange
from .infer import infer
from .infer.answers import Answer, answer, echoing, timed
from .infer.detectors.oauth import token_response
from .infer.detectors.static import replayable_at
from .infer.echo import payload_template
from .infer.flows import Flow
from .infer.ids import id_kind, segments_of
from .infer.polling import XML_PAYLOAD_WITH_ID
from .infer.results import NO_PAYLOAD, TextPayload
from .merge import MergeError, merge
from .patch import PatchError, set_value, unified_diff
from .redact import scrub
from .yamlout import payload_text

Edit = tuple[tuple[str | int, ...], Any]


@dataclass
class Proposal:
    changes: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # file: old, new
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def diff(self) -> str:
        head = ["# Proposed by the drift check: the partner-file changes that would make the",
                "# mock answer as the real partner did. Review, then apply with `git apply` (or",
                "# `patch -p1`) from the directory the check ran in. Secrets are redacted."]
        head += [f"# note: {n}" for n in self.notes]
        return "\n".join(head) + "\n" + "".join(
            unified_diff(name, old, new) for name, (old, new) in self.changes.items())


def propose(report: DriftReport, proposals: Proposals, sources: Sequence[PartnerSource],
            base: Path | None = None) -> Proposal:
    """The changes for every drifting endpoint of ``report`` with evidence."""
    out = Proposal()
    by_name = {s.name: s for s in sources}
    texts: dict[Path, str] = {}
    payloads: dict[Path, str] = {}
    unmatched: dict[str, list[Exchange]] = {}
    for endpoint, drift in report.endpoints.items():
        evidence = proposals.evidence.get(endpoint)
        if not drift.drifted or not evidence and not drift.series:
            continue
        partner, datapoint, method, path = _parse(endpoint)
        source = by_name.get(partner) if partner else (sources[0] if len(sources) == 1
                                                       else None)
        if source is None:
            out.notes.append(f"{endpoint}: no partner file to change")
            continue
        if datapoint is None:
            unmatched.setdefault(source.name, []).extend(
                e.exchange for e in _ordered(evidence or {}))
            continue
        text = texts.get(source.file) or source.file.read_text(encoding="utf-8")
        try:
            edits, files, notes = _changes(source, text, datapoint, method, path,
                                           evidence or {}, drift)
            changed = text
            for where, value in edits:
                changed = set_value(changed, where, value)
        except (PatchError, LookupError, yaml.YAMLError) as exc:
            out.notes.append(f"{endpoint}: not proposed ({exc})")
            continue
        out.notes += [f"{endpoint}: {n}" for n in notes]
        if _loads(changed, source.file, out.notes, endpoint):
            texts[source.file] = changed
            payloads.update(files)
    for partner, exchanges in unmatched.items():
        source = by_name[partner] if partner in by_name else sources[0]
        text = texts.get(source.file) or source.file.read_text(encoding="utf-8")
        try:
            merged = merge(text, source.file.parent, infer(exchanges, source.name))
        except MergeError as exc:
            out.notes.append(f"requests no route answered: not proposed ({exc})")
            continue
        texts[source.file] = merged.rendered.partner_yaml
        for relative, body in merged.rendered.payloads.items():
            payloads[source.file.parent / relative] = body
    secrets = sorted(proposals.secrets)
    for file, new in {**texts, **payloads}.items():
        old = file.read_text(encoding="utf-8") if file.is_file() else None
        new = scrub(new, secrets)
        if new != old:
            out.changes[_shown(file, base)] = (old, new)
    changed = [name for name in out.changes if "/payloads/" in f"/{name}"]
    if changed:
        out.notes.append("payload files are loaded only into a store without that payload: "
                         "upload the changed payloads too (imnot-proxy payload set PARTNER "
                         f"DATAPOINT FILE): {', '.join(changed)}")
    return out


def _parse(endpoint: str) -> tuple[str | None, str | None, str, str]:
    """(partner, datapoint, method, path) of a drift endpoint; datapoint None when no
    route answered (``[partner ](no route) METHOD /path``)."""
    if "(no route)" in endpoint or "(not mocked)" in endpoint:
        head, _, rest = endpoint.partition(" (no route) " if "(no route)" in endpoint
                                           else " (not mocked) ")
        if not rest:
            rest = endpoint.split(") ", 1)[1]
            head = ""
        method, _, path = rest.partition(" ")
        return head or None, None, method, path
    owner, method, path = endpoint.split(" ", 2)
    partner, _, datapoint = owner.partition("/")
    return partner, datapoint, method, path


def _ordered(evidence: dict[str, Evidence]) -> list[Evidence]:
    return sorted(evidence.values(), key=lambda e: e.seq)


def _shown(file: Path, base: Path | None) -> str:
    try:
        return file.resolve().relative_to((base or Path.cwd()).resolve()).as_posix()
    except ValueError:
        return file.resolve().as_posix().lstrip("/")


def _loads(text: str, file: Path, notes: list[str], endpoint: str) -> bool:
    source, problems = parse_partner(text, file)
    errors = [str(p) for p in problems if p.is_error]
    if source is None or errors:
        notes.append(f"{endpoint}: the change would not load, left out: {'; '.join(errors)}")
        return False
    return True


# --- one endpoint ----------------------------------------------------------------------


def _changes(source: PartnerSource, text: str, datapoint: str, method: str, path: str,
             evidence: dict[str, Evidence], drift: EndpointDrift
             ) -> tuple[list[Edit], dict[Path, str], list[str]]:
    model = source.model
    dp_index = next(i for i, dp in enumerate(model.datapoints) if dp.name == datapoint)
    dp = model.datapoints[dp_index]
    ep_index = next(i for i, ep in enumerate(dp.endpoints)
                    if ep.method == method and ep.path == path)
    raw = yaml.safe_load(text)
    raw_dp = raw["datapoints"][dp_index]
    raw_ep = raw_dp["endpoints"][ep_index]
    at = ("datapoints", dp_index, "endpoints", ep_index)
    if raw_ep.get("alternatives"):
        return [], {}, ["answers from alternatives: change the one that answered by hand"]
    response = dict(raw_ep.get("response") or {})
    ordered = _ordered(evidence)
    files: dict[Path, str] = {}
    notes: list[str] = []
    pattern = dp.pattern

    def payload(value: Any) -> None:
        folder = payload_folder(source.file)
        suffix, text = payload_text(value)
        name = raw_ep.get("payload")
        files[folder / (f"{datapoint}/{name}{suffix}" if name else f"{datapoint}{suffix}")] \
            = text

    if pattern == "static" and ordered:
        new = replayable_at(_flow(ordered[-1]), path).mapping()
        return [(at + ("response",), new)], files, notes
    if pattern == "oauth" and ordered:
        tokens = [_flow(e) for e in ordered if isinstance(e.exchange.response_json(), dict)
                  and "access_token" in e.exchange.response_json()]
        if not tokens:
            return [(at + ("response", "status"), ordered[-1].exchange.status)], files, notes
        new, _, gaps = token_response(tokens, path)
        if "access_token" in response:
            new["access_token"] = response["access_token"]
        return [(at + ("response",), new)], files, gaps
    if pattern == "fetch" and ordered:
        last = ordered[-1].exchange
        response["status"] = last.status
        payload(_data(last))
        return [(at + ("response",), _typed(response, last))], files, notes
    if pattern == "callback" and ordered:
        last = ordered[-1].exchange
        rid = ordered[-1].real_id or _given_id(last)
        reply = echoing(last, answer(last, json_type_header=False, id_value=rid), path)
        response.update(status=last.status, body="" if reply.body is None else reply.body)
        if reply.template:
            response["template"] = True
        if reply.headers:
            response["headers"] = {**response.get("headers", {}), **reply.headers}
        return [(at + ("response",), response)], files, notes
    if pattern == "polling":
        edits, _, notes = _polling(dp, raw_dp, raw_ep, at, ordered, drift, payload)
        return edits, files, notes
    return [], files, [f"a {pattern} endpoint: change it by hand"]


def _polling(dp: Any, raw_dp: dict, raw_ep: dict, at: tuple, ordered: list[Evidence],
             drift: EndpointDrift, payload: Any) -> tuple[list[Edit], dict, list[str]]:
    response = dict(raw_ep.get("response") or {})
    edits: list[Edit] = []
    notes: list[str] = []
    errors = [e for e in ordered if (e.exchange.status or 0) >= 400]
    answers = [e for e in ordered if e not in errors]
    dp_at = at[:2]
    for e in errors[-2:]:  # an error where the mock answered: a strict_order answer
        which = "unknown_id" if not response.get("returns_payload") or (
            dp.strict_order is not None and e.mock_status == dp.strict_order.unknown_id.status
            and e.mock_status != dp.strict_order.not_ready.status) else "not_ready"
        strict = dict(raw_dp.get("strict_order") or {}) \
            if isinstance(raw_dp.get("strict_order"), dict) else {}
        strict[which] = _answer(e).mapping()
        raw_dp["strict_order"] = strict
        edits.append((dp_at + ("strict_order",), strict))
    if response.get("generates_id") and answers:
        e = answers[-1]
        new = _answer(e, echo=True)
        response["status"] = new.status
        location = e.exchange.response_header(response.get("id_header") or "location")
        if response.get("id_header") and location and e.real_id:
            response["id_header_value"] = location.replace(e.real_id, "{id}")
        body = new.body
        if response.get("id_body_field") and isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != response["id_body_field"]}
        header = (response.get("id_header") or "").lower()
        headers = {k: v for k, v in new.headers.items() if k.lower() != header}
        _put_answer(response, Answer(new.status, headers, body, template=new.template))
    elif response.get("returns_payload") and answers:
        e = answers[-1]
        ex = e.exchange
        response["status"] = ex.status
        data = _data(ex)
        if isinstance(data, TextPayload):
            if e.real_id and e.real_id in data:
                data = TextPayload(data.replace(e.real_id, "{id}"), data.suffix)
                response.update(template=True, body=XML_PAYLOAD_WITH_ID)
            payload(data)
        else:
            keep = _kept(response.get("body")) if response.get("template") else {}
            echo = payload_template(data, e.real_id, ex.started, keep)
            payload(data if echo.payload is NO_PAYLOAD else echo.payload)
            if echo.body is not None:
                response.update(template=True, body=echo.body)
            notes += echo.notes
        response = _typed(response, ex)
    elif not response.get("generates_id") and not response.get("returns_payload"):
        final = label(Observed(200, (), _json(response.get("body"))))
        pending = [dict(p) for p in response.get("pending") or []]
        for e in answers:
            new = _answer(e)
            mine = label(Observed(e.exchange.status, e.exchange.response_headers,
                                  e.exchange.response_body))
            match = next((p for p in pending if label(Observed(
                200, (), _json(p.get("body")))) == mine), None)
            if match is not None and mine != final:
                match.update(status=new.status)
                _put_answer(match, new)
            else:
                _put_answer(response, new)
        polls = _polls(drift, pending)
        if polls is not None:
            pending, note = polls
            notes += [note] if note else []
        if pending:
            response["pending"] = pending
    edits.append((at + ("response",), response))
    return edits, {}, notes


def _put_answer(target: dict, new: Answer) -> None:
    target["status"] = new.status
    if new.template:
        target["template"] = True
    headers = {k: v for k, v in (target.get("headers") or {}).items()
               if k.lower() not in {h.lower() for h in new.headers}}
    headers.update(new.headers)
    if headers:
        target["headers"] = headers
    if new.body is None:
        target.pop("body", None)
    else:
        target["body"] = new.body


def _polls(drift: EndpointDrift, pending: list[dict]) -> tuple[list[dict], str] | None:
    """The pending answers with as many polls before the final answer as the real partner
    took (the median over the ids followed to the same final answer on both sides), or
    None when they agree."""
    done = [(real, mock) for real, mock in drift.series.values()
            if len(real) > 1 and real[-1] == mock[-1]]
    real = [r.index(r[-1]) for r, _ in done]
    mock = [m.index(m[-1]) for _, m in done]
    if real == mock:
        if drift.polls_until_done()[0] != drift.polls_until_done()[1]:
            return pending, ("the real partner was not done within the polls made: poll "
                             "until done to propose how many")
        return None
    want = round(statistics.median(real))
    counted = [p for p in pending if p.get("polls") is not None]
    if not counted:
        return pending, f"the real partner took {want} polls until done: add pending answers"
    have = sum(int(p["polls"]) for p in counted)
    counted[-1]["polls"] = max(1, int(counted[-1]["polls"]) + want - have)
    return pending, ""


def _answer(e: Evidence, *, echo: bool = False) -> Answer:
    ex = e.exchange
    found = answer(ex, json_type_header=False, id_value=e.real_id)
    if echo:
        return echoing(ex, found, urlsplit(ex.url).path)
    return timed(found, ex.started, frozenset())


def _flow(e: Evidence) -> Flow:
    return Flow(e.seq, e.exchange, segments_of(e.exchange.path))


def _data(ex: Exchange) -> Any:
    value = ex.response_json()
    if value is not None:
        return value
    text = ex.response_body.decode("utf-8", "replace")
    kind = (ex.response_header("content-type") or "").lower()
    return TextPayload(text, ".xml" if "xml" in kind or text.lstrip()[:1] == "<"
                       else ".csv" if "csv" in kind else ".txt")


def _typed(response: dict, ex: Exchange) -> dict:
    """The response naming the real answer's content type when it is not JSON."""
    kind = ex.response_header("content-type") or ""
    if kind and "json" not in kind.lower():
        headers = {k: v for k, v in (response.get("headers") or {}).items()
                   if k.lower() != "content-type"}
        response["headers"] = {"Content-Type": kind, **headers}
    return response


def _json(value: Any) -> bytes:
    return json.dumps(value).encode() if isinstance(value, dict) else b""


def _kept(template: Any, path: tuple = ()) -> dict[tuple, str]:
    """The expressions of an old result template worth keeping: values captured at submit
    (everything else is the id, the time or read from the payload, made again)."""
    out: dict[tuple, str] = {}
    if isinstance(template, dict):
        for key, value in template.items():
            out.update(_kept(value, (*path, key)))
    elif isinstance(template, str) and "captured" in template and path:
        out[path] = template
    return out


def _given_id(ex: Exchange) -> str | None:
    """The id an answer gives out: an id-shaped new Location segment or top-level value."""
    location = ex.response_header("location")
    if location:
        found = [s for s in segments_of(urlsplit(location).path) if id_kind(s)]
        if found:
            return found[-1]
    body = ex.response_json()
    if isinstance(body, dict):
        return next((str(v) for v in body.values() if isinstance(v, str) and id_kind(v)), None)
    return None
