"""``imnot-proxy``: run the proxy and work with partner files.

``main(argv) -> int`` parses arguments and calls one ``cmd_*`` function per
sub-command; output goes through one rich ``Console``. mitmproxy is imported
only by ``start``, so ``validate``/``routes``/``init`` stay quick.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__, loader
from .errors import Problem

_WIDTH = None if sys.stdout.isatty() else 160  # pipes and CI logs: do not wrap at 80
console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=_WIDTH)


SCHEMA_FILE = "partner.schema.json"


def addon_path() -> Path:
    """The ``-s`` entry script (alone in its folder, see ``_mitm/entry.py``)."""
    return Path(str(resources.files("imnot_proxy") / "_mitm" / "entry.py"))


def examples_dir() -> Path:
    return Path(str(resources.files("imnot_proxy") / "examples"))


def default_partners() -> Path:
    """``./partners`` when it exists, else the bundled examples."""
    local = Path("partners")
    return local if local.is_dir() else examples_dir()


# --- formatting (pure) -------------------------------------------------------------


def format_problems(problems: Sequence[Problem]) -> Table:
    table = Table(title="Problems in partner files", show_lines=False)
    table.add_column("Severity")
    table.add_column("Location", overflow="fold")
    table.add_column("Field", overflow="fold")
    table.add_column("Explanation", overflow="fold")
    for p in problems:
        style = "bold red" if p.is_error else "yellow"
        where = f"{p.file}:{p.line}" if p.line else p.file
        table.add_row(f"[{style}]{p.severity}[/]", where, p.loc, p.message)
    return table


def format_routes(rows: Sequence[dict]) -> Table:
    table = Table(title="Routes")
    for column in ("host", "method", "path", "partner/datapoint", "pattern"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["host"], row["method"], row["path"], row["owner"], row["pattern"])
    return table


def route_rows(result: loader.LoadResult, admin_host: str = "imnot.proxy") -> list[dict]:
    """Partner routes, then the admin routes (per payload datapoint, then the fixed ones)."""
    from .admin import ROUTES
    from .rules import route_entries
    from .schema import PAYLOAD_PATTERNS

    rows = []
    for source in result.partners:
        for entry in route_entries(source.model):
            route = entry.route
            rows.append({"host": route.host, "method": route.method, "path": route.path,
                         "owner": route.owner, "pattern": route.pattern, "step": route.step})
    for source in result.partners:
        for dp in source.model.datapoints:
            if dp.pattern not in PAYLOAD_PATTERNS:
                continue
            for method, path, _ in ROUTES:
                if "{partner}/{datapoint}" in path and (
                        "/callback/" not in path or dp.pattern == "callback"):
                    concrete = path.replace("{partner}", source.name).replace(
                        "{datapoint}", dp.name)
                    rows.append({"host": admin_host, "method": method, "path": concrete,
                                 "owner": f"{source.name}/{dp.name}", "pattern": "admin",
                                 "step": None})
    for method, path, _ in ROUTES:
        if "{partner}" not in path:
            rows.append({"host": admin_host, "method": method, "path": path, "owner": "-",
                         "pattern": "admin", "step": None})
    return rows


# --- commands ------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    paths = args.paths or [str(default_partners())]
    result = loader.load_paths(paths, strict=args.strict)
    if args.json:
        print(json.dumps({"ok": not result.errors,
                          "partners": [s.name for s in result.partners],
                          "problems": [p.__dict__ for p in result.problems]}, indent=2))
    else:
        for p in result.problems:
            style = "bold red" if p.is_error else "yellow"
            console.print(f"[{style}]{p.severity}[/] {escape(str(p))}", highlight=False,
                          soft_wrap=True)
        names = ", ".join(s.name for s in result.partners) or "none"
        n_err, n_warn = len(result.errors), len(result.warnings)
        colour = "red" if n_err else "green"
        console.print(f"[{colour}]{len(result.files)} files, partners loaded: {names}; "
                      f"{n_err} errors, {n_warn} warnings[/]")
    return 1 if result.errors else 0


def cmd_routes(args: argparse.Namespace) -> int:
    paths = args.paths or [str(default_partners())]
    result = loader.load_paths(paths)
    rows = route_rows(result)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        console.print(format_routes(rows))
        if result.errors:
            err_console.print(format_problems(result.errors))
    return 1 if result.errors else 0


def cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.dir) / "partners"
    if target.exists():
        err_console.print(f"[red]{target} already exists; nothing written[/]")
        return 1
    from .schema import json_schema

    shutil.copytree(examples_dir(), target,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (target / SCHEMA_FILE).write_text(json.dumps(json_schema(), indent=2) + "\n", "utf-8")
    for partner_file in target.glob("*/partner.yaml"):
        text = partner_file.read_text("utf-8")
        partner_file.write_text(f"# yaml-language-server: $schema=../{SCHEMA_FILE}\n" + text,
                                "utf-8")
    console.print(f"[green]wrote {target}[/] with the StayLink and BookingCo examples "
                  f"and {SCHEMA_FILE} for editors")
    for path in sorted(target.rglob("*.yaml")):
        console.print(f"  {path}")
    return 0


def cmd_addon_path(args: argparse.Namespace) -> int:
    print(addon_path())
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from .schema import json_schema

    text = json.dumps(json_schema(), indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        err_console.print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def cmd_ca(args: argparse.Namespace) -> int:
    from . import ca

    try:
        files, created = ca.ensure_ca(args.confdir)
    except (OSError, ValueError) as exc:
        return _fail(f"cannot create or read the CA in {ca.confdir_path(args.confdir)}: {exc}")
    if created:
        err_console.print(f"created a new CA in {files.confdir}", highlight=False)
    if args.path:
        print(files.cert)
        return 0
    written = []
    try:
        if args.out:
            written.append(ca.export(files.cert, Path(args.out)))
        if args.p12:
            written.append(ca.export(files.p12, Path(args.p12)))
        if args.bundle:
            base = Path(args.base) if args.base else None
            written.append(ca.write_bundle(files.cert, Path(args.bundle), base))
    except OSError as exc:
        return _fail(str(exc))
    if args.recipes or not written:
        bundle = args.bundle or "imnot-bundle.pem"
        print(ca.recipes(files.cert, args.proxy, bundle))
    else:
        print(f"CA certificate: {files.cert}")
    print(f"SHA-256 fingerprint: {ca.fingerprint(files.cert)}")
    for path in written:
        print(f"wrote {path}")
    return 0


def start_argv(args: argparse.Namespace, extra: Sequence[str]) -> list[str]:
    """The proxy command line that ``start`` runs in-process (lean engine, mitmdump or mitmweb).

    The lean engine adds the addon itself; mitmdump and mitmweb load it with ``-s``.
    """
    partners = args.partners or str(default_partners())
    full = args.web or getattr(args, "full", False)
    argv = [
        "--listen-host", args.host, "--listen-port", str(args.port),
        *(["-s", str(addon_path())] if full else []),
        "--set", "connection_strategy=lazy",
        "--set", f"imnot_partners={partners}",
    ]
    if args.db:
        argv += ["--set", f"imnot_db={args.db}"]
    elif Path(partners).resolve().is_relative_to(examples_dir().resolve()):
        argv += ["--set", f"imnot_db={Path('imnot.db').absolute()}"]
    if args.confdir:
        argv += ["--set", f"confdir={args.confdir}"]
    argv += ["--set", f"imnot_watch={'false' if args.no_watch else 'true'}"]
    mode = ["--mode", "regular"]
    if getattr(args, "upstream", None):
        mode = upstream_argv(args.upstream)
    if args.admin_port:
        # A separate plain listener for the admin API, for clients that cannot use a proxy.
        mode[1] += f"@{args.port}"
        mode += ["--mode", f"reverse:http://{args.admin_host}:80@{args.admin_port}"]
    if mode != ["--mode", "regular"]:
        argv += mode
    if args.admin_host != "imnot.proxy":
        argv += ["--set", f"imnot_admin_host={args.admin_host}"]
    if args.record:
        argv += ["--set", "imnot_mode=record"]
    for host in args.record_host or ():
        argv += ["--set", f"imnot_record_hosts={host}"]
    if args.json_logs:
        argv += ["--set", "imnot_json_logs=true"]
    if full and not args.web and not args.verbose:
        argv += ["--flow-detail", "0"]
    return argv + list(extra)


def upstream_argv(url: str) -> list[str]:
    """mitmproxy's upstream mode for ``--upstream http://[user:pass@]host:port``.

    The credentials go to ``imnot_upstream_auth``, not mitmproxy's ``upstream_auth``, which
    would write them over the client's own proxy credentials (the session) on plain HTTP;
    mocked requests never reach the upstream proxy, everything forwarded does.
    """
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SystemExit(f"imnot-proxy: --upstream needs http://host:port, got {url!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    argv = ["--mode", f"upstream:{parts.scheme}://{host}:{port}"]
    if parts.username:
        auth = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        argv += ["--set", f"imnot_upstream_auth={auth}"]
    return argv


def cmd_start(args: argparse.Namespace, extra: Sequence[str]) -> int:
    argv = start_argv(args, extra)
    console.print(f"imnot-proxy {__version__} listening on http://{args.host}:{args.port} "
                  f"(partners: {args.partners or default_partners()})", highlight=False)
    if args.host not in ("127.0.0.1", "localhost", "::1") and not os.environ.get(
            "IMNOT_ADMIN_KEY"):
        err_console.print("[bold red]WARNING: listening on a non-loopback address without an "
                          "admin key; anyone who reaches the port can change the mocks[/]")
    if not (args.web or getattr(args, "full", False)):
        from . import lean

        return lean.run(argv, print_flows=args.verbose)
    from mitmproxy.tools import main as mitm_main

    runner = mitm_main.mitmweb if args.web else mitm_main.mitmdump
    runner(argv)
    return 0


def _client(args: argparse.Namespace):
    from .client import AdminClient

    return AdminClient.from_env(getattr(args, "url", None), getattr(args, "key", None))


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _fail(message: str, code: int = 1) -> int:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return code


def _offline_service(args: argparse.Namespace):
    """Admin actions on the store file and the partner files, without a running proxy."""
    from .admin import AdminService
    from .definitions import Definitions
    from .store import open_store

    store = open_store(args.db)
    definitions = Definitions([args.partners or str(default_partners())], store)
    definitions.reload(initial=True)
    return AdminService(definitions, store)


def _admin_call(args: argparse.Namespace, method: str, path: str,
                body: bytes | None = None) -> object:
    return _client(args).call(method, path, body)


def cmd_payload(args: argparse.Namespace) -> int:
    from .client import AdminCallError
    from .errors import RequestError

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
                _print_json(result)
            else:
                console.print(f"updated: {result.get('updated_at') or result.get('created_at')}")
                _print_json(result["payload"])
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
            _print_json(result)
        elif args.session:
            print(result["session_id"])
        else:
            console.print(f"[green]payload set for {args.partner}/{args.datapoint}[/]")
        return 0
    except (AdminCallError, RequestError) as exc:
        return _fail(str(getattr(exc, "detail", exc)))
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc}")


def cmd_sessions(args: argparse.Namespace) -> int:
    from .client import AdminCallError
    from .errors import RequestError

    try:
        svc = _offline_service(args) if args.db else None
        if args.action == "list":
            rows = svc.list_sessions() if svc else _admin_call(args, "GET", "/imnot/admin/sessions")
            if args.json:
                _print_json(rows)
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
            _print_json(result)
        else:
            console.print(f"[green]{result}[/]")
        return 0
    except (AdminCallError, RequestError) as exc:
        return _fail(str(getattr(exc, "detail", exc)))


def cmd_status(args: argparse.Namespace) -> int:
    from .client import AdminCallError

    try:
        status = _admin_call(args, "GET", "/imnot/admin/status")
    except AdminCallError as exc:
        return _fail(str(exc.detail))
    if args.json:
        _print_json(status)
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


def cmd_generate(args: argparse.Namespace) -> int:
    from . import registry
    from .errors import RequestError

    partners_dir = Path(args.partners_dir or "partners")
    if not partners_dir.is_dir():
        return _fail(f"partners directory {partners_dir} not found", 3)
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"cannot read {args.file}: {exc}")
    current = loader.load_paths([partners_dir]).partners
    try:
        result, _ = registry.register(text, partners_dir, current, force=args.force,
                                      dry_run=args.dry_run, strict=args.strict,
                                      label=args.file)
    except RequestError as exc:
        if args.json:
            _print_json({"status": "error", "error": exc.detail})
        else:
            details = exc.detail if isinstance(exc.detail, list) else [exc.detail]
            for line in details:
                err_console.print(f"[red]{line}[/]", highlight=False)
        return 2 if exc.status == 409 else 1
    model = result.source.model
    view = {"status": "ok", "partner": model.partner, "file": str(result.file),
            "created": result.created and not args.dry_run, "dry_run": args.dry_run,
            "datapoints": [{"name": dp.name, "pattern": dp.pattern,
                            "endpoints": [{"method": ep.method, "path": ep.path}
                                          for ep in dp.endpoints]}
                           for dp in model.datapoints]}
    view["warnings"] = result.warnings
    if args.json:
        _print_json(view)
    else:
        for warning in result.warnings:
            err_console.print(f"[yellow]warning[/] {escape(warning)}", highlight=False)
        verb = "would write" if args.dry_run else "wrote"
        console.print(f"[green]{verb} {result.file}[/]")
        for dp in view["datapoints"]:
            for ep in dp["endpoints"]:
                console.print(f"  {ep['method']:6} {ep['path']}  [{dp['pattern']}] {dp['name']}",
                              highlight=False, markup=False)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .postman import collection

    result = loader.load_paths([args.partners or str(default_partners())])
    partners = [s.model for s in result.partners]
    if args.partner:
        unknown = set(args.partner) - {p.partner for p in partners}
        if unknown:
            return _fail(f"unknown partner(s): {', '.join(sorted(unknown))}")
        partners = [p for p in partners if p.partner in args.partner]
    if not partners:
        return _fail("no partners to export")
    data = collection(partners)
    Path(args.out).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    count = sum(len(dp.endpoints) for p in partners for dp in p.datapoints)
    console.print(f"[green]wrote {args.out}[/]: {len(partners)} partners, {count} consumer "
                  "requests plus admin requests")
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    """``record to-yaml``: recorded flows → partner YAML and payload files, after review."""
    from .recording import yamlout
    from .recording.har import HarError, read_any
    from .recording.infer import infer
    from .schema import PARTNER_NAME_RE

    if not PARTNER_NAME_RE.match(args.partner):
        return _fail(f"partner name {args.partner!r} must match {PARTNER_NAME_RE.pattern}")
    exchanges = []
    for name in args.files:
        try:
            exchanges.extend(read_any(Path(name)))
        except HarError as exc:
            return _fail(str(exc))
        except OSError as exc:
            return _fail(f"{name}: cannot read: {exc.strerror or exc}")
    result = infer(exchanges, args.partner, hosts=args.host or ())
    table = Table(title=f"record to-yaml: {len(exchanges)} flows → partner {args.partner}")
    for column in ("flows", "request", "became", "why"):
        table.add_column(column, overflow="fold")
    for row in result.inferred:
        table.add_row(row.flows, row.request, f"[green]{row.outcome}[/]", row.why)
    for row in result.skipped:
        table.add_row(row.flows, row.request, f"[yellow]{row.outcome}[/]", row.why)
    console.print(table)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if not result.datapoints:
        return _fail("nothing to write: no usable flows in the recording")
    folder = Path(args.out) / args.partner
    try:
        rendered = yamlout.render(result, [Path(f).name for f in args.files], folder)
    except yamlout.OutputError as exc:
        return _fail(str(exc))
    if args.dry_run:
        print(rendered.partner_yaml, end="")
        for file in rendered.payloads:
            console.print(f"would write {folder / file}", highlight=False)
        return 0
    target = folder / yamlout.PARTNER_FILE
    if target.exists() and not args.force:
        return _fail(f"{target} exists; use --force to overwrite it")
    for path in yamlout.write(rendered, folder):
        console.print(f"[green]wrote[/] {path}", highlight=False)
    console.print("Review the file, then: imnot-proxy validate " + str(folder), highlight=False)
    return 0


# --- argument parsing -----------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imnot-proxy",
        description="Stateful partner API mocks and recording, as a mitmproxy addon.",
    )
    parser.add_argument("--version", action="version", version=f"imnot-proxy {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("start", help="run the proxy (lean engine; --full: mitmdump, --web: mitmweb)",
                       description="Run the proxy with the addon. Arguments after '--' go to "
                                   "the proxy unchanged: --set, --mode, --listen-host/-port, -q "
                                   "and a few more for the lean engine, any mitmdump/mitmweb "
                                   "option with --full/--web.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--partners", help="partners directory (default: ./partners, else the "
                                      "bundled examples)")
    p.add_argument("--db", help="state store (default: imnot.db beside the partners directory)")
    p.add_argument("--confdir", help="mitmproxy confdir: CA and settings (default ~/.mitmproxy)")
    engine = p.add_mutually_exclusive_group()
    engine.add_argument("--web", action="store_true", help="run mitmweb (the full addon set)")
    engine.add_argument("--full", action="store_true",
                        help="run all of mitmdump with the addon as a script (slower; every "
                             "mitmdump option)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every flow")
    p.add_argument("--upstream", metavar="URL",
                   help="forward everything not mocked through this HTTP proxy "
                        "(http://[user:pass@]host:port; mitmproxy's upstream mode)")
    p.add_argument("--admin-port", type=int,
                   help="also serve the admin API on this port, without a proxy")
    p.add_argument("--admin-host", default="imnot.proxy",
                   help="virtual host of the admin API through the proxy")
    p.add_argument("--record", action="store_true",
                   help="record mode: forward partner traffic and record it to recordings/")
    p.add_argument("--record-host", action="append", metavar="HOST",
                   help="forward and record this host even without a partner file (repeatable)")
    p.add_argument("--no-watch", action="store_true",
                   help="do not reload partner files when they change")
    p.add_argument("--json-logs", action="store_true", help="log lines as JSON objects")

    p = sub.add_parser("validate", help="check partner files; exit 1 on errors")
    p.add_argument("paths", nargs="*", help="partner directories or files (default: ./partners)")
    p.add_argument("--strict", action="store_true", help="unknown keys are errors")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("routes", help="list the routes the partner files define")
    p.add_argument("paths", nargs="*")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("init", help="scaffold partners/ with the StayLink and BookingCo examples")
    p.add_argument("--dir", default=".")

    sub.add_parser("addon-path", help="print the script path for mitmdump -s / mitmweb -s")

    p = sub.add_parser("ca", help="where the proxy's CA is (created if missing), export it, "
                                  "and how to make clients trust it",
                       description="Print the CA path and trust recipes for curl, Python, "
                                   "Node, the JVM, .NET and system stores; export the CA.")
    p.add_argument("--confdir", help="mitmproxy confdir (default ~/.mitmproxy)")
    p.add_argument("--out", metavar="FILE", help="copy the CA certificate (PEM) here")
    p.add_argument("--p12", metavar="FILE", help="copy the CA certificate as PKCS#12 (no key)")
    p.add_argument("--bundle", metavar="FILE",
                   help="write the system CAs plus this CA, for settings that replace the "
                        "trust store (curl --cacert, REQUESTS_CA_BUNDLE, SSL_CERT_FILE)")
    p.add_argument("--base", metavar="PEM", help="with --bundle: start from these CAs instead "
                                                 "of the system store")
    p.add_argument("--path", action="store_true", help="print only the certificate path")
    p.add_argument("--recipes", action="store_true",
                   help="print the recipes also when exporting")
    p.add_argument("--proxy", default="http://127.0.0.1:8080",
                   help="proxy address used in the recipes (default http://127.0.0.1:8080)")

    p = sub.add_parser("schema", help="print the JSON Schema of a partner file")
    p.add_argument("--out")

    remote = argparse.ArgumentParser(add_help=False)
    remote.add_argument("--url", help="proxy address for the admin API "
                                      "(default: $IMNOT_URL or http://127.0.0.1:8080)")
    remote.add_argument("--key", help="admin key (default: $IMNOT_ADMIN_KEY)")
    remote.add_argument("--json", action="store_true", help="JSON output for scripts")
    offline = argparse.ArgumentParser(add_help=False)
    offline.add_argument("--db", help="work on this store file directly, without a proxy")
    offline.add_argument("--partners", help="partners directory (with --db)")

    p = sub.add_parser("payload", help="get or set an uploaded payload")
    payload_sub = p.add_subparsers(dest="action", required=True)
    for action in ("get", "set"):
        q = payload_sub.add_parser(action, parents=[remote, offline])
        q.add_argument("partner")
        q.add_argument("datapoint")
        if action == "set":
            q.add_argument("file", nargs="?", help="JSON file, or - for stdin (default)")
            q.add_argument("--session", action="store_true",
                           help="upload into a new session; prints its id")
            q.add_argument("--outcome", help="outcome of ids made from this payload, e.g. failed")
        else:
            q.add_argument("--session", help="a session id instead of the global payload")

    p = sub.add_parser("sessions", help="list, delete or clear sessions")
    sessions_sub = p.add_subparsers(dest="action", required=True)
    sessions_sub.add_parser("list", parents=[remote, offline])
    q = sessions_sub.add_parser("delete", parents=[remote, offline])
    q.add_argument("session_id")
    sessions_sub.add_parser("clear", parents=[remote, offline])

    sub.add_parser("status", parents=[remote],
                   help="partners, routes, sessions and the last reload of a running proxy")

    p = sub.add_parser("generate", help="validate a partner file and write it into partners/")
    p.add_argument("--file", required=True, help="partner YAML, or - for stdin")
    p.add_argument("--partners-dir", default="partners")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--force", action="store_true")
    p.add_argument("--strict", action="store_true", help="unknown keys are errors")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("export", help="export the partners (postman)")
    export_sub = p.add_subparsers(dest="format", required=True)
    q = export_sub.add_parser("postman", help="a Postman v2.1 collection")
    q.add_argument("--out", default="imnot-collection.json")
    q.add_argument("--partner", action="append", help="only this partner (repeatable)")
    q.add_argument("--partners", help="partners directory (default: ./partners)")

    p = sub.add_parser("record", help="turn recordings into partner files")
    record_sub = p.add_subparsers(dest="action", required=True)
    q = record_sub.add_parser(
        "to-yaml", help="infer partner YAML and payloads from HAR or mitmproxy flow files",
        description="Read HAR files (ours or a browser's) and mitmproxy flow files, infer ids, "
                    "polling, paging, tokens and callbacks, and write <out>/<partner>/partner.yaml "
                    "plus payloads/. Secrets are redacted.")
    q.add_argument("files", nargs="+", metavar="FILE", help="HAR or mitmproxy flow files")
    q.add_argument("--partner", required=True, help="name of the partner to write")
    q.add_argument("--out", default="partners", help="partners directory (default: partners)")
    q.add_argument("--host", nargs="+", action="extend",
                   help="only flows to these hosts (or *.suffix); default: every host")
    q.add_argument("--dry-run", action="store_true", help="print the YAML, write nothing")
    q.add_argument("--force", action="store_true", help="overwrite an existing partner.yaml")
    return parser


COMMANDS = {
    "validate": cmd_validate,
    "routes": cmd_routes,
    "init": cmd_init,
    "addon-path": cmd_addon_path,
    "schema": cmd_schema,
    "payload": cmd_payload,
    "sessions": cmd_sessions,
    "status": cmd_status,
    "generate": cmd_generate,
    "export": cmd_export,
    "record": cmd_record,
    "ca": cmd_ca,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    args = build_parser().parse_args(argv)
    if args.command == "start":
        return cmd_start(args, extra)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
