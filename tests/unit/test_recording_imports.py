"""The modules of ``imnot_proxy.recording`` import each other in one direction only: no cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import imnot_proxy.recording

ROOT = Path(imnot_proxy.recording.__file__).parent
PACKAGE = "imnot_proxy.recording"


def modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name → (file, is a package)."""
    found = {}
    for file in sorted(ROOT.rglob("*.py")):
        parts = [PACKAGE, *file.relative_to(ROOT).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (file, is_package)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the modules of the package it imports (a package's own children included)."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, (file, is_package) in known.items():
        here = name.split(".") if is_package else name.split(".")[:-1]
        for node in ast.walk(ast.parse(file.read_text("utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = here[:len(here) - node.level + 1] if node.level else []
                module = ".".join(base + (node.module.split(".") if node.module else []))
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in known else module
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            graph[name] |= {t for t in targets if t in known and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = "open"
        stack.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name)
    return found


def test_the_graph_sees_relative_imports() -> None:
    graph = import_graph()
    assert f"{PACKAGE}.infer.draft" in graph[f"{PACKAGE}.infer.detectors.static"]
    assert f"{PACKAGE}.infer.detectors.oauth" in graph[f"{PACKAGE}.infer.detectors"]


def test_a_cycle_is_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []
