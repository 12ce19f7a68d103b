"""The ``faults:`` and ``latency:`` keys: what loads, what is refused with file:line, what is
capped with a warning, and the JSON Schema editors get."""

from __future__ import annotations

import pydantic
import pytest

from imnot_proxy.schema import json_schema
from imnot_proxy.schema.faults import FAULT, FAULT_KINDS, LatencySpec, When, fault_warnings

BASE = """\
partner: acme
hosts: [api.acme.test]
datapoints:
  - name: hello
    pattern: static
    endpoints:
      - method: GET
        path: /hello
{extra}
  - name: hooks
    pattern: callback
    endpoints:
      - method: POST
        path: /hooks
        response: {{callback_url_field: url}}
"""


def load(load_text, tmp_path, extra: str):
    return load_text(BASE.format(extra=extra), tmp_path)


@pytest.mark.parametrize("fault", [
    {"kind": "status"},
    {"kind": "status", "status": 429, "retry_after": 3, "headers": {"X-A": 1}, "body": "busy"},
    {"kind": "latency", "ms": 0},
    {"kind": "latency", "uniform_ms": [10, 20], "when": {"every": 2}},
    {"kind": "latency", "median_ms": 200, "sigma": 1.2, "max_ms": 900, "seed": "x"},
    {"kind": "latency", "body": {"bytes": 16, "every_ms": 50}},
    {"kind": "hang"}, {"kind": "hang", "max_seconds": 0.5},
    {"kind": "reset", "when": {"probability": 0.25, "seed": 7}},
    {"kind": "empty_reply", "when": {"first": 3, "per": "all"}},
    {"kind": "truncated", "bytes": 0}, {"kind": "malformed_chunk"},
    {"kind": "status", "when": {"seconds": 10, "since": "id"}},
    {"kind": "callback_delay", "ms": 100}, {"kind": "callback_drop"},
    {"kind": "callback_duplicate", "times": 3, "gap_ms": 10},
    {"kind": "callback_out_of_order", "hold_seconds": 5},
])
def test_valid_faults(fault):
    assert FAULT.validate_python(fault).kind == fault["kind"]


@pytest.mark.parametrize(("fault", "message"), [
    ({"kind": "explode"}, "does not match any of the expected tags"),
    ({}, "Unable to extract tag"),
    ({"kind": "status", "status": 700}, "less than or equal to 599"),
    ({"kind": "status", "when": {"probability": 1.5}}, "less than or equal to 1"),
    ({"kind": "status", "when": {"probability": -0.1}}, "greater than or equal to 0"),
    ({"kind": "status", "when": {"seed": 1}}, "'seed' needs 'probability'"),
    ({"kind": "status", "when": {"since": "id"}}, "'since' needs 'seconds'"),
    ({"kind": "status", "when": {"every": 0}}, "greater than or equal to 1"),
    ({"kind": "status", "when": {"first": 1.5}}, "valid integer"),
    ({"kind": "latency"}, "give 'ms', 'uniform_ms' or 'median_ms'"),
    ({"kind": "latency", "ms": -1}, "greater than or equal to 0"),
    ({"kind": "latency", "ms": float("inf")}, "finite number"),
    ({"kind": "latency", "ms": 1, "median_ms": 2}, "give one of"),
    ({"kind": "latency", "uniform_ms": [5, 1]}, "min must not be above max"),
    ({"kind": "latency", "ms": 5, "sigma": 1}, "'sigma' belongs to 'median_ms'"),
    ({"kind": "hang", "max_seconds": -1}, "greater than 0"),
    ({"kind": "reset", "bytes": 3}, "Extra inputs are not permitted"),
    ({"kind": "callback_delay", "ms": 1, "body": {"bytes": 1, "every_ms": 1}},
     "does not apply to callbacks"),
    ({"kind": "callback_duplicate", "times": 1}, "greater than or equal to 2"),
])
def test_invalid_faults(fault, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        FAULT.validate_python(fault)


def test_caps_are_warnings_and_named():
    assert fault_warnings(LatencySpec(ms=1e9)) == [
        (("ms",), "1000000000 ms is more than the cap of 300000 ms; capped to 300000")]
    hang = FAULT.validate_python({"kind": "hang", "max_seconds": 3600})
    assert fault_warnings(hang)[0][0] == ("max_seconds",)
    assert fault_warnings(FAULT.validate_python({"kind": "latency", "ms": 10})) == []


def test_counted_only_when_deciding_needs_a_count():
    assert not When().counted
    assert not When(probability=0.5).counted
    assert not When(seconds=3, since="id").counted
    assert When(probability=0.5, seed=1).counted
    assert When(first=1).counted and When(every=2).counted and When(seconds=3).counted


def test_faults_and_latency_on_every_level_load(load_text, tmp_path):
    result = load(load_text, tmp_path, """\
        latency: 250
        faults:
          - {kind: status, status: 503, when: {first: 1}}
    faults: [{kind: reset, when: {probability: 0.1}}]
    latency: {uniform_ms: [1, 2]}""")
    assert not result.problems, result.problems
    dp = result.partners[0].model.datapoints[0]
    assert dp.latency.uniform_ms == (1, 2)
    assert dp.endpoints[0].latency.ms == 250
    assert dp.endpoints[0].faults[0].status == 503


def test_load_problems_name_file_line_and_field(load_text, tmp_path):
    result = load(load_text, tmp_path, """\
        latency: {ms: 999999999}
        faults:
          - {kind: explode}
          - kind: status
            when: {probability: 2}
          - {kind: hang, max_seconds: -3}
          - {status: 500}
          - {kind: callback_drop}
          - {kind: status, when: {seconds: 1, since: id}}""")
    found = {(p.line, p.loc, p.severity): p.message for p in result.problems}
    kinds = ", ".join(FAULT_KINDS)
    assert found == {
        (11, "datapoints.0.endpoints.0.faults.0.kind", "error"):
            f"unknown fault kind 'explode'; supported: {kinds}",
        (13, "datapoints.0.endpoints.0.faults.1.when.probability", "error"):
            "Input should be less than or equal to 1",
        (14, "datapoints.0.endpoints.0.faults.2.max_seconds", "error"):
            "Input should be greater than 0",
        (15, "datapoints.0.endpoints.0.faults.3", "error"): f"is missing 'kind' (one of: {kinds})",
    }
    assert not result.partners  # nothing half-loaded


def test_a_misspelt_schedule_key_is_named_with_the_schedule_word(load_text, tmp_path):
    """Keys of when: that are not schedule keys are the request condition: a misspelt one
    is the condition compiler's unknown key, suggested from both vocabularies."""
    result = load(load_text, tmp_path, """        faults:
          - kind: status
            when: {probabilty: 0.5}""")
    assert [(p.line, p.loc, p.message) for p in result.problems] == [
        (11, "datapoints.0.endpoints.0.faults.0.when.probabilty",
         "unknown key 'probabilty' (did you mean 'probability'?)")]
    assert not result.partners


def test_a_misspelt_kind_gets_a_suggestion(load_text, tmp_path):
    result = load(load_text, tmp_path, "        faults: [{kind: rest}]")
    assert [p.message for p in result.problems] == [
        f"unknown fault kind 'rest' (did you mean 'reset'?); supported: {', '.join(FAULT_KINDS)}"]


def test_rules_across_fields_and_caps(load_text, tmp_path):
    result = load(load_text, tmp_path, """\
        latency: {ms: 999999999}
        faults:
          - {kind: callback_drop}
          - {kind: status, when: {seconds: 1, since: id}}
          - {kind: hang, max_seconds: 100000}""")
    found = {(p.line, p.loc, p.severity): p.message for p in result.problems}
    assert found == {
        (9, "datapoints.0.endpoints.0.latency.ms", "warning"):
            "999999999 ms is more than the cap of 300000 ms; capped to 300000",
        (11, "datapoints.0.endpoints.0.faults.0.kind", "error"):
            "'callback_drop' applies to callback deliveries: put it on a datapoint with "
            "pattern 'callback'",
        (12, "datapoints.0.endpoints.0.faults.1.when.since", "error"):
            "'since: id' reads the generated id from the path, which has no '{id}' segment",
        (13, "datapoints.0.endpoints.0.faults.2.max_seconds", "warning"):
            "100000 seconds is more than the cap of 600 seconds; capped to 600",
    }


def test_callback_faults_load_on_callback_datapoints(load_text, tmp_path):
    text = BASE.format(extra="").replace(
        "response: {callback_url_field: url}",
        "response: {callback_url_field: url}\n        faults: [{kind: callback_drop}]")
    assert not load_text(text, tmp_path).problems


def test_json_schema_covers_faults_and_latency():
    schema = json_schema()
    defs = schema["$defs"]
    for model in ("Partner",):
        props = schema["properties"] if model == "Partner" else defs[model]["properties"]
        assert {"faults", "latency"} <= set(props)
    for name in ("StaticEndpoint", "PollingDatapoint", "CallbackEndpoint"):
        assert {"faults", "latency"} <= set(defs[name]["properties"]), name
    kinds = {defs[name]["properties"]["kind"]["const"] for name in defs
             if "kind" in defs[name].get("properties", {})}
    assert kinds == set(FAULT_KINDS)
    when = defs["StatusFault"]["properties"]["when"]["anyOf"][0]
    assert {"probability", "seed", "every", "first", "seconds", "since", "per", "header",
            "equals", "all", "any", "not"} <= set(when["properties"])
    assert when["additionalProperties"] is False


def test_json_schema_validates_faults(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema())
    good = {"partner": "p", "datapoints": [{"name": "d", "pattern": "static", "endpoints": [
        {"method": "GET", "path": "/x", "latency": 100,
         "faults": [{"kind": "status", "status": 429, "when": {"first": 2}}]}]}]}
    assert not list(validator.iter_errors(good))
    bad = {**good, "faults": [{"kind": "explode"}]}
    assert list(validator.iter_errors(bad))
    conditioned = {**good, "faults": [{"kind": "status", "when": {
        "header": {"X-Scenario": "outage"}, "first": 3}}, {"kind": "reset", "when": [
            {"query": "a", "equals": "b"}]}]}
    assert not list(validator.iter_errors(conditioned))
    misspelt = {**good, "faults": [{"kind": "status", "when": {"frist": 3}}]}
    assert list(validator.iter_errors(misspelt))


# --- a request condition in when: ------------------------------------------------------------


def test_when_takes_request_conditions_beside_the_schedule(load_text, tmp_path):
    result = load(load_text, tmp_path, """\
        faults:
          - {kind: status, status: 503, when: {header: {X-Scenario: outage}, first: 3}}
          - kind: reset
            when: [{query: mode, equals: chaos}, {json: $.amount, min: 100}]
          - kind: latency
            ms: 10
            when: {any: [{header: X-A}, {header: X-B}], probability: 0.5, seed: 1}""")
    assert not result.problems, result.problems
    faults = result.partners[0].model.datapoints[0].endpoints[0].faults
    assert faults[0].when.first == 3
    assert faults[0].when.request == {"header": {"X-Scenario": "outage"}}
    assert faults[1].when.request == [{"query": "mode", "equals": "chaos"},
                                      {"json": "$.amount", "min": 100}]
    compiled = result.partners[0].compiled
    assert compiled.get(faults[0].when).label == "header X-Scenario=outage"
    assert compiled.get(faults[2].when).label.startswith("any(")


def test_condition_problems_in_when_are_located_like_those_of_alternatives(load_text, tmp_path):
    result = load(load_text, tmp_path, """\
        faults:
          - kind: status
            when: {heder: X-A, equals: b, frist: 2}
          - kind: reset
            when: {json: "$.[", first: 1}
          - kind: hang
            when: {header: X-A, matches: "(", every: 2}""")
    found = {(p.line, p.loc): p.message for p in result.problems}
    assert found == {
        (11, "datapoints.0.endpoints.0.faults.0.when.heder"):
            "unknown key 'heder' (did you mean 'header'?)",
        (11, "datapoints.0.endpoints.0.faults.0.when.frist"):
            "unknown key 'frist' (did you mean 'first'?)",
        (13, "datapoints.0.endpoints.0.faults.1.when.json"):
            "invalid JSONPath: expected a shorthand selector",
        (15, "datapoints.0.endpoints.0.faults.2.when.matches"):
            "invalid regex: missing ), unterminated subpattern at position 0",
    }
    assert not result.partners


def test_a_callback_fault_takes_no_request_condition(load_text, tmp_path):
    text = BASE.format(extra="").replace(
        "response: {callback_url_field: url}",
        "response: {callback_url_field: url}\n"
        "        faults: [{kind: callback_drop, when: {header: X-A, first: 1}}]")
    result = load_text(text, tmp_path)
    assert [(p.loc, p.message) for p in result.problems] == [
        ("datapoints.1.endpoints.0.faults.0.when",
         "a callback fault is decided at delivery, after the request: its 'when' takes no "
         "request condition (only probability, every, first, seconds)")]


def test_a_when_dump_is_one_mapping_again():
    fault = FAULT.validate_python({"kind": "status", "when": {
        "header": "X-A", "equals": "b", "first": 2}})
    dumped = fault.model_dump(mode="json", exclude_defaults=True)
    assert dumped["when"] == {"header": "X-A", "equals": "b", "first": 2}
    assert FAULT.validate_python(dumped) == fault
    alone = FAULT.validate_python({"kind": "reset", "when": [{"header": "X-A"}]})
    assert alone.model_dump(mode="json", exclude_defaults=True)["when"] == {
        "all": [{"header": "X-A"}]}
