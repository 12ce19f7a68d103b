"""The commands that act on a proxy's state: ``payload``, ``sessions`` and ``status``.

They talk to a running proxy through its admin API, or, with ``--db``, work on the store
file and the partner files directly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.table import Table

from .. import loader
from .output import console, fail, print_json
from .paths import default_partners


def _client(args: argparse.Namespace):
    from ..client import AdminClient

    return AdminClient.from_env(getattr(args, "url", None), getattr(args, "key", None))


def _offline_service(args: argparse.Namespace):
    """Admin actions on the store file and the partner files, without a running proxy."""
    from ..admin import AdminService, ReloadReport
    from ..engine import Engine
    from ..store import open_store

    partners = loader.load_paths([args.partners or str(default_partners())]).partners
    store = open_store(args.db)
    engine = Engine(partners, store)

    class Offline:
        def current_engine(self):
            return engine

        def last_report(self):
            return ReloadReport(True, [s.name for s in partners])

    return AdminService(Offline(), store)  # type: ignore[arg-type]


def _admin_call(args: argparse.Namespace, method: str, path: str,
                body: bytes | None = None) -> object:
    return _client(args).call(method, path, body)


def cmd_payload(args: argparse.Namespace) -> int:
    from ..client import AdminCallError
    from ..errors import RequestError

    base = f"/imnot/admin/{args.partner}/{args.datapoint}/payload"
    try:
        if args.action == "get":
            if args.db:
                svc = _offline_service(args)
                result = (svc.get_session(args.partner, args.datapoint, args.session)
                          if args.session else svc.get_payload(args.partner, args.datapoint))
            else:
                path = f"{base}/session/{args.session}" if args.session else base
                result = _admin_call(args, "GET", path)
            if args.json:
                print_json(result)
            else:
                console.print(f"updated: {result.get('updated_at') or result.get('created_at')}")
                print_json(result["payload"])
            return 0
        source = args.file
        body = sys.stdin.buffer.read() if source in (None, "-") else Path(source).read_bytes()
        query = f"?outcome={args.outcome}" if args.outcome else ""
        if args.db:
            svc = _offline_service(args)
            result = (svc.new_session(args.partner, args.datapoint, body, args.outcome)
                      if args.session else svc.set_payload(args.partner, args.datapoint, body,
                                                           args.outcome))
        else:
            path = (f"{base}/session" if args.session else base) + query
            result = _admin_call(args, "POST", path, body)
        if args.json:
            print_json(result)
        elif args.session:
            print(result["session_id"])
        else:
            console.print(f"[green]payload set for {args.partner}/{args.datapoint}[/]")
        return 0
    except (AdminCallError, RequestError) as exc:
        return fail(str(getattr(exc, "detail", exc)))
    except OSError as exc:
        return fail(f"cannot read {args.file}: {exc}")


def cmd_sessions(args: argparse.Namespace) -> int:
    from ..client import AdminCallError
    from ..errors import RequestError

    try:
        svc = _offline_service(args) if args.db else None
        if args.action == "list":
            rows = svc.list_sessions() if svc else _admin_call(args, "GET", "/imnot/admin/sessions")
            if args.json:
                print_json(rows)
                return 0
            table = Table(title="Sessions")
            for column in ("session_id", "partner/datapoint", "created_at", "last_used"):
                table.add_column(column)
            for row in rows:  # type: ignore[union-attr]
                table.add_row(row["session_id"], f"{row['partner']}/{row['datapoint']}",
                              row["created_at"], row["last_used"] or "-")
            console.print(table if rows else "No sessions.")
            return 0
        if args.action == "delete":
            result = (svc.delete_session(args.session_id) if svc else
                      _admin_call(args, "DELETE", f"/imnot/admin/sessions/{args.session_id}"))
        else:
            result = svc.clear_sessions() if svc else _admin_call(args, "DELETE",
                                                                  "/imnot/admin/sessions")
        if args.json:
            print_json(result)
        else:
            console.print(f"[green]{result}[/]")
        return 0
    except (AdminCallError, RequestError) as exc:
        return fail(str(getattr(exc, "detail", exc)))


def cmd_status(args: argparse.Namespace) -> int:
    from ..client import AdminCallError

    try:
        status = _admin_call(args, "GET", "/imnot/admin/status")
    except AdminCallError as exc:
        return fail(str(exc.detail))
    if args.json:
        print_json(status)
        return 0
    assert isinstance(status, dict)
    console.print(f"imnot-proxy {status['version']}: {len(status['partners'])} partners "
                  f"({', '.join(status['partners'])}), {status['routes']} routes, "
                  f"{status['sessions']} sessions", highlight=False)
    report = status.get("last_reload")
    if report:
        colour = "green" if report["status"] == "ok" else "red"
        console.print(f"last reload at {report['at']}: [{colour}]{report['status']}[/]")
        for problem in report["problems"]:
            console.print(f"  [red]{problem}[/]", highlight=False)
    return 0
