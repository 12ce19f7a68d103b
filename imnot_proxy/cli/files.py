"""The partner-file commands: ``validate``, ``routes``, ``init``, ``schema``, ``generate`` and
``export``. They read and write files only; none needs a running proxy.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from rich.markup import escape

from .. import loader
from .output import (
    console,
    err_console,
    fail,
    format_problems,
    format_routes,
    print_json,
    route_rows,
)
from .paths import default_partners, examples_dir

SCHEMA_FILE = "partner.schema.json"


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
    if not args.admin:
        rows = [row for row in rows if row["pattern"] != "admin"]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        console.print(format_routes(rows))
        if not args.admin:
            console.print("admin routes (payloads, sessions, ...) are listed with --admin",
                          style="dim", highlight=False)
        if result.errors:
            err_console.print(format_problems(result.errors))
    return 1 if result.errors else 0


def cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.dir) / "partners"
    if target.exists() and not args.force:
        return fail(f"{target} already exists; nothing written (--force writes the example "
                    "files over it and keeps your other files)")
    from ..schema import json_schema

    shutil.copytree(examples_dir(), target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (target / SCHEMA_FILE).write_text(json.dumps(json_schema(), indent=2) + "\n", "utf-8")
    for partner_file in target.glob("*/partner.yaml"):
        text = partner_file.read_text("utf-8")
        partner_file.write_text(f"# yaml-language-server: $schema=../{SCHEMA_FILE}\n" + text,
                                "utf-8")
    console.print(f"[green]wrote {target}[/] with the StayLink, BookingCo and ChannelLink examples "
                  f"and {SCHEMA_FILE} for editors")
    for path in sorted(target.rglob("*.yaml")):
        console.print(f"  {path}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from ..schema import json_schema

    text = json.dumps(json_schema(), indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        err_console.print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from .. import registry
    from ..errors import RequestError

    partners_dir = Path(args.partners_dir or "partners")
    if not partners_dir.is_dir():
        return fail(f"partners directory {partners_dir} not found", 3)
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return fail(f"cannot read {args.file}: {exc}")
    current = loader.load_paths([partners_dir]).partners
    try:
        result, _ = registry.register(text, partners_dir, current, force=args.force,
                                      dry_run=args.dry_run, strict=args.strict,
                                      label=args.file)
    except RequestError as exc:
        if exc.status == 409:  # the admin API's wording names its ?force=true
            exc.detail = (f"{str(exc.detail).split(' already exists')[0].lower()} already "
                          f"exists in {partners_dir}; run again with --force to overwrite it")
        if args.json:
            print_json({"status": "error", "error": exc.detail})
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
        print_json(view)
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
    from ..postman import collection

    result = loader.load_paths([args.partners or str(default_partners())])
    partners = [s.model for s in result.partners]
    if args.partner:
        unknown = set(args.partner) - {p.partner for p in partners}
        if unknown:
            return fail(f"unknown partner(s): {', '.join(sorted(unknown))}")
        partners = [p for p in partners if p.partner in args.partner]
    if not partners:
        return fail("no partners to export")
    data = collection(partners)
    Path(args.out).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    count = sum(len(dp.endpoints) for p in partners for dp in p.datapoints)
    console.print(f"[green]wrote {args.out}[/]: {len(partners)} partners, {count} consumer "
                  "requests plus admin requests")
    return 0
