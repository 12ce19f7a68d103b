"""``imnot-proxy``: run the proxy and work with partner files.

``main(argv) -> int`` parses arguments (``parser.py``) and calls one ``cmd_*`` function per
sub-command, from the module of its command group: ``start``, ``files`` (partner files),
``remote`` (a proxy's state), ``record``, ``verify`` and ``ca``. Output goes through ``output.py``.
mitmproxy is imported only by ``start``, so ``validate``/``routes``/``init`` stay quick.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .ca import cmd_ca
from .faults import cmd_fault
from .files import cmd_export, cmd_generate, cmd_init, cmd_routes, cmd_schema, cmd_validate
from .parser import build_parser
from .record import cmd_record
from .remote import cmd_payload, cmd_sessions, cmd_status
from .start import cmd_addon_path, cmd_start
from .verify import cmd_verify

__all__ = ["COMMANDS", "build_parser", "main"]

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
    "fault": cmd_fault,
    "verify": cmd_verify,
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
