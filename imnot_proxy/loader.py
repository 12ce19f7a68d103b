"""Find partner files, parse them once, and report every problem with file:line.

A file is parsed with PyYAML's composer so that each value keeps its line; the
data is validated by ``schema.Partner`` and then by the cross-field ``rules``.
A file with errors is skipped and the others still load. Unknown keys are
warnings (the original ignored them), or errors with ``strict=True``.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
import yaml

from . import rules, schema
from .errors import Problem
from .schema.faults import FAULT_KINDS, FAULT_MODELS
from .yamlsafe import DEFAULT_LIMITS, Limits, LocatedError, compose, decode, too_big

# Sections where the original already rejected unknown keys: always errors there.
_ALWAYS_STRICT = {"pagination", "validate", "rate_limit", "pending", "failed", "strict_order",
                  "faults", "latency"}


@dataclass(frozen=True)
class PartnerSource:
    """A validated partner and where it came from."""

    model: schema.Partner
    file: Path
    lines: dict[tuple, int] = field(default_factory=dict, compare=False, repr=False)

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
        return Problem(name, line_for(lines, loc), _dotted(loc), message, severity)

    problems: list[Problem] = []
    model, errors = _validate(data)
    if errors:
        unknown = [e for e in errors if _is_lenient_extra(e) and not strict]
        hard = [e for e in errors if e not in unknown]
        for err in unknown:
            loc = _data_loc(data, err["loc"])
            problems.append(problem(loc, _unknown_key_message(data, loc), "warning"))
        for err in hard:
            loc = _data_loc(data, err["loc"])
            if err["type"] == "union_tag_invalid":
                loc = loc + (_tag_key(loc),)
            if err["type"] == "extra_forbidden":
                message = _unknown_key_message(data, loc)
            else:
                message = _message(err)
            problems.append(problem(loc, message))
        if hard:
            return None, _dedupe(problems)
        for err in unknown:
            _drop(data, _data_loc(data, err["loc"]))
        model, errors = _validate(data)
        if errors:  # cannot happen once only unknown keys were removed; report anyway
            problems.extend(problem(_data_loc(data, e["loc"]), _message(e)) for e in errors)
            return None, _dedupe(problems)
    assert model is not None
    source = PartnerSource(model, Path(name), lines)
    for loc, message, severity in rules.check_partner(model):
        problems.append(problem(loc, message, severity))
    if any(p.is_error for p in problems):
        return None, _dedupe(problems)
    return source, _dedupe(problems)


def problem_at(source: PartnerSource, loc: tuple, message: str, severity: str = "error") -> Problem:
    return Problem(str(source.file), source.line_of(loc), _dotted(loc), message, severity)


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


def _data_loc(data: Any, loc: Sequence) -> tuple:
    """Pydantic's location without union tags and type names, following the data."""
    out: list = []
    current = data
    for i, part in enumerate(loc):
        if isinstance(current, dict):
            if i and isinstance(loc[i - 1], int) and part == current.get("kind"):
                continue  # a fault's kind tag, which may also be one of its keys ("status")
            if part in current:
                out.append(part)
                current = current[part]
            elif isinstance(part, str) and (part in schema.PATTERNS or not _is_last(loc, i)):
                continue  # a union tag or a type segment
            else:
                out.append(part)  # a missing key or an unknown key
                current = None
        elif isinstance(current, list) and isinstance(part, int):
            out.append(part)
            current = current[part] if part < len(current) else None
        elif current is None and isinstance(part, str | int):
            out.append(part)
        # anything else is a pydantic type segment such as 'function-after[...]'
    return tuple(out)


def _is_last(loc: Sequence, i: int) -> bool:
    return i == len(loc) - 1


def _dotted(loc: tuple) -> str:
    return ".".join(str(p) for p in loc)


def _is_lenient_extra(err: dict) -> bool:
    if err["type"] != "extra_forbidden":
        return False
    return not any(p in _ALWAYS_STRICT for p in err["loc"][:-1])


def _drop(data: Any, loc: tuple) -> None:
    current = data
    for part in loc[:-1]:
        current = current[part]
    if isinstance(current, dict):
        current.pop(loc[-1], None)


def _unknown_key_message(data: dict, loc: tuple) -> str:
    key = str(loc[-1])
    known = _known_keys(data, loc[:-1])
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key '{key}'{hint}"


def _known_keys(data: dict, loc: tuple) -> list[str]:
    """Field names (YAML spelling) of the model found at ``loc`` in the data."""
    annotation: Any = schema.Partner
    current: Any = data
    for part in loc:
        if isinstance(part, int):
            annotation = _item_type(annotation)
            current = current[part] if isinstance(current, list) and part < len(current) else None
            continue
        model = _model_class(annotation, current)
        info = _field(model, part) if model else None
        if info is None:
            return []
        annotation = info.annotation
        current = current.get(part) if isinstance(current, dict) else None
    model = _model_class(annotation, current)
    return [f.alias or n for n, f in model.model_fields.items()] if model else []


def _strip(annotation: Any) -> Any:
    """Drop Annotated and Optional wrappers."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _item_type(annotation: Any) -> Any:
    annotation = _strip(annotation)
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else None


def _model_class(annotation: Any, value: Any) -> type[pydantic.BaseModel] | None:
    annotation = _strip(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        tag = value.get("pattern") if isinstance(value, dict) else None
        if isinstance(value, dict) and "kind" in value and "pattern" not in value:
            return FAULT_MODELS.get(value["kind"])
        return schema.DATAPOINT_MODELS.get(tag)
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    return None


def _field(model: type[pydantic.BaseModel], name: str) -> Any:
    for field_name, info in model.model_fields.items():
        if name in (field_name, info.alias):
            return info
    return None


_FRIENDLY = {
    "missing": "is required",
    "union_tag_not_found": "is missing 'pattern' (one of: " + ", ".join(schema.PATTERNS) + ")",
}


def _message(err: dict) -> str:
    kind = err["type"]
    if kind == "union_tag_not_found" and not isinstance(err.get("input"), dict):
        return f"expected a mapping (got {type(err.get('input')).__name__})"
    if kind.startswith("union_tag") and _tag_key(err["loc"]) == "kind":
        return _fault_kind_message(err)
    if kind in _FRIENDLY:
        return _FRIENDLY[kind]
    if kind == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag")
        close = difflib.get_close_matches(str(tag), schema.PATTERNS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown pattern '{tag}'{hint}; supported: {', '.join(sorted(schema.PATTERNS))}"
    if kind == "too_short" and err.get("ctx", {}).get("min_length") == 1:
        return "must not be empty"
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if kind in ("model_type", "dict_type", "list_type"):
        got = type(err.get("input")).__name__
        message = f"{message} (got {got})"
    return message


def _tag_key(loc: Sequence) -> str:
    """The key that picks the model of a union at ``loc``: a fault's ``kind`` or a
    datapoint's ``pattern``."""
    return "kind" if "faults" in loc else "pattern"


def _fault_kind_message(err: dict) -> str:
    supported = ", ".join(FAULT_KINDS)
    if err["type"] == "union_tag_not_found":
        return f"is missing 'kind' (one of: {supported})"
    tag = str(err.get("ctx", {}).get("tag"))
    close = difflib.get_close_matches(tag, FAULT_KINDS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown fault kind '{tag}'{hint}; supported: {supported}"


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set = set()
    out = []
    for p in sorted(problems, key=lambda p: (p.line, p.loc)):
        key = (p.file, p.line, p.loc, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
