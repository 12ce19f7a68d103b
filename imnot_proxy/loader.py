"""Find partner files, parse them once, and report every problem with file:line.

A file is parsed with PyYAML's composer so that each value keeps its line; the
data is validated by ``schema.Partner``, its conditions and templates are compiled
(``compiled``), and the cross-field ``rules`` run. When the schema rejects the file, the
compiled stage's checks still run over the raw data (``compiled_raw``), so one run
reports both. A file with errors is skipped and the others still load. Unknown keys are
warnings (the original ignored them), or errors with ``strict=True``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pydantic
import yaml

from . import rules, schema
from .compiled import Compiled, compile_partner
from .compiled_raw import compile_raw
from .errors import Problem
from .schema_errors import (
    data_loc,
    dotted,
    drop,
    is_lenient_extra,
    tag_key,
    unknown_key_message,
)
from .schema_errors import message as error_message
from .yamlsafe import DEFAULT_LIMITS, Limits, LocatedError, compose, decode, too_big


@dataclass(frozen=True)
class PartnerSource:
    """A validated partner and where it came from."""

    model: schema.Partner
    file: Path
    lines: dict[tuple, int] = field(default_factory=dict, compare=False, repr=False)
    # conditions, templates, ... compiled at load (compiled.py)
    compiled: Compiled = field(default_factory=Compiled, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.model.partner

    def line_of(self, loc: tuple) -> int:
        return line_for(self.lines, loc)


def line_for(lines: dict[tuple, int], loc: tuple) -> int:
    """Best line for a location: the deepest known prefix of ``loc``."""
    for end in range(len(loc), -1, -1):
        line = lines.get(tuple(loc[:end]))
        if line:
            return line
    return 0


@dataclass
class LoadResult:
    partners: list[PartnerSource]
    problems: list[Problem]
    files: list[Path]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]


def find_partner_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Partner files under each path: ``*/partner.yaml`` and ``*.yaml`` in a directory,
    or the file itself."""
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            found = sorted(
                {*path.glob("*/partner.yaml"), *path.glob("*/partner.yml"),
                 *path.glob("*.yaml"), *path.glob("*.yml")}
            )
            if not found:
                problems.append(Problem(str(path), 0, "", "no partner files found", "warning"))
            files.extend(found)
        else:
            problems.append(Problem(str(path), 0, "", "partners path does not exist", "error"))
    return files, problems


def load_paths(paths: Sequence[str | Path], *, strict: bool = False,
               limits: Limits = DEFAULT_LIMITS) -> LoadResult:
    """Load every partner file under ``paths`` and check rules across them."""
    files, problems = find_partner_files(paths)
    sources: list[PartnerSource] = []
    for file in files:
        source, found = load_file(file, strict=strict, limits=limits)
        problems.extend(found)
        if source is not None:
            sources.append(source)
    accepted, cross = check_across(sources)
    problems.extend(cross)
    return LoadResult(accepted, problems, files)


def load_file(file: Path, *, strict: bool = False, limits: Limits = DEFAULT_LIMITS
              ) -> tuple[PartnerSource | None, list[Problem]]:
    """Read (bounded) and parse one partner file."""
    try:
        size = file.stat().st_size
        if too_big(size, str(file), limits):
            return None, too_big(size, str(file), limits)
        data = file.read_bytes()
    except OSError as exc:
        return None, [Problem(str(file), 0, "", f"cannot read file: {exc.strerror or exc}")]
    text, problems = decode(data, str(file))
    if text is None:
        return None, problems
    return parse_partner(text, file, strict=strict, limits=limits)


def check_across(sources: list[PartnerSource]) -> tuple[list[PartnerSource], list[Problem]]:
    """The partners that collide with none loaded before them, and the collisions found."""
    accepted, findings = rules.check_across(sources)
    return accepted, [problem_at(source, loc, message) for source, loc, message in findings]


def parse_partner(text: str, file: str | Path, *, strict: bool = False,
                  limits: Limits = DEFAULT_LIMITS) -> tuple[PartnerSource | None, list[Problem]]:
    """Parse and validate one partner file; the source is None when it has errors.

    Whatever goes wrong, the answer is a list of located problems, never an exception.
    """
    name = str(file)
    try:
        return _parse(text, name, strict, limits)
    except Exception as exc:  # noqa: BLE001 - a crafted file must not crash the caller
        return None, [Problem(name, 1, "", f"cannot load: {type(exc).__name__}: {exc}")]


def _parse(text: str, name: str, strict: bool, limits: Limits
           ) -> tuple[PartnerSource | None, list[Problem]]:
    loader, node, problems = compose(text, name, limits)
    if loader is None:
        return None, problems
    try:
        data = loader.construct_document(node) if node is not None else None
    except LocatedError as exc:
        cause = str(exc.cause)
        if "integer string conversion" in cause:
            cause = "an integer with more digits than Python reads (4,300)"
        return None, [Problem(name, exc.node.start_mark.line + 1, "", f"invalid value: {cause}")]
    finally:
        loader.dispose()
    if node is None or data is None:
        return None, [Problem(name, 1, "", "file is empty; expected a partner mapping")]
    if not isinstance(data, dict):
        kind = type(data).__name__
        return None, [
            Problem(name, node.start_mark.line + 1, "", f"expected a mapping at the top, got {kind}")
        ]
    lines = _line_index(node)

    def problem(loc: tuple, message: str, severity: str = "error") -> Problem:
        return Problem(name, line_for(lines, loc), dotted(loc), message, severity)

    problems: list[Problem] = []
    model, errors = _validate(data)
    if errors:
        unknown = [e for e in errors if is_lenient_extra(e) and not strict]
        hard = [e for e in errors if e not in unknown]
        for err in unknown:
            loc = data_loc(data, err["loc"])
            problems.append(problem(loc, unknown_key_message(data, loc), "warning"))
        hard_locs = []
        for err in hard:
            loc = data_loc(data, err["loc"])
            if err["type"] == "union_tag_invalid":
                loc = loc + (tag_key(loc),)
            if err["type"] == "extra_forbidden":
                message = unknown_key_message(data, loc)
            else:
                message = error_message(err)
            problems.append(problem(loc, message))
            hard_locs.append(loc)
        if hard:
            problems.extend(problem(loc, message, severity) for loc, message, severity
                            in [*_rules_despite(data, hard, unknown),
                                *_compiled_despite(data, name, hard_locs)])
            return None, _dedupe(problems)
        for err in unknown:
            drop(data, data_loc(data, err["loc"]))
        model, errors = _validate(data)
        if errors:  # cannot happen once only unknown keys were removed; report anyway
            problems.extend(problem(data_loc(data, e["loc"]), error_message(e)) for e in errors)
            return None, _dedupe(problems)
    assert model is not None
    compiled, findings = compile_partner(model, Path(name))
    source = PartnerSource(model, Path(name), lines, compiled)
    for loc, message, severity in [*_quirks(data), *rules.check_partner(model), *findings]:
        problems.append(problem(loc, message, severity))
    if strict:  # --strict: every warning is an error
        problems = [replace(p, severity="error") for p in problems]
    if any(p.is_error for p in problems):
        return None, _dedupe(problems)
    return source, _dedupe(problems)


def _quirks(data: dict) -> list[tuple[tuple, str, str]]:
    """What the original reads its own way and we accept with a warning: ``step: "1"``."""
    found = []
    datapoints = data.get("datapoints")
    for i, dp in enumerate(datapoints if isinstance(datapoints, list) else ()):
        endpoints = dp.get("endpoints") if isinstance(dp, dict) else None
        for j, ep in enumerate(endpoints if isinstance(endpoints, list) else ()):
            if isinstance(ep, dict) and isinstance(ep.get("step"), str):
                found.append((("datapoints", i, "endpoints", j, "step"),
                              "should be a number (read as one, as the original does)",
                              "warning"))
    return found


def _rules_despite(data: dict, hard: list[dict], unknown: list[dict]) -> list[rules.Finding]:
    """Cross-field rules of the datapoints without errors, when only datapoints have errors."""
    locs = [e["loc"] for e in hard]
    if any(len(loc) < 2 or loc[0] != "datapoints" or not isinstance(loc[1], int) for loc in locs):
        return []
    clean = copy.deepcopy(data)
    for err in unknown:
        drop(clean, data_loc(clean, err["loc"]))
    return rules.check_valid_datapoints(clean, {loc[1] for loc in locs})


def _compiled_despite(data: dict, name: str, hard_locs: list[tuple]) -> list[rules.Finding]:
    """The compiled stage's findings over the raw data (``compiled_raw``), but for the
    places the schema already reports."""
    try:
        findings = compile_raw(data, Path(name))
    except Exception:  # noqa: BLE001 - the schema's problems are reported whatever happens
        return []
    return [f for f in findings
            if not any(f[0][:len(loc)] == loc for loc in hard_locs)]


def problem_at(source: PartnerSource, loc: tuple, message: str, severity: str = "error") -> Problem:
    return Problem(str(source.file), source.line_of(loc), dotted(loc), message, severity)


# --- helpers -----------------------------------------------------------------


def _validate(data: dict) -> tuple[schema.Partner | None, list[dict]]:
    try:
        return schema.Partner.model_validate(data), []
    except pydantic.ValidationError as exc:
        return None, exc.errors(include_url=False)


def _line_index(node: yaml.Node) -> dict[tuple, int]:
    """Map every data location (tuple of keys/indexes) to its 1-based line.

    A node reached again through an alias is not walked again: locations under it
    fall back to the line of the alias's key (``line_for``).
    """
    index: dict[tuple, int] = {}
    walked: set[int] = set()

    def walk(n: yaml.Node, loc: tuple) -> None:
        index.setdefault(loc, n.start_mark.line + 1)
        if id(n) in walked:
            return
        walked.add(id(n))
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                k = key.value if isinstance(key, yaml.ScalarNode) else str(key)
                index[loc + (k,)] = key.start_mark.line + 1
                if isinstance(value, yaml.MappingNode | yaml.SequenceNode):
                    walk(value, loc + (k,))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, loc + (i,))

    walk(node, ())
    return index


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set = set()
    out = []
    for p in sorted(problems, key=lambda p: (p.line, p.loc)):
        key = (p.file, p.line, p.loc, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
