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
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p.add_argument("--partners", help="partners directory (default: ./partners, else the "
                                      "bundled examples)")
    p.add_argument("--db", help="state store (default: imnot.db beside the partners directory)")
    p.add_argument("--confdir", help="mitmproxy confdir: CA and settings (default ~/.mitmproxy)")
    engine = p.add_mutually_exclusive_group()
    engine.add_argument("--web", action="store_true", help="run mitmweb (the full addon set)")
    engine.add_argument("--full", action="store_true",
                        help="run all of mitmdump with the addon as a script (slower; every "
                             "mitmdump option)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print every flow and mitmproxy's connection lines")
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
    p.add_argument("--workers", default="1", metavar="N",
                   help="run N lean proxy processes on the port (auto: one per core), sharing "
                        "the store, restarted when one dies (default 1)")

    p = sub.add_parser("validate", help="check partner files; exit 1 on errors")
    p.add_argument("paths", nargs="*", help="partner directories or files (default: ./partners)")
    p.add_argument("--strict", action="store_true",
                   help="warnings are errors (unknown keys, and what the original accepts "
                        "but ignores)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("routes", help="list the routes the partner files define")
    p.add_argument("paths", nargs="*")
    p.add_argument("--admin", action="store_true",
                   help="also list the admin API routes (payloads, sessions, callbacks)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("init", help="scaffold partners/ with the example partners (StayLink, "
                                    "BookingCo, ChannelLink)")
    p.add_argument("--dir", default=".",
                   help="the folder to create partners/ in (default: the current one)")
    p.add_argument("--force", action="store_true",
                   help="write the example files even if partners/ exists (other files kept)")

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

    p = sub.add_parser("payload", help="get, set or list uploaded payloads")
    payload_sub = p.add_subparsers(dest="action", required=True)
    for action in ("get", "set", "list"):
        q = payload_sub.add_parser(action, parents=[remote, offline])
        q.add_argument("partner")
        q.add_argument("datapoint")
        if action == "list":
            continue
        q.add_argument("--name", help="one of the datapoint's named payloads (default: the "
                                      "default payload)")
        if action == "set":
            q.add_argument("file", nargs="?", help="payload file (.json, .xml, .txt, .csv ...), "
                                                   "or - for stdin (default)")
            q.add_argument("--content-type",
                           help="the payload's content type (default: from the file's "
                                "extension; JSON for .json and stdin)")
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
    p.add_argument("--partners-dir", default="partners",
                   help="where to write <partner>/partner.yaml (default: partners)")
    p.add_argument("--dry-run", action="store_true",
                   help="check and show what would be written; write nothing")
    p.add_argument("--force", action="store_true",
                   help="overwrite the partner's file when it exists")
    p.add_argument("--strict", action="store_true",
                   help="warnings are errors (unknown keys, and what the original accepts "
                        "but ignores)")
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
    q.add_argument("--merge", action="store_true",
                   help="add to an existing partner.yaml: new endpoints added, its own kept, "
                        "conflicts shown and written to conflicts/")
    q.add_argument("--explain", action="store_true",
                   help="per datapoint: why, from which flows, what is not reproduced; and "
                        "every step of the replay check")
    q.add_argument("--no-check", action="store_true",
                   help="skip the replay check (the recording replayed against the new mock)")
    q = record_sub.add_parser(
        "replay-check", help="replay a recording against a partner's mock, step by step",
        description="Replay the recorded client requests in order against the partner's mock "
                    "(in-process, with a scratch store; ids the mock gives out replace the "
                    "recorded ones) and compare each answer with the recorded one: status, "
                    "body shape (keys and value types), Content-Type, Location shape. Exit 1 "
                    "when any step differs.")
    q.add_argument("files", nargs="+", metavar="FILE", help="HAR or mitmproxy flow files")
    q.add_argument("--partner", required=True, help="the partner to check")
    q.add_argument("--partners", default="partners",
                   help="partners directory or file (default: partners)")
    q.add_argument("--host", nargs="+", action="extend",
                   help="only flows to these hosts (or *.suffix); default: every host")
    q.add_argument("--json", action="store_true", help="the steps as JSON")
    p = sub.add_parser(
        "verify", help="drift check: replay a recording against the real partner (a sandbox) "
                       "and the mock, and show where they differ",
        description="Send a recording's client requests, in order, to a running partner at "
                    "--against and to the partner's mock (in-process, scratch state), each "
                    "with the ids its side gave out, and compare the answers per endpoint: "
                    "status, Content-Type, Location shape, body shape, where ids are given "
                    "out, polls until done. Timestamps, tokens and trace ids are left out of "
                    "body shapes. Exit 1 when anything differs.")
    p.add_argument("files", nargs="+", metavar="FILE", help="HAR or mitmproxy flow files")
    p.add_argument("--against", required=True, metavar="URL",
                   help="base URL of the real partner, e.g. https://sandbox.partner.example")
    p.add_argument("--partner", required=True, help="the partner whose mock is compared")
    p.add_argument("--partners", default="partners",
                   help="partners directory or file (default: partners)")
    p.add_argument("--host", nargs="+", action="extend",
                   help="only recorded flows to these hosts (or *.suffix)")
    p.add_argument("--header", action="append", metavar="'NAME: VALUE'",
                   help="send this header instead of the recorded one (credentials are "
                        "redacted in recordings); repeatable")
    p.add_argument("--ignore", action="append", metavar="FIELD",
                   help="also leave this body field out (a name, or a dotted path); repeatable")
    p.add_argument("--no-default-ignore", action="store_true",
                   help="compare timestamps, tokens and trace ids too")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    p.add_argument("--insecure", action="store_true",
                   help="do not check the sandbox's TLS certificate")
    p.add_argument("--propose", metavar="PATCH",
                   help="write the partner-file changes that would make the mock match the "
                        "real partner to PATCH, as a unified diff to review and apply "
                        "(git apply PATCH); nothing is changed")
    p.add_argument("--json", action="store_true", help="the report as JSON")
    return parser
