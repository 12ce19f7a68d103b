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
from rich.table import Table

from . import __version__, loader
from .errors import Problem

_WIDTH = None if sys.stdout.isatty() else 160  # pipes and CI logs: do not wrap at 80
console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=_WIDTH)


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


def route_rows(result: loader.LoadResult) -> list[dict]:
    from .rules import route_entries

    rows = []
    for source in result.partners:
        for route, _ in route_entries(source.model):
            rows.append({"host": route.host, "method": route.method, "path": route.path,
                         "owner": route.owner, "pattern": route.pattern, "step": route.step})
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
            console.print(f"[{style}]{p.severity}[/] {p}", highlight=False, markup=True)
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
    shutil.copytree(examples_dir(), target,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    console.print(f"[green]wrote {target}[/] with the StayLink and BookingCo examples")
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


def start_argv(args: argparse.Namespace, extra: Sequence[str]) -> list[str]:
    """The mitmdump/mitmweb command line that ``start`` runs in-process."""
    partners = args.partners or str(default_partners())
    argv = [
        "--listen-host", args.host, "--listen-port", str(args.port),
        "-s", str(addon_path()),
        "--set", "connection_strategy=lazy",
        "--set", f"imnot_partners={partners}",
    ]
    if args.db:
        argv += ["--set", f"imnot_db={args.db}"]
    elif Path(partners).resolve().is_relative_to(examples_dir().resolve()):
        argv += ["--set", f"imnot_db={Path('imnot.db').absolute()}"]
    if args.confdir:
        argv += ["--set", f"confdir={args.confdir}"]
    if not args.web and not args.verbose:
        argv += ["--flow-detail", "0"]
    return argv + list(extra)


def cmd_start(args: argparse.Namespace, extra: Sequence[str]) -> int:
    argv = start_argv(args, extra)
    console.print(f"imnot-proxy {__version__} listening on http://{args.host}:{args.port} "
                  f"(partners: {args.partners or default_partners()})", highlight=False)
    if args.host not in ("127.0.0.1", "localhost", "::1") and not os.environ.get(
            "IMNOT_ADMIN_KEY"):
        err_console.print("[bold red]WARNING: listening on a non-loopback address without an "
                          "admin key; anyone who reaches the port can change the mocks[/]")
    from mitmproxy.tools import main as mitm_main

    runner = mitm_main.mitmweb if args.web else mitm_main.mitmdump
    runner(argv)
    return 0


# --- argument parsing -----------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imnot-proxy",
        description="Stateful partner API mocks and recording, as a mitmproxy addon.",
    )
    parser.add_argument("--version", action="version", version=f"imnot-proxy {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("start", help="run the proxy (mitmdump, or mitmweb with --web)",
                       description="Run the proxy with the addon. Arguments after '--' go to "
                                   "mitmdump/mitmweb unchanged.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--partners", help="partners directory (default: ./partners, else the "
                                      "bundled examples)")
    p.add_argument("--db", help="state store (default: imnot.db beside the partners directory)")
    p.add_argument("--confdir", help="mitmproxy confdir: CA and settings (default ~/.mitmproxy)")
    p.add_argument("--web", action="store_true", help="run mitmweb instead of mitmdump")
    p.add_argument("-v", "--verbose", action="store_true", help="print every flow")

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

    p = sub.add_parser("schema", help="print the JSON Schema of a partner file")
    p.add_argument("--out")
    return parser


COMMANDS = {
    "validate": cmd_validate,
    "routes": cmd_routes,
    "init": cmd_init,
    "addon-path": cmd_addon_path,
    "schema": cmd_schema,
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
