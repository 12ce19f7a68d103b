"""A file the schema rejects still gets the compiled stage's problems (conditions, captures,
templates, XPath rules, faults' conditions) in the same run, located as that stage locates
them, and odd shapes never make the check raise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imnot_proxy.compiled_raw import compile_raw

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "partners").glob("*/partner.yaml"))

TWO_STAGES = """\
partner: b3
hosts: [api.b3.test]
datapoints:
  - name: d
    pattern: static
    endpoints:
      - method: GET
        path: /d
        response: {status: 99}
      - method: GET
        path: /e
        when: {header: X, matches: "(["}
        response: {template: true, body: {x: "{{ foo( }}"}}
"""


def found(result) -> list[tuple[int, str, str]]:
    return [(p.line, p.loc, p.message) for p in result.problems]


def test_schema_condition_and_template_problems_in_one_run(tmp_path, load_text):
    assert found(load_text(TWO_STAGES, tmp_path)) == [
        (9, "datapoints.0.endpoints.0.response.status", "status must be from 100 to 599"),
        (12, "datapoints.0.endpoints.1.when.matches",
         "invalid regex: unterminated character set at position 1"),
        (13, "datapoints.0.endpoints.1.response.body.x",
         "template line 1: unexpected '}', expected ')'"),
    ]


def test_a_schema_error_alone_is_reported_alone(tmp_path, load_text):
    text = TWO_STAGES.replace('"(["', '"^a"').replace("foo( }}", "request.path }}")
    assert found(load_text(text, tmp_path)) == [
        (9, "datapoints.0.endpoints.0.response.status", "status must be from 100 to 599"),
    ]


# Every kind of compiled-stage problem, in a file the schema accepts.
COMPILED_PROBLEMS = """\
partner: every
namespaces: {ota: "http://www.opentravel.org/OTA/2003/05"}
faults:
  - {kind: status, status: 503, when: {header: X, matches: "(["}}
datapoints:
  - name: jobs
    pattern: polling
    strict_order:
      unknown_id: {template: true, body: {a: "{{ x( }}"}}
    endpoints:
      - method: POST
        path: /jobs
        step: 1
        when: {hedaer: X}
        capture:
          hotel: {json: "$..["}
          two: {json: a, header: b}
        validate:
          xpath: {"//[": {required: true}}
        response:
          generates_id: true
          id_body_field: id
          status: "201"
          template: true
          headers: {X-T: "{{ nope( }}"}
          body: {id: "{id}"}
      - method: GET
        path: /jobs/{id}
        step: 2
        response:
          status: "{{ 200 }}"
          pending:
            - {polls: 1, template: true, body: {p: "{% if %}"}}
          failed: {template: true, body: {f: "{{ ) }}"}}
        alternatives:
          - when: {query: q, min: abc}
            response: {template: true, body: {a: "{{ a( }}"}}
          - {}
      - method: GET
        path: /jobs/{id}/result
        step: 3
        response: {returns_payload: true, status: "200"}
  - name: c
    pattern: callback
    faults:
      - {kind: callback_drop, when: {header: X}}
    endpoints:
      - method: POST
        path: /c
        capture: {ref: {xpath: "//ota:["}}
        response:
          callback_url_field: url
          template: true
          callback_headers: {X-S: "{{ s( }}"}
          callback_body: {b: "{{ b( }}"}
"""
SCHEMA_ERROR = """\
  - name: broken
    pattern: static
    endpoints:
      - {method: GET, path: /broken, response: {status: 99}}
"""


def test_the_same_problems_as_the_compiled_stage_when_the_schema_fails(tmp_path, load_text):
    alone = load_text(COMPILED_PROBLEMS, tmp_path / "a")
    assert len(alone.errors) >= 14, found(alone)
    assert not any(p.loc.startswith("datapoints.2") for p in alone.problems)
    both = load_text(COMPILED_PROBLEMS + SCHEMA_ERROR, tmp_path / "b")
    schema_error = (59, "datapoints.2.endpoints.0.response.status",
                    "status must be from 100 to 599")
    assert sorted(found(both)) == sorted([*found(alone), schema_error])


def test_no_second_message_where_the_schema_already_reports(tmp_path, load_text):
    text = TWO_STAGES.replace('when: {header: X, matches: "(["}', "when: {header: X}") \
        .replace("{x: \"{{ foo( }}\"}", "{x: 1}") + "        capture: {a: [not, a, mapping]}\n"
    text = text.replace("pattern: static", "pattern: polling")
    locs = [p.loc for p in load_text(text, tmp_path).errors]
    assert locs.count("datapoints.0.endpoints.1.capture.a") == 1, locs


def test_an_unknown_pattern_still_has_its_conditions_compiled(tmp_path, load_text):
    text = TWO_STAGES.replace("pattern: static", "pattern: statc")
    assert [(line, loc) for line, loc, _ in found(load_text(text, tmp_path))] == [
        (5, "datapoints.0.pattern"),
        (12, "datapoints.0.endpoints.1.when.matches"),
    ]


HOSTILE_SHAPES = [
    {"datapoints": "x"},
    {"datapoints": [None, 1, "s", [], {"pattern": ["static"]}]},
    {"datapoints": [{"pattern": "static"}]},
    {"datapoints": [{"pattern": "polling", "endpoints": {"a": 1}, "strict_order": True}]},
    {"namespaces": [1], "faults": {"kind": "status"}, "datapoints": [{
        "pattern": "polling", "namespaces": {"a": 1, 2: "b"},
        "faults": [1, {"kind": ["status"], "when": [{"header": "X"}, 3]}, {"when": "x"}],
        "strict_order": {"unknown_id": [], "not_ready": {"template": "yes", "headers": [1]}},
        "endpoints": [None, {
            "when": [1, "x", None, {"all": "x"}], "capture": ["a"], "validate": "x",
            "alternatives": {"when": 1},
            "response": {"template": True, "status": [1], "headers": {"Content-Type": ["x"],
                                                                       1: "{{ a }}"},
                         "body": {1: {None: "{{ x }}"}}, "pending": {"a": 1}, "failed": 3}},
            {"when": 5, "alternatives": [1, {"when": "s", "response": "r"}],
             "capture": {"a": None, "b": {"json": 1}, "c": {"xpath": []}},
             "validate": {"xpath": {"//a": None, 1: {}}, "xsd": 7},
             "response": {"template": 1, "status": "abc", "pending": [None, {"body": "{{"}]}}],
    }]},
]


def test_odd_shapes_never_raise():
    for data in HOSTILE_SHAPES:
        for finding in compile_raw(data):
            assert isinstance(finding[0], tuple) and isinstance(finding[1], str)


# --- the example files with any part replaced by any value: never an exception ----------

KEYS = ["when", "response", "alternatives", "capture", "validate", "xpath", "xsd", "template",
        "status", "headers", "Content-Type", "body", "pending", "failed", "callback_body",
        "callback_headers", "faults", "kind", "namespaces", "endpoints", "pattern", "header",
        "json", "matches", "all", "any", "not", "in", "min", "strict_order", "unknown_id"]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.sampled_from(["{{ x( }}", "{{ x }}", "([", "$..[", "//[", "static", "polling",
                       "status", "callback_drop", "text/xml", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(KEYS) | st.integers(0, 2), inner, max_size=4),
    max_leaves=12)


def _places(value: Any, at: tuple = ()) -> list[tuple]:
    places = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            places.extend(_places(item, at + (key,)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            places.extend(_places(item, at + (i,)))
    return places


def _replace(data: Any, at: tuple, value: Any) -> Any:
    if not at:
        return value
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[at[0]] = _replace(data[at[0]], at[1:], value)
    return copy


@settings(max_examples=200, deadline=2000, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_example_files_with_any_part_replaced_never_raise(data):
    examples = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in EXAMPLES]
    original = data.draw(st.sampled_from(examples))
    mutated = original
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.sampled_from(_places(mutated)[1:]))
        mutated = _replace(mutated, at, data.draw(VALUES))
    for finding in compile_raw(mutated):
        assert isinstance(finding[0], tuple) and isinstance(finding[1], str)


def test_the_schema_problems_stand_even_if_the_raw_check_fails(tmp_path, load_text,
                                                              monkeypatch):
    from imnot_proxy import loader

    def broken(*_: Any) -> list:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(loader, "compile_raw", broken)
    assert found(load_text(TWO_STAGES, tmp_path)) == [
        (9, "datapoints.0.endpoints.0.response.status", "status must be from 100 to 599"),
    ]


def test_no_xpath_is_compiled_against_invalid_namespaces(tmp_path, load_text):
    text = TWO_STAGES.replace("hosts: [api.b3.test]", "hosts: [api.b3.test]\nnamespaces: {ota: 5}") \
        .replace("response: {status: 99}", "when: {xpath: //ota:Ping}") \
        .replace('"(["', '"^a"').replace("foo( }}", "request.path }}")
    assert [p.loc for p in load_text(text, tmp_path).errors] == ["namespaces.ota"]
