"""``record to-yaml``: recorded flows (HAR or mitmproxy flow files) become a partner file and
its payloads, shown as a table of what each flow turned into so a person can review it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from .output import console, fail

if TYPE_CHECKING:
    from ..recording.infer import Inference


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


def cmd_record(args: argparse.Namespace) -> int:
    """``record to-yaml``: recorded flows → partner YAML and payload files, after review."""
    from ..recording import yamlout
    from ..recording.har import HarError, read_any
    from ..recording.infer import infer
    from ..schema import PARTNER_NAME_RE

    if not PARTNER_NAME_RE.fullmatch(args.partner):
        return fail(f"partner name {args.partner!r} must match {PARTNER_NAME_RE.pattern}")
    exchanges = []
    for name in args.files:
        try:
            exchanges.extend(read_any(Path(name)))
        except HarError as exc:
            return fail(str(exc))
        except OSError as exc:
            return fail(f"{name}: cannot read: {exc.strerror or exc}")
    result = infer(exchanges, args.partner, hosts=args.host or ())
    console.print(format_inference(result, len(exchanges), args.partner))
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if not result.datapoints:
        return fail("nothing to write: no usable flows in the recording")
    folder = Path(args.out) / args.partner
    try:
        rendered = yamlout.render(result, [Path(f).name for f in args.files], folder)
    except yamlout.OutputError as exc:
        return fail(str(exc))
    if args.dry_run:
        print(rendered.partner_yaml, end="")
        for file in rendered.payloads:
            console.print(f"would write {folder / file}", highlight=False)
        return 0
    target = folder / yamlout.PARTNER_FILE
    if target.exists() and not args.force:
        return fail(f"{target} exists; use --force to overwrite it")
    for path in yamlout.write(rendered, folder):
        console.print(f"[green]wrote[/] {path}", highlight=False)
    console.print("Review the file, then: imnot-proxy validate " + str(folder), highlight=False)
    return 0
