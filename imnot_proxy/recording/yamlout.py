"""An ``Inference`` → partner YAML text (stable key order, comments) and payload files.

The text is validated with the loader before anything is written, so a generated
file always loads; files are written through a temporary name and renamed, and
payloads before the partner file, so an interrupted write never leaves a
partner file pointing at missing payloads.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..loader import parse_partner
from .infer import Inference, InferredDatapoint, TextPayload
from .redact import scrub

PARTNER_FILE = "partner.yaml"
PAYLOAD_DIR = "payloads"


class OutputError(ValueError):
    """Generated YAML that does not validate: a bug in the inference, reported in full."""


@dataclass(frozen=True)
class Rendered:
    """The files of one generated partner, relative to its folder, in writing order."""

    partner_yaml: str
    payloads: dict[str, str]  # "payloads/<datapoint>.json" -> text

    def files(self) -> dict[str, str]:
        return {**self.payloads, PARTNER_FILE: self.partner_yaml}


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def dump(value: Any) -> str:
    """Block YAML in the style of generated partner files."""
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)


_dump = dump


def render(inference: Inference, sources: list[str], folder: Path) -> Rendered:
    """Partner YAML and payload texts; raises OutputError when the YAML would not load."""
    lines = [
        f"# {inference.partner}: inferred by `imnot-proxy record to-yaml` from "
        f"{inference.flow_count} recorded flows",
        f"# ({', '.join(sources)}). Secrets are redacted. Review before use: names, path",
        "# parameters, steps and payloads are what the recording suggested.",
    ]
    head: dict[str, Any] = {
        "partner": inference.partner,
        "description": f"Recorded from {', '.join(inference.hosts) or 'any host'}",
    }
    if inference.hosts:
        head["hosts"] = list(inference.hosts)
    text = "\n".join(lines) + "\n" + _dump(head) + "\ndatapoints:\n"
    payloads: dict[str, str] = {}
    for dp in inference.datapoints:
        text += "\n" + datapoint_block(dp, payloads, "  ")
    return checked(text, payloads, inference.secrets, folder)


def datapoint_block(dp: InferredDatapoint, payloads: dict[str, str], indent: str) -> str:
    """One datapoint as a YAML list item under ``datapoints:``, its comment above it; its
    payload file text goes into ``payloads``."""
    block = _dump([dp.data])
    comment = dp.comment
    if dp.has_payload:
        suffix, text = payload_text(dp.payload)
        file = f"{PAYLOAD_DIR}/{dp.name}{suffix}"
        payloads[file] = text
        comment += f"; payload in {file}"
    for name, value in dp.named.items():
        suffix, text = payload_text(value)
        payloads[f"{PAYLOAD_DIR}/{dp.name}/{name}{suffix}"] = text
    if dp.named:
        comment += f"; named payloads in {PAYLOAD_DIR}/{dp.name}/"
    return _comment(comment, indent) + _indent(block, indent)


def payload_text(value: Any) -> tuple[str, str]:
    """A payload file's suffix and text: a ``TextPayload`` (XML, text) as it is, anything
    else as JSON."""
    if isinstance(value, TextPayload):
        return value.suffix, str(value)
    return ".json", json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def checked(text: str, payloads: dict[str, str], secrets: list[str], folder: Path) -> Rendered:
    """The files, scrubbed once more and validated; raises OutputError when they do not load."""
    # Inference scrubbed what it built; this catches a secret in any text added since.
    text = scrub(text, secrets)
    payloads = {file: scrub(body, secrets) for file, body in payloads.items()}
    source, problems = parse_partner(text, folder / PARTNER_FILE)
    errors = [p for p in problems if p.is_error]
    if source is None or errors:
        raise OutputError("generated YAML does not validate:\n"
                          + "\n".join(str(p) for p in problems))
    return Rendered(text, payloads)


def write(rendered: Rendered, folder: Path, extra: dict[str, str] | None = None) -> list[Path]:
    """Write the files under ``folder`` (payloads and ``extra`` files first); returns the
    paths written."""
    written = []
    for relative, text in {**(extra or {}), **rendered.files()}.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.tmp")
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
        written.append(path)
    return written


def _comment(text: str, indent: str) -> str:
    """A comment wrapped at about 96 columns."""
    out: list[str] = []
    line = ""
    for word in text.split(" "):
        if line and len(indent) + 2 + len(line) + 1 + len(word) > 96:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    out.append(line)
    return "".join(f"{indent}# {part}\n" for part in out)


def _indent(block: str, indent: str) -> str:
    return "".join(f"{indent}{line}\n" if line else "\n" for line in block.splitlines())
