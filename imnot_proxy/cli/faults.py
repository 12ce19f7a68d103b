"""``imnot-proxy fault set|list|clear``: faults set at run time, on a running proxy or (``--db``)
on a store file, through the ``Remote`` interface.

``fault set`` builds the JSON body of ``POST /imnot/admin/faults`` from its flags: the kind
and its target, one flag per parameter, and ``--param key=value`` for anything else (the
value read as JSON when it parses, else as text).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.table import Table

from .output import console, fail, print_json
from .remote import RemoteError, open_remote

# flags that are a parameter of the fault, or of its ``when:``, under the same name
PARAMS = ("status", "retry_after", "ms", "median_ms", "sigma", "max_ms", "max_seconds", "bytes",
          "times", "gap_ms", "hold_seconds")
WHEN = ("probability", "every", "first", "seconds", "since", "per")


def add_fault_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """The ``fault`` command group (called by ``parser.build_parser``)."""
    p = sub.add_parser("fault", help="set, list or clear faults and latency at run time",
                       description="Faults and latency for a partner, a datapoint or an "
                                   "endpoint, for everyone or for one session. See "
                                   "partners/README.md, 'Faults and latency'.")
    fault_sub = p.add_subparsers(dest="action", required=True)
    q = fault_sub.add_parser("set", parents=parents, help="add a fault; prints its id")
    q.add_argument("kind", help="status, latency, hang, reset, empty_reply, truncated, "
                                "malformed_chunk, callback_delay, callback_drop, "
                                "callback_duplicate or callback_out_of_order")
    q.add_argument("partner")
    q.add_argument("datapoint", nargs="?")
    q.add_argument("--endpoint", help='one endpoint, "METHOD /path" as in the partner file')
    q.add_argument("--session", help="only this session (default: everyone)")
    q.add_argument("--expires-in", type=float, metavar="SECONDS",
                   help="delete the fault after this many seconds")
    kinds = q.add_argument_group("parameters of the kind")
    kinds.add_argument("--status", type=int, help="status: the status to answer (default 503)")
    kinds.add_argument("--retry-after", type=int, metavar="SECONDS")
    kinds.add_argument("--body", help="status: the body to answer (JSON, or text)")
    kinds.add_argument("--header", action="append", metavar="NAME:VALUE",
                       help="status: a header to answer (repeatable)")
    kinds.add_argument("--ms", type=float, help="latency: a fixed delay")
    kinds.add_argument("--uniform-ms", metavar="MIN,MAX", help="latency: a uniform delay")
    kinds.add_argument("--median-ms", type=float, help="latency: a log-normal delay")
    kinds.add_argument("--sigma", type=float, help="latency: the log-normal's sigma (0.5)")
    kinds.add_argument("--max-ms", type=float, help="latency: the cap of a sampled delay")
    kinds.add_argument("--body-bytes", type=int, metavar="N",
                       help="latency: send the body N bytes at a time (a slow body)")
    kinds.add_argument("--every-ms", type=float, metavar="MS",
                       help="latency: milliseconds between two pieces of a slow body")
    kinds.add_argument("--max-seconds", type=float, help="hang: close after this long (60)")
    kinds.add_argument("--bytes", type=int, help="truncated, malformed_chunk: body bytes sent")
    kinds.add_argument("--times", type=int, help="callback_duplicate: deliveries (2)")
    kinds.add_argument("--gap-ms", type=float, help="callback_duplicate: time between them")
    kinds.add_argument("--hold-seconds", type=float,
                       help="callback_out_of_order: the longest a delivery is held back (30)")
    kinds.add_argument("--param", action="append", metavar="KEY=VALUE",
                       help="any other parameter; VALUE is JSON when it parses (repeatable)")
    when = q.add_argument_group("when it fires (default: always)")
    when.add_argument("--probability", type=float, help="this share of requests (0..1)")
    when.add_argument("--seed", help="makes --probability (or a sampled delay) reproducible")
    when.add_argument("--every", type=int, metavar="N", help="every Nth request")
    when.add_argument("--first", type=int, metavar="N", help="the first N requests")
    when.add_argument("--seconds", type=float, help="for this many seconds after --since")
    when.add_argument("--since", choices=("first", "session", "id", "set"),
                      help="start of the --seconds window (default: the first request)")
    when.add_argument("--per", choices=("session", "all"),
                      help="count requests per session (default) or all together")
    when.add_argument("--when", metavar="CONDITION", dest="condition",
                      help="only requests this condition holds for, as JSON in the language "
                           "of alternatives: '{\"header\": {\"X-Scenario\": \"outage\"}}' "
                           "(they alone are counted by --every and --first)")
    q = fault_sub.add_parser("list", parents=parents, help="the faults in force")
    q.add_argument("--session", help="only this session's")
    q = fault_sub.add_parser("clear", parents=parents,
                             help="delete one fault (by id), one session's, or all")
    q.add_argument("fault_id", nargs="?")
    q.add_argument("--session", help="only this session's faults")


def fault_body(args: argparse.Namespace) -> dict:
    """The JSON of ``POST /imnot/admin/faults`` for ``fault set``'s arguments."""
    body: dict[str, Any] = {"kind": args.kind, "partner": args.partner}
    for key in ("datapoint", "endpoint", "session", "expires_in"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    for key in PARAMS:
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    if args.body is not None:
        body["body"] = _value(args.body)
    if args.header:
        body["headers"] = dict(_pair(h, ":") for h in args.header)
    if args.uniform_ms is not None:
        low, _, high = args.uniform_ms.partition(",")
        body["uniform_ms"] = [_number(low), _number(high)]
    if args.body_bytes is not None or args.every_ms is not None:
        body["body"] = {"bytes": args.body_bytes, "every_ms": args.every_ms or 0}
    when = {key: getattr(args, key) for key in WHEN if getattr(args, key) is not None}
    if args.condition is not None:
        condition = _value(args.condition)
        if isinstance(condition, list):
            condition = {"all": condition}
        if not isinstance(condition, dict):
            raise ValueError(f"--when takes a condition as a JSON object, got {args.condition!r}")
        when = {**condition, **when}
    if args.seed is not None:  # seeds the probability, else a sampled delay
        (when if args.probability is not None else body)["seed"] = args.seed
    if when:
        body["when"] = when
    for item in args.param or ():
        key, value = _pair(item, "=")
        body[key] = _value(value)
    return body


def _pair(text: str, sep: str) -> tuple[str, str]:
    key, found, value = text.partition(sep)
    if not found or not key.strip():
        raise ValueError(f"expected KEY{sep}VALUE, got {text!r}")
    return key.strip(), value.strip()


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"--uniform-ms takes MIN,MAX in milliseconds, got {text!r}") from None


def format_faults(rows: list[dict]) -> Table:
    table = Table(title="Faults")
    for column in ("id", "kind", "target", "session", "when", "expires_at"):
        table.add_column(column, overflow="fold")
    for row in rows:
        target = row["partner"] + (f"/{row['datapoint']}" if row.get("datapoint") else "")
        if row.get("endpoint"):
            target += f" {row['endpoint']}"
        when = ", ".join(f"{k}={v}" for k, v in (row.get("when") or {}).items()) or "always"
        table.add_row(row["id"], row["kind"], target, row.get("session") or "everyone", when,
                      row.get("expires_at") or "-")
    return table


def cmd_fault(args: argparse.Namespace) -> int:
    try:
        body = fault_body(args) if args.action == "set" else None
    except ValueError as exc:
        return fail(str(exc))
    try:
        remote = open_remote(args)
        if args.action == "set":
            result: Any = remote.add_fault(body)  # type: ignore[arg-type]
        elif args.action == "list":
            result = remote.list_faults(args.session)
        elif args.fault_id:
            result = remote.delete_fault(args.fault_id)
        else:
            result = remote.clear_faults(args.session)
    except RemoteError as exc:
        detail = exc.detail
        return fail("; ".join(detail) if isinstance(detail, list) else str(detail))
    if args.json:
        print_json(result)
    elif args.action == "set":
        print(result["id"])
        for warning in result.get("warnings", ()):
            console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    elif args.action == "list":
        console.print(format_faults(result) if result else "No faults.")
    else:
        console.print(f"[green]{result}[/]")
    return 0
