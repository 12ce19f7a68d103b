"""``imnot-proxy verify``: the drift check offline. A recording's requests go to a running
partner (a sandbox) and to the mock; a table per endpoint shows where they differ.
"""

from __future__ import annotations

import argparse
import http.client
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rich.table import Table

from .output import console, fail, print_json
from .record import load_partner, read_recordings

if TYPE_CHECKING:
    from ..recording.compare import Observed
    from ..recording.drift import DriftReport
    from ..recording.sandbox import Verified


def format_drift(report: DriftReport, title: str) -> Table:
    """One row per endpoint: how many steps differ, what, and the polling shape."""
    table = Table(title=title)
    for column in ("endpoint", "differ", "what differs", "polls until done (real / mock)",
                   "id given out in (real / mock)"):
        table.add_column(column, overflow="fold")
    for e in report.view()["endpoints"]:
        polls = e.get("polls_until_done")
        places = e.get("id_places")
        table.add_row(
            e["endpoint"],
            f"[{'red' if e['differing'] else 'green'}]{e['differing']}/{e['seen']}[/]",
            "\n".join(e["examples"]) or "-",
            f"{polls['real']} / {polls['mock']}" if polls else "-",
            f"{', '.join(places['real']) or '-'} / {', '.join(places['mock']) or '-'}"
            if places else "-")
    return table


def http_sender(timeout: float, insecure: bool):
    """Sends one request with the standard library; a failure is an answer with no status."""
    from ..recording.compare import Observed

    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE

    def send(method: str, url: str, headers: tuple[tuple[str, str], ...],
             body: bytes) -> Observed:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if parts.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.netloc, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(parts.netloc, timeout=timeout)
        try:
            conn.putrequest(method, target or "/", skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            if body or method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            response = conn.getresponse()
            return Observed(response.status, tuple(response.getheaders()), response.read())
        except (OSError, http.client.HTTPException):
            return Observed(None)
        finally:
            conn.close()

    return send


def parse_headers(values: list[str]) -> tuple[list[tuple[str, str]], str | None]:
    out = []
    for value in values:
        name, sep, rest = value.partition(":")
        if not sep or not name.strip():
            return [], f"--header {value!r}: expected 'Name: value'"
        out.append((name.strip(), rest.strip()))
    return out, None


def cmd_verify(args: argparse.Namespace) -> int:
    from ..recording.drift import volatile
    from ..recording.sandbox import verify_recording

    target = urlsplit(args.against)
    if target.scheme not in ("http", "https") or not target.netloc:
        return fail(f"--against {args.against!r}: expected a base URL such as "
                    "https://sandbox.partner.example")
    headers, problem = parse_headers(args.header or [])
    if problem is not None:
        return fail(problem)
    exchanges, problem = read_recordings(args.files)
    if problem is not None:
        return fail(problem)
    sources, problem = load_partner(args.partners, args.partner)
    if problem is not None:
        return fail(problem)
    ignore = volatile(tuple(args.ignore or ()), defaults=not args.no_default_ignore)
    done = verify_recording(exchanges, sources, args.against,
                            http_sender(args.timeout, args.insecure), ignore=ignore,
                            hosts=args.host or (), headers=headers)
    proposed = _propose(args.propose, done, sources) if args.propose else None
    if args.json:
        extra = {"proposal": proposed} if args.propose else {}
        print_json({**done.report.view(), "sent": done.sent, "skipped": done.skipped, **extra})
    else:
        console.print(format_drift(done.report, f"verify: {done.sent} requests sent to "
                                                 f"{args.against} and to the mock"))
        for line in done.skipped:
            console.print(f"[dim]not sent: {line}[/]", highlight=False)
        if proposed:
            console.print(proposed, highlight=False)
    if not done.sent:
        return fail("no recorded request was sent: none went to this partner's hosts")
    return 0 if done.report.ok else 1


def _propose(target: str, done: Verified, sources: list[Any]) -> str:
    """Write the patch proposal (only when there is a change to propose); what became of it."""
    from ..recording.propose import propose

    proposal = propose(done.report, done.proposals, sources)
    notes = "".join(f"\n  {n}" for n in proposal.notes)
    if not proposal:
        return "no partner-file change to propose" + notes
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(proposal.diff(), encoding="utf-8")
    files = ", ".join(proposal.changes)
    return f"patch proposal written to {path} ({files}); review it, then: git apply {path}" \
        + notes


__all__ = ["cmd_verify", "format_drift", "http_sender"]
