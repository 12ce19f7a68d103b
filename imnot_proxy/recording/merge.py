"""A new recording merged into a partner file that exists: new endpoints added, the file's
own kept, conflicts shown and written aside, never silently dropped.

The existing text stays as it is, comments included: new datapoints go at the end
of its ``datapoints:`` list, new hosts at the end of its ``hosts:`` list. A
recorded datapoint whose routes the file already serves is ``unchanged`` when
it says the same (descriptions aside); otherwise it is a ``conflict``: the file
keeps its version and the recorded one is written to ``conflicts/<name>.yaml``
(payload beside it) for a person to compare.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ..loader import parse_partner
from ..routing import path_shape
from .infer import Inference, InferredDatapoint
from .redact import scrub
from .yamlout import PARTNER_FILE, Rendered, checked, datapoint_block, payload_text

CONFLICT_DIR = "conflicts"
MAX_DETAILS = 4


class MergeError(ValueError):
    """The existing file cannot take a merge (it does not load, or is another partner)."""


@dataclass(frozen=True)
class MergeRow:
    datapoint: str
    outcome: str  # added | unchanged | conflict
    detail: str


@dataclass
class Merged:
    rendered: Rendered
    rows: list[MergeRow]
    conflicts: dict[str, str] = field(default_factory=dict)  # relative file -> text
    notes: list[str] = field(default_factory=list)


def merge(existing: str, folder: Path, inference: Inference) -> Merged:
    """The existing partner text with what the recording adds."""
    file = folder / PARTNER_FILE
    source, problems = parse_partner(existing, file)
    if source is None:
        raise MergeError(f"{file} does not load, so nothing can be merged into it:\n"
                         + "\n".join(str(p) for p in problems if p.is_error))
    if source.name != inference.partner:
        raise MergeError(f"{file} is partner '{source.name}', not '{inference.partner}'")
    raw = yaml.safe_load(existing)
    owned: dict[tuple[str, str], int] = {}
    for index, dp in enumerate(source.model.datapoints):
        for ep in dp.endpoints:
            owned.setdefault((ep.method, path_shape(ep.path)), index)
    names = {dp.name for dp in source.model.datapoints}
    rows: list[MergeRow] = []
    added: list[InferredDatapoint] = []
    conflicts: dict[str, str] = {}
    for dp in inference.datapoints:
        routes = [(str(ep["method"]).upper(), path_shape(ep["path"]))
                  for ep in dp.data["endpoints"]]
        owners = sorted({owned[r] for r in routes if r in owned})
        if not owners:
            name = _free(dp.name, names)
            detail = f"{len(routes)} new route{'s' if len(routes) > 1 else ''}: " \
                     + ", ".join(f"{m} {p}" for m, p in routes)
            if name != dp.name:
                detail += f" (as '{name}': '{dp.name}' is taken)"
                dp = replace(dp, name=name, data={**dp.data, "name": name})
            names.add(name)
            added.append(dp)
            rows.append(MergeRow(dp.name, "added", detail))
            continue
        theirs = [raw["datapoints"][i] for i in owners]
        if len(theirs) == 1 and _same(theirs[0], dp.data):
            rows.append(MergeRow(theirs[0]["name"], "unchanged", "the recording agrees"))
            continue
        found: list[str] = []
        _differences(theirs[0], dp.data, "", found)
        where = f"{CONFLICT_DIR}/{dp.name}.yaml"
        conflicts[where] = _conflict_text(dp)
        if dp.has_payload:
            suffix, text = payload_text(dp.payload)
            conflicts[f"{CONFLICT_DIR}/{dp.name}{suffix}"] = text
        names_kept = ", ".join(f"'{t['name']}'" for t in theirs)
        what = "; ".join(found[:MAX_DETAILS]) + (
            f"; and {len(found) - MAX_DETAILS} more" if len(found) > MAX_DETAILS else "")
        rows.append(MergeRow(dp.name, "conflict",
                             f"kept the file's {names_kept}; the recording differs: "
                             f"{what or 'routes split differently'}; its version is in {where}"))
    notes: list[str] = []
    text = _with_hosts(existing, inference.hosts, source.model.hosts, notes)
    payloads: dict[str, str] = {}
    if added:
        text = _with_datapoints(text, added, payloads)
    conflicts = {k: scrub(v, inference.secrets) for k, v in conflicts.items()}
    return Merged(checked(text, payloads, inference.secrets, folder), rows, conflicts, notes)


def _free(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name}_{n}" in taken:
        n += 1
    return f"{name}_{n}"


def _same(theirs: Any, ours: dict[str, Any]) -> bool:
    strip = ("description",)
    return isinstance(theirs, dict) and \
        {k: v for k, v in theirs.items() if k not in strip} \
        == {k: v for k, v in ours.items() if k not in strip}


def _differences(theirs: Any, ours: Any, path: str, out: list[str]) -> None:
    if isinstance(theirs, dict) and isinstance(ours, dict):
        for key in dict.fromkeys([*theirs, *ours]):
            if key == "description" and not path:
                continue
            where = f"{path}.{key}" if path else str(key)
            if key not in ours:
                out.append(f"{where} not recorded")
            elif key not in theirs:
                out.append(f"{where} only recorded")
            else:
                _differences(theirs[key], ours[key], where, out)
    elif isinstance(theirs, list) and isinstance(ours, list) and len(theirs) == len(ours):
        for i, (a, b) in enumerate(zip(theirs, ours, strict=True)):
            _differences(a, b, f"{path}.{i}", out)
    elif theirs != ours:
        out.append(f"{path}: {_short(theirs)} → {_short(ours)}")


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _conflict_text(dp: InferredDatapoint) -> str:
    payloads: dict[str, str] = {}
    return (f"# The recorded version of datapoint '{dp.name}', not merged: the partner file "
            "keeps its own.\n# Compare, and copy what you want into partner.yaml.\n"
            + datapoint_block(dp, payloads, ""))


def _lines_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _sequence(root: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(root, yaml.MappingNode):
        return None
    return next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == key),
                None)


def _dash_indent(text: str, node: yaml.SequenceNode) -> str:
    first = node.value[0].start_mark.index
    line = text[_lines_start(text, first):first]
    return " " * max(0, line.rfind("-"))


def _insert_at_end(text: str, node: yaml.SequenceNode, addition: str) -> str:
    at = node.end_mark.index
    head = text[:at]
    if head and not head.endswith("\n"):
        head += "\n"
    return head + addition + text[at:]


def _with_datapoints(text: str, added: list[InferredDatapoint],
                     payloads: dict[str, str]) -> str:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    node = _sequence(root, "datapoints")
    assert isinstance(node, yaml.SequenceNode) and node.value  # the file loaded
    if node.flow_style:
        raise MergeError("the file's datapoints: is a flow list ([...]); new datapoints can "
                         "only be added to a block list")
    indent = _dash_indent(text, node)
    blocks = "".join("\n" + datapoint_block(dp, payloads, indent) for dp in added)
    return _insert_at_end(text, node, blocks.lstrip("\n") if text[
        :node.end_mark.index].endswith("\n\n") else blocks)


def _with_hosts(text: str, recorded: list[str], known: list[str], notes: list[str]) -> str:
    new = [h for h in recorded if h not in known]
    if not new:
        return text
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    node = _sequence(root, "hosts")
    if node is None:
        notes.append(f"the file names no hosts (it answers on any host); not added: "
                     f"{', '.join(new)}")
        return text
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        indent = _dash_indent(text, node)
        return _insert_at_end(text, node, "".join(f"{indent}- {h}\n" for h in new))
    start, end = node.start_mark.index, node.end_mark.index
    return text[:start] + "[" + ", ".join(json.dumps(h) for h in [*known, *new]) + "]" \
        + text[end:]
