"""``start`` and ``addon-path``: turn the CLI flags into a proxy command line and run it.

The only part of the CLI that imports mitmproxy, and only when the proxy actually starts,
so that every other command stays quick.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..workers import supervise, worker_count
from .output import console, err_console
from .paths import addon_path, default_partners, examples_dir
from .preflight import follow_listen_address, record_notice, taken_ports, web_argv


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
    if args.web:
        argv += web_argv(extra)
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
    try:
        follow_listen_address(args, extra)
        count = worker_count(getattr(args, "workers", "1"))
    except ValueError as exc:
        print(f"imnot-proxy: {exc}", file=sys.stderr)
        return 2
    argv = start_argv(args, extra)
    if count > 1 and (args.web or getattr(args, "full", False)):
        print("imnot-proxy: --workers runs the lean engine; it does not combine with --web "
              "or --full", file=sys.stderr)
        return 2
    taken = taken_ports(args, extra)
    if taken:
        for line in taken:
            err_console.print(line, highlight=False, markup=False)
        return 1
    partners = str(args.partners or default_partners())

    def listening() -> None:  # said once the proxy listens, never when it fails to start
        console.print(f"imnot-proxy {__version__} listening on http://{args.host}:{args.port} "
                      f"(partners: {partners})", highlight=False)
        notice = record_notice(args, extra, partners)
        if notice:
            console.print(notice, highlight=False, markup=False)

    if count > 1:  # workers on one SQLite file also share the journal
        return supervise(["--set", "imnot_shared_journal=true", *argv], count,
                         confdir=args.confdir, label=f" on {args.host}:{args.port}",
                         verbose=args.verbose, on_listening=listening)
    if not (args.web or getattr(args, "full", False)):
        from .. import lean

        return lean.run(argv, print_flows=args.verbose, on_listening=listening)
    return run_mitmproxy(argv, web=args.web, verbose=args.verbose, on_listening=listening)


def run_mitmproxy(argv: Sequence[str], *, web: bool, verbose: bool,
                  on_listening: Callable[[], None]) -> int:
    """mitmdump or mitmweb with the addon as a script (``-s`` in ``argv``), and ``Listening``."""
    from mitmproxy.tools import cmdline
    from mitmproxy.tools import main as mitm_main

    from ..listening import Listening, quiet_connections

    quiet_connections(verbose)
    if web:
        from mitmproxy.tools.web.master import WebMaster as Base
    else:
        from mitmproxy.tools.dump import DumpMaster as Base

    class Announcing(Base):  # type: ignore[misc, valid-type]
        def __init__(self, opts: Any) -> None:
            super().__init__(opts)
            self.addons.add(Listening(on_listening))

    def dump_filter(parsed: argparse.Namespace) -> dict[str, str]:  # as mitmdump's own main
        text = " ".join(getattr(parsed, "filter_args", None) or ())
        return dict(save_stream_filter=text, readfile_filter=text,
                    dumper_filter=text) if text else {}

    mitm_main.run(Announcing, cmdline.mitmweb if web else cmdline.mitmdump, argv,
                  None if web else dump_filter)
    return 0


def cmd_addon_path(args: argparse.Namespace) -> int:
    print(addon_path())
    return 0
