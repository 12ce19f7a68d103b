"""What ``start`` checks and says before the proxy runs: where it will listen (also when the
address is given to mitmproxy after ``--``), ports that are taken (named by the flag that
sets them, before anything claims to listen), mitmweb's columns, and what record mode records
where."""

from __future__ import annotations

import argparse
import socket
from collections.abc import Sequence
from pathlib import Path

# mitmweb's default columns, plus the comment that says mock, miss, admin or record.
WEB_COLUMNS = ("tls", "icon", "path", "method", "status", "size", "time", "comment")
# mitmproxy's flags for the listening address, as the lean engine, mitmdump and mitmweb take them.
PORT_FLAGS = ("--listen-port", "-p")
HOST_FLAGS = ("--listen-host",)


def port_taken(host: str, port: int) -> bool:
    """Whether something already listens on ``host:port`` (binding as mitmproxy does)."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return False  # mitmproxy reports an unknown host itself
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError:
            return True
    return False


def follow_listen_address(args: argparse.Namespace, extra: Sequence[str]) -> None:
    """Take the address mitmproxy will listen on from the arguments after ``--``, if they
    give one (``--listen-port``/``-p``, ``--listen-host``, ``--set listen_port=``/
    ``listen_host=``), into ``args.port`` and ``args.host``: the taken-port check, the
    start line and ``--admin-port`` then speak of the port that is really used.

    Raises ValueError for a port that is not one.
    """
    port = _passed(extra, PORT_FLAGS, "listen_port")
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"the listening port after -- must be a number from 1 to 65535, "
                             f"not {port!r} (or give it with --port)")
        args.port = int(port)
    host = _passed(extra, HOST_FLAGS, "listen_host")
    if host is not None:
        args.host = host


def _passed(extra: Sequence[str], flags: Sequence[str], option: str) -> str | None:
    """The value mitmproxy gives ``option``: its flags win over ``--set option=``, and the
    last of each wins."""
    flagged = None
    pending = False
    for arg in extra:
        if pending:
            flagged, pending = arg, False
            continue
        name, eq, value = arg.partition("=")
        if arg in flags:
            pending = True
        elif eq and name in flags:
            flagged = value
        elif any(arg.startswith(f) and not f.startswith("--") and len(arg) > len(f)
                 for f in flags):  # -p18170
            flagged = arg[2:]
    return flagged if flagged is not None else _value(extra, option)


def taken_ports(args: argparse.Namespace, extra: Sequence[str]) -> list[str]:
    """One line per port of ours that is taken, naming the flag that chooses another."""
    wanted = [(args.port, "--port")]
    if getattr(args, "admin_port", None):
        wanted.append((args.admin_port, "--admin-port"))
    if getattr(args, "web", False) and not _sets(extra, "web_port"):
        wanted.append((8081, "-- --set web_port=PORT"))
    return [f"imnot-proxy: port {port} on {args.host} is already in use; choose another "
            f"with {flag}" for port, flag in wanted if port_taken(args.host, port)]


def web_argv(extra: Sequence[str]) -> list[str]:
    """mitmweb's flow list with the imnot comment column, unless the user chose columns."""
    if _sets(extra, "web_columns"):
        return []
    return [arg for column in WEB_COLUMNS for arg in ("--set", f"web_columns={column}")]


def record_notice(args: argparse.Namespace, extra: Sequence[str], partners: str) -> str | None:
    """What record mode records, where, and that secrets are redacted; None when not recording."""
    everything = args.record or _value(extra, "imnot_mode") == "record"
    if not (everything or args.record_host):
        return None
    from ..settings import default_recordings

    folder = Path(_value(extra, "imnot_recordings") or default_recordings([partners]))
    hosts = ", ".join(args.record_host or ())
    if everything:
        what = "record mode: requests for the partner files' hosts" + (
            f" and for {hosts}" if hosts else "")
    else:
        what = f"recording {hosts}: their requests"
    return (f"{what} go to the real servers, and each exchange is appended to a HAR file in "
            f"{folder}/. Secrets are redacted before anything is written (Authorization, "
            "cookies, API-key headers, tokens, passwords; add names with --set "
            "imnot_redact_headers=... or imnot_redact_fields=...). Make a partner file from a "
            "recording with: imnot-proxy record to-yaml FILE.har --partner NAME")


def _sets(extra: Sequence[str], name: str) -> bool:
    return _value(extra, name) is not None


def _value(extra: Sequence[str], name: str) -> str | None:
    """The last ``--set name=value`` among the arguments passed through to the proxy."""
    found = None
    for arg in extra:
        key, eq, value = arg.removeprefix("--set=").partition("=")
        if eq and key == name:
            found = value
    return found
