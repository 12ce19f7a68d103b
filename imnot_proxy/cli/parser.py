"""The argument grammar of ``imnot-proxy``: every sub-command, flag and help text.

Kept in one place, in the order ``--help`` lists the commands; the ``cmd_*`` functions
that run them live in the modules named after their command group.
"""

from __future__ import annotations

import argparse

from .. import __version__
from .faults import add_fault_parser


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

    add_fault_parser(sub, [remote, offline])

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
