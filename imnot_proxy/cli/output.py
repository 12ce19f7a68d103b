"""Everything the CLI prints goes through here: the two rich consoles and pure ``format_*``
functions that turn loader results and admin views into tables, so commands stay short and
the formatting is testable without running a command.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from .. import loader
from ..errors import Problem

_WIDTH = None if sys.stdout.isatty() else 160  # pipes and CI logs: do not wrap at 80
console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=_WIDTH)


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
    for column in ("host", "method", "path", "partner/datapoint", "pattern", "when / answers"):
        table.add_column(column, overflow="fold")
    for row in rows:
        choices = [f"when {row['when']}"] if row.get("when") else []
        choices += row.get("alternatives") or []
        table.add_row(row["host"], row["method"], row["path"], row["owner"], row["pattern"],
                      "\n".join(choices))
    return table


def format_sessions(rows: Sequence[dict]) -> Table:
    table = Table(title="Sessions")
    for column in ("session_id", "partner/datapoint", "created_at", "last_used"):
        table.add_column(column)
    for row in rows:
        owner = f"{row['partner']}/{row['datapoint']}" if row["partner"] else "- (opened empty)"
        table.add_row(row["session_id"], owner,
                      row["created_at"], row["last_used"] or "-")
    return table


def route_rows(result: loader.LoadResult, admin_host: str = "imnot.proxy") -> list[dict]:
    """Partner routes, then the admin routes (per payload datapoint, then the fixed ones)."""
    from ..admin import ROUTES
    from ..admin.ui import PAGE
    from ..engine.choice import label_of
    from ..rules import route_entries
    from ..schema import PAYLOAD_PATTERNS

    rows = []
    for source in result.partners:
        compiled = source.compiled
        for entry in route_entries(source.model):
            route, ep = entry.route, entry.route.endpoint
            condition = compiled.get(ep)
            alternatives = [label_of(k, compiled.get(alt))
                            for k, alt in enumerate(ep.alternatives or (), start=1)]
            rows.append({"host": route.host, "method": route.method, "path": route.path,
                         "owner": route.owner, "pattern": route.pattern, "step": route.step,
                         "when": condition.label if condition is not None else None,
                         "alternatives": alternatives})
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
    fixed = [(method, path) for method, path, _ in ROUTES if "{partner}" not in path]
    fixed += [("GET", "/"), ("GET", PAGE), ("GET", f"{PAGE}/{{file}}")]  # the admin page
    for method, path in fixed:
        rows.append({"host": admin_host, "method": method, "path": path, "owner": "-",
                     "pattern": "admin", "step": None})
    return rows


def print_json(value: object) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def fail(message: str, code: int = 1) -> int:
    """Print ``error: message`` on stderr and return the exit code, for ``return fail(...)``."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    return code
