"""Changes to a partner file's text at one place, and unified diffs of changed files.

``set_value(text, path, value)`` replaces the value at ``path`` (keys and list indexes
from the top, as ``("datapoints", 2, "endpoints", 0, "response")``) with ``value``
written as block YAML, or adds the key at the end of its mapping; everything else of
the text stays as it is, comments included (a flow-style ``{...}`` mapping on the way
is rewritten as a block). ``unified_diff`` is the patch a person reviews and applies
(``git apply``, ``patch -p1``); nothing here writes a partner file.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import yaml

from .yamlout import dump

Path_ = tuple[str | int, ...]


class PatchError(ValueError):
    """The place named is not in the text (a file changed since it was loaded)."""


def set_value(text: str, path: Path_, value: Any) -> str:
    """``text`` with the value at ``path`` (its parent must exist) set to ``value``."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is None or not path:
        raise PatchError("the file is empty")
    flow = _first_flow(root, path[:-1])
    if flow is not None:  # rewrite the outermost flow collection on the way as a block
        node = _node_at(root, path[:flow])
        whole = yaml.safe_load(text[node.start_mark.index:node.end_mark.index])
        _put(whole, path[flow:], value)
        return set_value(text, path[:flow], whole)
    parent = _node_at(root, path[:-1])
    key = path[-1]
    if isinstance(parent, yaml.SequenceNode):
        if not isinstance(key, int) or key >= len(parent.value):
            raise PatchError(f"no item {key} at {_where(path[:-1])}")
        node = parent.value[key]
        return _replace(text, node.start_mark.index, _end(node), node.start_mark.column, value,
                        item=True)
    if not isinstance(parent, yaml.MappingNode):
        raise PatchError(f"{_where(path[:-1])} is not a mapping")
    for key_node, node in parent.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return _replace(text, key_node.end_mark.index, _end(node),
                            key_node.start_mark.column, value, key=True)
    at = _end(parent)
    column = parent.value[0][0].start_mark.column if parent.value else 0
    return text[:at] + "\n" + " " * column + f"{key}:" + _rendered(value, column) + text[at:]


def _first_flow(root: yaml.Node, path: Path_) -> int | None:
    """How many steps of ``path`` lead to the first flow-style collection on it, or None."""
    for depth in range(len(path) + 1):
        node = _node_at(root, path[:depth])
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.flow_style:
            return depth
    return None


def _put(whole: Any, path: Path_, value: Any) -> None:
    for key in path[:-1]:
        whole = whole[key]
    whole[path[-1]] = value


def _node_at(root: yaml.Node, path: Path_) -> yaml.Node:
    node = root
    for step, key in enumerate(path):
        if isinstance(node, yaml.SequenceNode) and isinstance(key, int) \
                and key < len(node.value):
            node = node.value[key]
            continue
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value
                          if isinstance(k, yaml.ScalarNode) and k.value == key), None)
            if found is not None:
                node = found
                continue
        raise PatchError(f"no {key!r} at {_where(path[:step])}")
    return node


def _end(node: yaml.Node) -> int:
    """Where a node's own text ends (a block collection's end mark runs on over the
    comments and blank lines after it)."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _end(node.value[-1])
    return node.end_mark.index


def _replace(text: str, start: int, end: int, column: int, value: Any, *,
             key: bool = False, item: bool = False) -> str:
    if item:  # a list item: the value starts where the old one did, after "- "
        block = dump(value).rstrip("\n") if isinstance(value, dict | list) and value \
            else _scalar(value)
        lines = block.split("\n")
        return text[:start] + "\n".join([lines[0], *(" " * column + line for line in lines[1:])]) \
            + text[end:]
    assert key
    return text[:start] + ":" + _rendered(value, column) + text[end:]


def _rendered(value: Any, column: int) -> str:
    """A mapping value after ``key:``: inline when scalar or empty, else an indented block."""
    if isinstance(value, dict | list) and value:
        block = dump(value).rstrip("\n")
        return "\n" + "\n".join(" " * (column + 2) + line if line else line
                                for line in block.split("\n"))
    return " " + _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, str) and "\n" in value:
        return json.dumps(value, ensure_ascii=False)
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**9)
    return text.removesuffix("\n...\n").rstrip("\n")


def _where(path: Path_) -> str:
    return ".".join(str(p) for p in path) or "the top"


def unified_diff(name: str, old: str | None, new: str) -> str:
    """A unified diff creating (``old`` None) or changing the file ``name``."""
    before = [] if old is None else old.splitlines(keepends=True)
    after = new.splitlines(keepends=True)
    for lines in (before, after):  # a last line without its newline gets one
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
    return "".join(difflib.unified_diff(
        before, after, "/dev/null" if old is None else f"a/{name}", f"b/{name}"))
