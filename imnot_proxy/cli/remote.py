"""The commands that act on a proxy's state: ``payload``, ``sessions`` and ``status``.

They go through one ``Remote`` interface with two implementations: ``HttpRemote`` talks to a
running proxy's admin API, ``LocalRemote`` works on a store file and the partner files
directly (``--db``). Both return the admin API's JSON views and raise ``RemoteError``, so a
command only chooses which one to open.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode

from .output import console, fail, format_sessions, print_json
from .paths import default_partners

if TYPE_CHECKING:
    from ..admin import AdminService
    from ..client import AdminClient

ADMIN = "/imnot/admin"


class RemoteError(Exception):
    """An admin action that failed; ``detail`` is what the command prints."""

    def __init__(self, status: int | None, detail: Any):
        self.status = status  # the HTTP status, None when the proxy could not be reached
        self.detail = detail
        super().__init__(str(detail))


class Remote(Protocol):
    """The admin actions the CLI needs, as JSON views; every failure is a ``RemoteError``."""

    def set_payload(self, partner: str, datapoint: str, body: bytes,
                    outcome: str | None = None, *, name: str = "",
                    content_type: str | None = None) -> dict: ...
    def get_payload(self, partner: str, datapoint: str, name: str = "") -> dict: ...
    def list_payloads(self, partner: str, datapoint: str) -> list[dict]: ...
    def new_session(self, partner: str, datapoint: str, body: bytes,
                    outcome: str | None = None, *, name: str = "",
                    content_type: str | None = None) -> dict: ...
    def get_session(self, partner: str, datapoint: str, session_id: str) -> dict: ...
    def list_sessions(self) -> list[dict]: ...
    def delete_session(self, session_id: str) -> dict: ...
    def clear_sessions(self) -> dict: ...
    def status(self) -> dict: ...
    def add_fault(self, body: dict) -> dict: ...
    def list_faults(self, session: str | None = None) -> list[dict]: ...
    def delete_fault(self, fault_id: str) -> dict: ...
    def clear_faults(self, session: str | None = None) -> dict: ...


class HttpRemote:
    """A running proxy, through its admin API."""

    def __init__(self, client: AdminClient):
        self.client = client

    def set_payload(self, partner: str, datapoint: str, body: bytes,
                    outcome: str | None = None, *, name: str = "",
                    content_type: str | None = None) -> dict:
        path = _payload_path(partner, datapoint) + _query(outcome=outcome, name=name)
        return self._call("POST", path, body, content_type or "application/json")

    def get_payload(self, partner: str, datapoint: str, name: str = "") -> dict:
        return self._call("GET", _payload_path(partner, datapoint) + _query(name=name))

    def list_payloads(self, partner: str, datapoint: str) -> list[dict]:
        return self._call("GET", _payload_path(partner, datapoint) + "s")

    def new_session(self, partner: str, datapoint: str, body: bytes,
                    outcome: str | None = None, *, name: str = "",
                    content_type: str | None = None) -> dict:
        path = f"{_payload_path(partner, datapoint)}/session{_query(outcome=outcome, name=name)}"
        return self._call("POST", path, body, content_type or "application/json")

    def get_session(self, partner: str, datapoint: str, session_id: str) -> dict:
        return self._call("GET", f"{_payload_path(partner, datapoint)}/session/{_seg(session_id)}")

    def list_sessions(self) -> list[dict]:
        return self._call("GET", f"{ADMIN}/sessions")

    def delete_session(self, session_id: str) -> dict:
        return self._call("DELETE", f"{ADMIN}/sessions/{_seg(session_id)}")

    def clear_sessions(self) -> dict:
        return self._call("DELETE", f"{ADMIN}/sessions")

    def status(self) -> dict:
        return self._call("GET", f"{ADMIN}/status")

    def add_fault(self, body: dict) -> dict:
        return self._call("POST", f"{ADMIN}/faults", json.dumps(body).encode())

    def list_faults(self, session: str | None = None) -> list[dict]:
        return self._call("GET", f"{ADMIN}/faults{_query(session=session)}")

    def delete_fault(self, fault_id: str) -> dict:
        return self._call("DELETE", f"{ADMIN}/faults/{quote(fault_id, safe='')}")

    def clear_faults(self, session: str | None = None) -> dict:
        return self._call("DELETE", f"{ADMIN}/faults{_query(session=session)}")

    def _call(self, method: str, path: str, body: bytes | None = None,
              content_type: str = "application/json") -> Any:
        from ..client import AdminCallError

        try:
            return self.client.call(method, path, body, content_type)
        except AdminCallError as exc:
            detail = exc.detail
            if exc.status == 401:
                detail = (f"{detail}: the proxy has an admin key; give it with --key or "
                          f"IMNOT_ADMIN_KEY" + (" (the one given was refused)"
                                                if self.client.key else ""))
            raise RemoteError(exc.status, detail) from None


def _payload_path(partner: str, datapoint: str) -> str:
    return f"{ADMIN}/{_seg(partner)}/{_seg(datapoint)}/payload"


def _seg(value: str) -> str:
    """One path segment, percent-encoded: a name can never reach another route."""
    return quote(value, safe="")


def _query(**values: str | None) -> str:
    """A query string of the values given (encoded), or nothing."""
    given = {k: v for k, v in values.items() if v}
    return f"?{urlencode(given)}" if given else ""


class LocalRemote:
    """A store file and the partner files, without a proxy (``--db``)."""

    def __init__(self, service: AdminService):
        self.service = service

    def set_payload(self, partner: str, datapoint: str, body: bytes,
                    outcome: str | None = None, *, name: str = "",
                    content_type: str | None = None) -> dict:
        return self._call(lambda: self.service.set_payload(
            partner, datapoint, body, outcome, name=name, content_type=content_type))

    def get_payload(self, partner: str, datapoint: str, name: str = "") -> dict:
        return self._call(self.service.get_payload, partner, datapoint, name)

    def list_payloads(self, partner: str, datapoint: str) -> list[dict]:
        return self._call(self.service.list_payloads, partner, datapoint)

    def new_session(self, partner: str, datapoint: str, body: bytes,
                    outcome: str | None = None, *, name: str = "",
                    content_type: str | None = None) -> dict:
        return self._call(lambda: self.service.new_session(
            partner, datapoint, body, outcome, name=name, content_type=content_type))

    def get_session(self, partner: str, datapoint: str, session_id: str) -> dict:
        return self._call(self.service.get_session, partner, datapoint, session_id)

    def list_sessions(self) -> list[dict]:
        return self._call(self.service.list_sessions)

    def delete_session(self, session_id: str) -> dict:
        return self._call(self.service.delete_session, session_id)

    def clear_sessions(self) -> dict:
        return self._call(self.service.clear_sessions)

    def status(self) -> dict:
        return self._call(self.service.status)

    def add_fault(self, body: dict) -> dict:
        return self._call(self.service.faults.add, json.dumps(body).encode())

    def list_faults(self, session: str | None = None) -> list[dict]:
        return self._call(self.service.faults.list, session)

    def delete_fault(self, fault_id: str) -> dict:
        return self._call(self.service.faults.delete, fault_id)

    def clear_faults(self, session: str | None = None) -> dict:
        return self._call(self.service.faults.clear, session)

    @staticmethod
    def _call(action: Callable[..., Any], *args: Any) -> Any:
        from ..errors import RequestError

        try:
            return action(*args)
        except RequestError as exc:
            problem = exc.extra.get("problem")
            raise RemoteError(exc.status, f"{exc.detail}: {problem}" if isinstance(problem, str)
                              else exc.detail) from None


def local_service(partners: str | Path, db: str | Path) -> AdminService:
    """The admin service over a store file and a partners directory, with no proxy running."""
    from ..admin import AdminService
    from ..definitions import Definitions
    from ..store import open_store

    store = open_store(db)
    definitions = Definitions([str(partners)], store)
    definitions.reload(initial=True)
    return AdminService(definitions, store)


def open_remote(args: argparse.Namespace) -> Remote:
    """``--db``: the store file (and ``--partners``); otherwise the proxy at ``--url``."""
    if getattr(args, "db", None):
        from ..errors import StoreError

        try:
            return LocalRemote(local_service(args.partners or str(default_partners()), args.db))
        except StoreError as exc:  # one line naming the store, its password masked
            raise SystemExit(fail(str(exc), 2)) from None
    from ..client import AdminClient

    return HttpRemote(AdminClient.from_env(getattr(args, "url", None), getattr(args, "key", None)))


def cmd_payload(args: argparse.Namespace) -> int:
    try:
        if args.action == "list":
            rows = open_remote(args).list_payloads(args.partner, args.datapoint)
            if args.json:
                print_json(rows)
            else:
                for row in rows:
                    console.print(f"{row['name'] or '(default)'}  {row['content_type']}  "
                                  f"{row['bytes']} bytes  {row['updated_at']}", highlight=False)
            return 0
        if args.action == "get":
            remote = open_remote(args)
            result = (remote.get_session(args.partner, args.datapoint, args.session)
                      if args.session else remote.get_payload(args.partner, args.datapoint,
                                                              args.name or ""))
            if args.json:
                print_json(result)
            else:
                console.print(f"updated: {result.get('updated_at') or result.get('created_at')}")
                if isinstance(result["payload"], str):
                    print(result["payload"])
                else:
                    print_json(result["payload"])
            return 0
        source = args.file
        body = sys.stdin.buffer.read() if source in (None, "-") else Path(source).read_bytes()
        content_type = args.content_type or content_type_of(source)
        remote = open_remote(args)
        set_action = remote.new_session if args.session else remote.set_payload
        result = set_action(args.partner, args.datapoint, body, args.outcome,
                            name=args.name or "", content_type=content_type)
        if args.json:
            print_json(result)
        elif args.session:
            print(result["session_id"])
        else:
            console.print(f"[green]payload set for {args.partner}/{args.datapoint}[/]")
        return 0
    except RemoteError as exc:
        return fail(str(exc.detail))
    except OSError as exc:
        return fail(f"cannot read {args.file}: {exc}")


def content_type_of(source: str | None) -> str | None:
    """The content type a payload file's extension names (``.xml``, ``.txt``, ``.csv``...);
    None for JSON and stdin (the admin API takes a body that parses as JSON as JSON)."""
    from ..seeding import CONTENT_TYPES

    if source in (None, "-"):
        return None
    suffix = Path(source).suffix.lower()
    return None if suffix == ".json" else CONTENT_TYPES.get(suffix)


def cmd_sessions(args: argparse.Namespace) -> int:
    try:
        remote = open_remote(args)
        if args.action == "list":
            rows = remote.list_sessions()
            if args.json:
                print_json(rows)
            else:
                console.print(format_sessions(rows) if rows else "No sessions.")
            return 0
        if args.action == "delete":
            result = remote.delete_session(args.session_id)
        else:
            result = remote.clear_sessions()
    except RemoteError as exc:
        return fail(str(exc.detail))
    if args.json:
        print_json(result)
    else:
        console.print(f"[green]{result}[/]")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    try:
        status = open_remote(args).status()
    except RemoteError as exc:
        return fail(str(exc.detail))
    if args.json:
        print_json(status)
        return 0
    console.print(f"imnot-proxy {status['version']}: {len(status['partners'])} partners "
                  f"({', '.join(status['partners'])}), {status['routes']} routes, "
                  f"{status['sessions']} sessions", highlight=False)
    for fault in status.get("faults", ()):
        target = "/".join(filter(None, (fault["partner"], fault.get("datapoint"))))
        console.print(f"fault {fault['id']}: {fault['kind']} on {target}"
                      f"{' ' + fault['endpoint'] if fault.get('endpoint') else ''} for "
                      f"{'session ' + fault['session'] if fault['session'] else 'everyone'}",
                      highlight=False)
    report = status.get("last_reload")
    if report:
        colour = "green" if report["status"] == "ok" else "red"
        console.print(f"last reload at {report['at']}: [{colour}]{report['status']}[/]")
        for problem in report["problems"]:
            console.print(f"  [red]{problem}[/]", highlight=False)
    return 0
