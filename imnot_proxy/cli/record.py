"""``record to-yaml``: recorded flows (HAR or mitmproxy flow files) become a partner file and
its payloads, shown as a table of what each flow turned into so a person can review it, then
replayed against the new mock (the replay check) to show how faithful it is.
``record replay-check``: the same check for a partner file that already exists.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from .output import console, fail, print_json

if TYPE_CHECKING:
    from ..recording.exchange import Exchange
    from ..recording.infer import Inference
    from ..recording.merge import Merged
    from ..recording.replay import Fidelity


def format_inference(result: Inference, flows: int, partner: str) -> Table:
    """One row per request (or group of flows): what it became and why, skipped ones last."""
    table = Table(title=f"record to-yaml: {flows} flows → partner {partner}")
    for column in ("flows", "request", "became", "why"):
        table.add_column(column, overflow="fold")
    for row in result.inferred:
        table.add_row(row.flows, row.request, f"[green]{row.outcome}[/]", row.why)
    for row in result.skipped:
        table.add_row(row.flows, row.request, f"[yellow]{row.outcome}[/]", row.why)
    return table


def format_fidelity(fidelity: Fidelity, *, every_step: bool = True) -> Table:
    """One row per recorded request: recorded and replayed status, what differs."""
    table = Table(title=f"replay check: {fidelity.score}")
    for column in ("flow", "request", "recorded", "replayed", "answered by", "result"):
        table.add_column(column, overflow="fold")
    for step in fidelity.steps:
        if step.skipped is not None:
            if every_step:
                table.add_row(str(step.n), step.request, str(step.recorded or "-"), "-", "-",
                              f"[dim]skipped: {step.skipped}[/]")
            continue
        if step.equal and not every_step:
            continue
        result = "[green]equal[/]" if step.equal else \
            "[red]" + "; ".join(str(d) for d in step.differences) + "[/]"
        if step.recorded is None:  # the partner's own call to a callback URL
            table.add_row(str(step.n), step.request, "call", "call" if step.equal else "-",
                          "the mock's call", result)
            continue
        table.add_row(str(step.n), step.request, str(step.recorded), str(step.replayed),
                      step.owner or "no route", result)
    return table


def format_merge(merged: Merged, target: Path) -> Table:
    """What the merge does to each recorded datapoint."""
    table = Table(title=f"merge into {target}")
    for column in ("datapoint", "outcome", "detail"):
        table.add_column(column, overflow="fold")
    colours = {"added": "green", "unchanged": "dim", "conflict": "red"}
    for row in merged.rows:
        table.add_row(row.datapoint, f"[{colours[row.outcome]}]{row.outcome}[/]", row.detail)
    for note in merged.notes:
        table.add_row("-", "[yellow]note[/]", note)
    return table


def format_explain(result: Inference, fidelity: Fidelity | None) -> Table:
    """Per datapoint: why it is what it is, from which flows, and what it does not reproduce."""
    from ..recording.infer import flow_ranges

    table = Table(title="explain: datapoints")
    for column in ("datapoint", "pattern", "flows", "why", "not reproduced"):
        table.add_column(column, overflow="fold")
    differing = fidelity.differing if fidelity is not None else []
    for dp in result.datapoints:
        why = [r.why for r in result.inferred if r.outcome.split(" ")[1:2] == [dp.name]]
        gaps = list(dp.gaps)
        owner = f"{result.partner}/{dp.name}"
        gaps += [f"flow {s.n}: " + "; ".join(str(d) for d in s.differences)
                 for s in differing if s.owner == owner]
        table.add_row(dp.name, dp.pattern, flow_ranges(dp.flows), "\n".join(why),
                      "\n".join(gaps) or "[green]nothing found[/]")
    for row in result.skipped:
        table.add_row("-", "skipped", row.flows, row.request, row.why)
    unrouted = [s for s in differing if s.owner is None]
    if unrouted:
        table.add_row("-", "no route", flow_ranges(s.n for s in unrouted),
                      "requests the mock has no route for",
                      "\n".join(f"flow {s.n}: {s.request}" for s in unrouted))
    return table


def load_partner(partners: str, name: str) -> tuple[list[Any], str | None]:
    """The loaded definitions of partner ``name`` under ``partners``, or why there are none
    (with every problem the loader found, since one of them may be the reason)."""
    from .. import loader

    loaded = loader.load_paths([partners])
    sources = [s for s in loaded.partners if s.name == name]
    if sources:
        return sources, None
    problems = "".join(f"\n  {p}" for p in loaded.errors)
    return [], f"no loadable partner {name!r} in {partners}{problems}"


def read_recordings(files: list[str]) -> tuple[list[Exchange], str | None]:
    """Every usable exchange of the files, after naming what was skipped and why; a problem
    when none is usable."""
    from ..recording.sources import load_all

    loaded = load_all([Path(name) for name in files])
    if not loaded.exchanges:
        reasons = loaded.skipped or [f"{', '.join(files)}: no entries"]
        if len(reasons) == 1:
            return [], reasons[0]
        return [], "no usable flows:\n  " + "\n  ".join(reasons)
    for line in loaded.skipped:
        console.print(f"[yellow]skipped:[/] {line}", highlight=False)
    for line in loaded.notes:
        console.print(f"[yellow]note:[/] {line}", highlight=False)
    return loaded.exchanges, None


def cmd_record(args: argparse.Namespace) -> int:
    if args.action == "replay-check":
        return cmd_replay_check(args)
    return cmd_to_yaml(args)


def cmd_to_yaml(args: argparse.Namespace) -> int:
    """``record to-yaml``: recorded flows → partner YAML and payload files, after review."""
    from ..recording import yamlout
    from ..recording.infer import infer
    from ..recording.merge import MergeError, merge
    from ..recording.replay import replay_rendered
    from ..schema import PARTNER_NAME_RE

    if not PARTNER_NAME_RE.fullmatch(args.partner):
        return fail(f"partner name {args.partner!r} must match {PARTNER_NAME_RE.pattern}")
    exchanges, problem = read_recordings(args.files)
    if problem is not None:
        return fail(problem)
    hosts = args.host or ()
    result = infer(exchanges, args.partner, hosts=hosts)
    console.print(format_inference(result, len(exchanges), args.partner))
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if not result.datapoints:
        return fail("nothing to write: no usable flows in the recording")
    folder = Path(args.out) / args.partner
    target = folder / yamlout.PARTNER_FILE
    merged = None
    try:
        if args.merge and target.exists():
            merged = merge(target.read_text(encoding="utf-8"), folder, result)
            rendered = merged.rendered
            console.print(format_merge(merged, target))
        else:
            rendered = yamlout.render(result, [Path(f).name for f in args.files], folder)
    except (yamlout.OutputError, MergeError) as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"{target}: cannot read: {exc.strerror or exc}")
    fidelity = None if args.no_check else replay_rendered(rendered, folder, exchanges, hosts)
    if fidelity is not None:
        if args.explain or fidelity.differing:
            console.print(format_fidelity(fidelity, every_step=args.explain))
        colour = "green" if fidelity.ok else "yellow"
        console.print(f"[{colour}]replay check: {fidelity.score}[/] (the recording replayed "
                      "against the new mock)", highlight=False)
    if args.explain:
        console.print(format_explain(result, fidelity))
    extra = merged.conflicts if merged is not None else {}
    if args.dry_run:
        print(rendered.partner_yaml, end="")
        for file in [*rendered.payloads, *extra]:
            console.print(f"would write {folder / file}", highlight=False)
        return 0
    if target.exists() and merged is None and not args.force:
        return fail(f"{target} exists; use --force to overwrite it or --merge to add to it")
    for path in yamlout.write(rendered, folder, extra):
        console.print(f"[green]wrote[/] {path}", highlight=False)
    console.print("Review the file, then: imnot-proxy validate " + str(folder), highlight=False)
    return 0


def cmd_replay_check(args: argparse.Namespace) -> int:
    """``record replay-check``: a recording replayed against an existing partner's mock."""
    from ..recording.replay import replay

    exchanges, problem = read_recordings(args.files)
    if problem is not None:
        return fail(problem)
    sources, problem = load_partner(args.partners, args.partner)
    if problem is not None:
        return fail(problem)
    fidelity = replay(exchanges, sources, hosts=args.host or ())
    if args.json:
        print_json(fidelity.view())
    else:
        console.print(format_fidelity(fidelity))
    if not fidelity.compared:
        return fail("no recorded request was replayed: none went to this partner's hosts")
    return 0 if fidelity.ok else 1
