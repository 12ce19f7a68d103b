"""A partner file's conditions (its faults' too: ``fault_conditions.py``), templates,
captures, XPath rules, XML Schemas and keys, compiled once at load, every problem located.

``compile_partner`` walks a validated partner model and returns ``Compiled``, a side
table keyed by the model objects themselves (``compiled.get(model_object)``), so the
engine finds what belongs to an endpoint, an alternative or an answer without
threading locations through its builders. Problems come back as findings located in
the file, like every other partner-file problem.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import schema
from .fault_conditions import compile_fault_conditions
from .lang.condition_sources import SOURCES, Source
from .lang.condition_values import Invalid
from .lang.conditions import compile_condition
from .lang.templates import Template, TemplateProblems, compile_text, compile_value

Finding = tuple[tuple, str, str]  # (location, message, severity)
CAPTURE_SOURCES = ("path", "query", "header", "form", "json", "xpath", "body")


@dataclass(frozen=True)
class AnswerTemplate:
    """The templated parts of one answer; a part that is None is sent as written."""

    status: Template | None
    headers: tuple[tuple[str, Any], ...]  # (name, Template or text)
    body: Any  # CompiledValue (JSON), Template (text/markup) or None
    body_kind: str  # json | text | markup | none
    names: frozenset[str] = frozenset()


@dataclass
class Compiled:
    """What the engine needs beside the models, found by the model object it belongs to."""

    by_model: dict[Any, Any] = field(default_factory=dict)
    keys: dict[str, bytes] = field(default_factory=dict)
    namespaces: dict[int, dict[str, str]] = field(default_factory=dict)  # datapoint -> prefixes
    _owners: list[Any] = field(default_factory=list, repr=False)  # keeps ids valid

    def get(self, model: Any, default: Any = None) -> Any:
        """What belongs to a model object; a tuple key (``(id(model), "part")``) names one
        part of it."""
        return self.by_model.get(model if isinstance(model, tuple) else id(model), default)

    def put(self, model: Any, value: Any) -> None:
        if isinstance(model, tuple):
            self.by_model[model] = value
        else:
            self.by_model[id(model)] = value
            self._owners.append(model)


def compile_partner(partner: schema.Partner, file: Path | None = None,
                    environ: Mapping[str, str] | None = None) -> tuple[Compiled, list[Finding]]:
    compiled, findings = Compiled(), []
    env = os.environ if environ is None else environ
    for name, key in partner.keys.items():
        if key.value is not None:
            compiled.keys[name] = key.value.encode()
        elif key.env in env:
            compiled.keys[name] = env[key.env].encode()  # type: ignore[index]
        else:
            findings.append((("keys", name, "env"), f"environment variable {key.env} is not "
                             f"set: templates that sign with key '{name}' will fail",
                             "warning"))
    for i, dp in enumerate(partner.datapoints):
        namespaces = {**partner.namespaces, **dp.namespaces}
        compiled.namespaces[id(dp)] = namespaces
        at = ("datapoints", i)
        for j, ep in enumerate(dp.endpoints):
            _endpoint(compiled, findings, ep, at + ("endpoints", j), namespaces, file)
        strict = getattr(dp, "strict_order", None)
        if strict is not None:
            for which in ("unknown_id", "not_ready"):
                _answer(compiled, findings, getattr(strict, which),
                        at + ("strict_order", which))
    findings.extend(compile_fault_conditions(compiled, partner))
    return compiled, findings


def _endpoint(compiled: Compiled, findings: list[Finding], ep: Any, at: tuple,
              namespaces: dict[str, str], file: Path | None) -> None:
    if ep.when is not None:
        _condition(compiled, findings, ep, ep.when, at + ("when",), namespaces)
    _response(compiled, findings, ep.response, at + ("response",))
    for k, alt in enumerate(ep.alternatives or ()):
        where = at + ("alternatives", k)
        if alt.when is not None:
            _condition(compiled, findings, alt, alt.when, where + ("when",), namespaces)
        if alt.response is not None:
            _response(compiled, findings, alt.response, where + ("response",))
    capture = getattr(ep, "capture", None)
    if capture:
        sources = {}
        for name, spec in capture.items():
            source = _capture_source(findings, spec, at + ("capture", name), namespaces)
            if source is not None:
                sources[name] = source
        compiled.put(capture, sources)
    if ep.validation is not None:
        _validation(compiled, findings, ep.validation, at + ("validate",), namespaces, file)


def _condition(compiled: Compiled, findings: list[Finding], owner: Any, spec: Any,
               at: tuple, namespaces: dict[str, str]) -> None:
    condition, problems = compile_condition(spec, namespaces=namespaces or None)
    findings.extend((at + tuple(p.loc), p.message, "error") for p in problems)
    if condition is not None:
        compiled.put(owner, condition)


def _capture_source(findings: list[Finding], spec: Any, at: tuple,
                    namespaces: dict[str, str]) -> Source | None:
    words = [w for w in spec if w in CAPTURE_SOURCES] if isinstance(spec, dict) else []
    if not isinstance(spec, dict) or len(spec) != 1 or len(words) != 1:
        findings.append((at, "a capture names one source: {json: $.a}, {header: X}, "
                             "{query: q}, {path: id}, {form: f}, {xpath: //x} or {body: text}",
                         "error"))
        return None
    word = words[0]
    try:
        return SOURCES[word](spec[word], namespaces or None)
    except Invalid as exc:
        findings.extend((at + (word,) + tuple(loc), message, "error")
                        for loc, message in exc.problems)
    except Exception as exc:  # noqa: BLE001 - any bad expression is a located problem
        findings.append((at + (word,), str(exc), "error"))
    return None


def capture_values(sources: Mapping[str, Source], request: Any) -> dict[str, Any]:
    """The first value of each capture source in a request (absent ones are left out)."""
    values = {}
    for name, source in sources.items():
        try:
            found = source.read(request)
        except Exception:  # noqa: BLE001 - a value that cannot be read is not captured
            continue
        if found:
            values[name] = found[0]
    return values


# --- templates ------------------------------------------------------------------------

def _response(compiled: Compiled, findings: list[Finding], response: Any, at: tuple) -> None:
    _answer(compiled, findings, response, at)
    for n, pending in enumerate(getattr(response, "pending", None) or ()):
        _answer(compiled, findings, pending, at + ("pending", n))
    failed = getattr(response, "failed", None)
    if failed is not None:
        _answer(compiled, findings, failed, at + ("failed",))


def _answer(compiled: Compiled, findings: list[Finding], answer: Any, at: tuple) -> None:
    status = getattr(answer, "status", None)
    if not getattr(answer, "template", False):
        if isinstance(status, str):
            findings.append((at + ("status",), "status must be a number from 100 to 599, or a "
                                               "template with template: true", "error"))
        return
    problems: list[tuple[tuple, str]] = []
    status_t = _text(status, at + ("status",), problems) if isinstance(status, str) else None
    headers = tuple((name, _text(value, at + ("headers", name), problems))
                    for name, value in (getattr(answer, "headers", None) or {}).items())
    content_type = next((v for k, v in (getattr(answer, "headers", None) or {}).items()
                         if k.lower() == "content-type"), None)
    body, kind = _body(getattr(answer, "body", None), content_type, at + ("body",), problems)
    for name in ("callback_body", "access_token"):
        value = getattr(answer, name, None)
        if value is not None:
            compiled.put((id(answer), name), _value(value, at + (name,), problems))
    for name, value in (getattr(answer, "callback_headers", None) or {}).items():
        compiled.put((id(answer), "callback_headers", name),
                     _text(value, at + ("callback_headers", name), problems))
    findings.extend((loc, message, "error") for loc, message in problems)
    compiled.put(answer, AnswerTemplate(status_t, headers, body, kind))


def _body(body: Any, content_type: str | None, at: tuple,
          problems: list[tuple[tuple, str]]) -> tuple[Any, str]:
    if body is None:
        return None, "none"
    if isinstance(body, str) and content_type is not None and "json" not in content_type.lower():
        markup = any(w in content_type.lower() for w in ("xml", "html"))
        return _text(body, at, problems, markup=markup), "markup" if markup else "text"
    return _value(body, at, problems), "json"


def _text(value: Any, at: tuple, problems: list[tuple[tuple, str]], *,
          markup: bool = False) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return compile_text(value, markup=markup)
    except TemplateProblems as exc:
        problems.extend((at, f"template line {p.line}: {p.message}") for p in exc.problems)
        return value


def _value(value: Any, at: tuple, problems: list[tuple[tuple, str]]) -> Any:
    try:
        return compile_value(value)
    except TemplateProblems as exc:
        problems.extend((at + tuple(p.path), f"template line {p.line}: {p.message}")
                        for p in exc.problems)
        return None


# --- validate: xpath rules and XML Schema ---------------------------------------------

def _validation(compiled: Compiled, findings: list[Finding], block: Any, at: tuple,
                namespaces: dict[str, str], file: Path | None) -> None:
    if block.xpath:
        rules = []
        for expr, rule in block.xpath.items():
            source = _capture_source(findings, {"xpath": expr}, at + ("xpath", expr),
                                     namespaces)
            if source is not None:
                rules.append((expr, source, rule))
        compiled.put(block.xpath, rules)
    if block.xsd:
        schema_file = (file.parent if file is not None else Path(".")) / block.xsd
        try:
            from lxml import etree

            parser = etree.XMLParser(resolve_entities=False, no_network=True)
            compiled.put(block, etree.XMLSchema(etree.parse(str(schema_file), parser)))
        except Exception as exc:  # noqa: BLE001 - a missing file or any of lxml's errors
            findings.append((at + ("xsd",), f"cannot load the XML Schema {schema_file}: "
                                            f"{str(exc).splitlines()[0] if str(exc) else exc}",
                             "error"))
