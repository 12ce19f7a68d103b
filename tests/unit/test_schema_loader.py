"""Partner schema and loader: what loads, what is rejected, and where problems point."""

from __future__ import annotations

from pathlib import Path

import pytest
from compat_fixtures import COMPAT, require

from imnot_proxy import loader, schema
from imnot_proxy.errors import Problem

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
BROKEN = TESTS / "data" / "broken"
COMPAT_FILES = sorted(COMPAT.rglob("*.yaml")) if COMPAT.is_dir() else []


# --- golden: every kind of broken file at once ---------------------------------------

def test_broken_files_report_every_problem_with_file_and_line(monkeypatch):
    monkeypatch.chdir(BROKEN)
    result = loader.load_paths(["."])
    expected = (BROKEN / "expected_problems.txt").read_text(encoding="utf-8").splitlines()
    actual = [str(p) for p in result.problems]
    for got, want in zip(actual, expected, strict=False):
        assert got == want
    assert len(actual) == len(expected), "\n".join(actual)


def test_broken_dir_still_loads_the_good_partners(monkeypatch):
    monkeypatch.chdir(BROKEN)
    result = loader.load_paths(["."])
    assert [s.name for s in result.partners] == ["first", "unknownkey"]
    assert [p.file for p in result.warnings] == ["unknown_key.yaml"]


# --- files that must load ------------------------------------------------------------

@pytest.mark.parametrize("path", COMPAT_FILES or [None],
                         ids=lambda p: str(p.relative_to(COMPAT)) if p else "missing")
def test_original_imnot_files_load_unchanged(path: Path | None):
    require(COMPAT)
    assert path is not None
    result = loader.load_paths([path])
    assert result.errors == []
    assert len(result.partners) == 1


@pytest.mark.parametrize("folder", [REPO / "partners", REPO / "imnot_proxy" / "examples"],
                         ids=["partners", "bundled-examples"])
def test_example_partners_load_without_problems(folder: Path):
    result = loader.load_paths([folder])
    assert result.problems == []
    assert sorted(s.name for s in result.partners) == ["bookingco", "channellink", "staylink"]
    assert all(s.model.hosts for s in result.partners)


# --- schema ---------------------------------------------------------------------------

def test_method_upper_cased_and_trailing_slash_stripped(tmp_path, load_text):
    result = load_text("""
        partner: p
        datapoints:
          - name: d
            pattern: fetch
            endpoints:
              - {method: " get ", path: /a/b/}
              - {method: post, path: /}
        """, tmp_path)
    endpoints = result.partners[0].model.datapoints[0].endpoints
    assert [(e.method, e.path) for e in endpoints] == [("GET", "/a/b"), ("POST", "/")]


def test_hosts_lower_cased_and_a_single_host_string_accepted(tmp_path, load_text):
    result = load_text("""
        partner: p
        hosts: API.Example.COM.
        datapoints:
          - {name: d, pattern: fetch, endpoints: [{method: GET, path: /x}]}
        """, tmp_path)
    assert result.partners[0].model.hosts == ["api.example.com"]


def test_defaults_of_each_pattern(tmp_path, load_text):
    result = load_text("""
        partner: p
        datapoints:
          - {name: o, pattern: oauth, endpoints: [{method: POST, path: /o}]}
          - {name: s, pattern: static, endpoints: [{method: GET, path: /s}]}
          - {name: c, pattern: callback,
             endpoints: [{method: POST, path: /c, response: {callback_url_field: u,
                                                             callback_method: put}}]}
          - {name: l, pattern: paginated, pagination: {style: page_number, items_field: items},
             endpoints: [{method: GET, path: /l}]}
        """, tmp_path)
    oauth, static, callback, paginated = result.partners[0].model.datapoints
    assert (oauth.endpoints[0].response.status, oauth.endpoints[0].response.token_type,
            oauth.endpoints[0].response.expires_in) == (200, "Bearer", 3600)
    assert (static.endpoints[0].response.status, static.endpoints[0].response.body) == (200, None)
    cb = callback.endpoints[0].response
    assert (cb.status, cb.callback_method, cb.callback_delay_seconds) == (202, "PUT", 0)
    cfg = paginated.pagination
    assert (cfg.page_param, cfg.size_param, cfg.cursor_ttl_seconds) == ("page", "size", 3600)


def test_header_values_written_as_numbers_or_booleans_become_text(tmp_path, load_text):
    result = load_text("""
        partner: p
        datapoints:
          - name: d
            pattern: static
            endpoints:
              - {method: GET, path: /x, response: {headers: {Retry-After: 5, X-Flag: true}}}
        """, tmp_path)
    headers = result.partners[0].model.datapoints[0].endpoints[0].response.headers
    assert headers == {"Retry-After": "5", "X-Flag": "true"}


def test_strict_order_true_gives_the_default_answers(tmp_path, load_text):
    result = load_text("""
        partner: p
        datapoints:
          - name: job
            pattern: polling
            strict_order: true
            endpoints:
              - {step: 1, method: POST, path: /j, response: {generates_id: true, id_body_field: id}}
              - {step: 2, method: GET, path: "/j/{id}", response: {returns_payload: true}}
        """, tmp_path)
    strict = result.partners[0].model.datapoints[0].strict_order
    assert strict is not None
    assert (strict.unknown_id.status, strict.not_ready.status) == (404, 409)


@pytest.mark.parametrize(("fragment", "loc", "message"), [
    ("endpoints: [{method: GET, path: x}]", "datapoints.0.endpoints.0.path",
     "path must start with '/'"),
    ("endpoints: [{method: 5, path: /x}]", "datapoints.0.endpoints.0.method",
     "Input should be a valid string"),
    ("endpoints: [{method: GET, path: /x, step: true}]", "datapoints.0.endpoints.0.step",
     "Input should be a valid integer"),
    ("endpoints: [{method: GET, path: /x, response: {status: 99}}]",
     "datapoints.0.endpoints.0.response.status", "status must be from 100 to 599"),
    ("endpoints: []", "datapoints.0.endpoints", "must not be empty"),
    ("endpoints: [{method: GET, path: /x, rate_limit: {requests_per_minute: 0}}]",
     "datapoints.0.endpoints.0.rate_limit.requests_per_minute", "greater than 0"),
    ("endpoints: [{method: GET, path: /x, rate_limit: {requests_per_minute: 1.5}}]",
     "datapoints.0.endpoints.0.rate_limit.requests_per_minute", "valid integer"),
    ("endpoints: [{method: GET, path: /x, rate_limit: {rpm: 5}}]",
     "datapoints.0.endpoints.0.rate_limit.requests_per_minute", "is required"),
    ("endpoints: [{method: GET, path: /x, validate: {query: {q: {type: float}}}}]",
     "datapoints.0.endpoints.0.validate.query.q.type", "Input should be 'string'"),
    ("endpoints: [{method: GET, path: /x, validate: {query: {q: {pattern: '('}}}}]",
     "datapoints.0.endpoints.0.validate.query.q.pattern", "not a valid regular expression"),
    ("endpoints: [{method: GET, path: /x, validate: {query: {q: {requird: true}}}}]",
     "datapoints.0.endpoints.0.validate.query.q.requird", "unknown key 'requird'"),
    ("endpoints: [{method: GET, path: /x, validate: {cookies: {}}}]",
     "datapoints.0.endpoints.0.validate.cookies", "unknown key 'cookies'"),
    ("endpoints: [{method: GET, path: /x, validate: {query: [q]}}]",
     "datapoints.0.endpoints.0.validate.query", "valid dictionary"),
])
def test_fetch_endpoint_errors(tmp_path, load_text, fragment, loc, message):
    result = load_text(f"""
        partner: p
        datapoints:
          - name: d
            pattern: fetch
            {fragment}
        """, tmp_path)
    assert result.partners == []
    at_loc = [p.message for p in result.errors if p.loc == loc]
    assert at_loc, result.errors
    assert message in at_loc[0]


@pytest.mark.parametrize(("pagination", "loc", "message"), [
    ("{items_field: items}", "datapoints.0.pagination.style", "is required"),
    ("{style: pages, items_field: items}", "datapoints.0.pagination.style", "'offset_limit'"),
    ("{style: offset_limit}", "datapoints.0.pagination.items_field", "is required"),
    ("{style: cursor, items_field: items}", "datapoints.0.pagination",
     "'cursor_field' is required for style 'cursor'"),
    ("{style: page_number_url, items_field: items, next_url_field: n}",
     "datapoints.0.pagination", "'next_url_field' and 'previous_url_field' are both required"),
    ("{style: page_number_url, items_field: i, next_url_field: n, previous_url_field: p,"
     " total_pages: 0}", "datapoints.0.pagination.total_pages", "greater than 0"),
    ("{style: page_number_url, items_field: i, next_url_field: n, previous_url_field: p,"
     " total_pages: true}", "datapoints.0.pagination.total_pages", "valid integer"),
    ("{style: offset_limit, items_field: items, limit_field: x}",
     "datapoints.0.pagination.limit_field", "unknown key 'limit_field'"),
])
def test_pagination_errors(tmp_path, load_text, pagination, loc, message):
    result = load_text(f"""
        partner: p
        datapoints:
          - name: d
            pattern: paginated
            pagination: {pagination}
            endpoints: [{{method: GET, path: /x}}]
        """, tmp_path)
    assert [p.loc for p in result.errors] == [loc], result.errors
    assert message in result.errors[0].message


def test_paginated_without_pagination_block(tmp_path, load_text):
    result = load_text("""
        partner: p
        datapoints:
          - {name: d, pattern: paginated, endpoints: [{method: GET, path: /x}]}
        """, tmp_path)
    assert [(p.loc, p.message) for p in result.errors] == [("datapoints.0.pagination",
                                                             "is required")]


@pytest.mark.parametrize("pending", ["[{status: 200}]", "[{polls: 1, seconds: 2}]",
                                     "[{polls: 0}]", "[{seconds: -1}]"])
def test_pending_entry_needs_one_positive_limit(tmp_path, load_text, pending):
    result = load_text(f"""
        partner: p
        datapoints:
          - name: job
            pattern: polling
            endpoints:
              - {{step: 1, method: POST, path: /j, response: {{generates_id: true, id_body_field: id}}}}
              - {{step: 2, method: GET, path: "/j/{{id}}", response: {{pending: {pending}}}}}
        """, tmp_path)
    assert result.partners == []
    assert result.errors[0].loc.startswith("datapoints.0.endpoints.1.response.pending.0")


def test_missing_pattern_lists_the_patterns(tmp_path, load_text):
    result = load_text("""
        partner: p
        datapoints:
          - {name: d, endpoints: [{method: GET, path: /x}]}
        """, tmp_path)
    assert [str(p) for p in result.errors] == [
        f"{tmp_path / 'partner.yaml'}:4 datapoints.0: is missing 'pattern' (one of: oauth, "
        "static, fetch, polling, callback, paginated)"]


def test_json_schema_describes_the_partner_file():
    generated = schema.json_schema()
    assert generated["$schema"].startswith("https://json-schema.org/")
    assert {"partner", "hosts", "datapoints"} <= set(generated["properties"])
    assert "partner" in generated["required"]
    assert "validate" in generated["$defs"]["FetchEndpoint"]["properties"]


# --- unknown keys: warnings, or errors with strict ----------------------------------

UNKNOWN_KEYS = """
    partner: p
    colour: blue
    datapoints:
      - name: d
        pattern: static
        endpoints:
          - {method: GET, path: /x, response: {staus: 201, body: {a: 1}}}
    """


def test_unknown_keys_are_warnings_and_the_partner_loads(tmp_path, load_text):
    result = load_text(UNKNOWN_KEYS, tmp_path)
    assert [(p.loc, p.message, p.severity) for p in result.problems] == [
        ("colour", "unknown key 'colour'", "warning"),
        ("datapoints.0.endpoints.0.response.staus",
         "unknown key 'staus' (did you mean 'status'?)", "warning"),
    ]
    response = result.partners[0].model.datapoints[0].endpoints[0].response
    assert (response.status, response.body) == (200, {"a": 1})


def test_strict_makes_unknown_keys_errors(tmp_path, load_text):
    result = load_text(UNKNOWN_KEYS, tmp_path, strict=True)
    assert result.partners == []
    assert [p.severity for p in result.problems] == ["error", "error"]


def test_unknown_top_key_hints_at_the_real_one(tmp_path, load_text):
    result = load_text("""
        partner: p
        datapoint:
          - {name: d, pattern: fetch, endpoints: [{method: GET, path: /x}]}
        """, tmp_path)
    assert {(p.loc, p.message) for p in result.problems} == {
        ("datapoints", "is required"),
        ("datapoint", "unknown key 'datapoint' (did you mean 'datapoints'?)"),
    }


# --- B1: structural surprises are problems, never crashes --------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("just a string\n", "expected a mapping at the top, got str"),
    ("42\n", "expected a mapping at the top, got int"),
    ("# only a comment\n", "file is empty; expected a partner mapping"),
    ("partner: p\ndatapoints:\n  - {name: d, pattern: fetch, endpoints: {method: GET}}\n",
     "Input should be a valid list"),
    ("partner: [p]\ndatapoints:\n  - {name: d, pattern: fetch, endpoints: [{method: GET, "
     "path: /x}]}\n", "Input should be a valid string"),
])
def test_structural_errors_are_reported(tmp_path, load_text, text, message):
    result = load_text(text, tmp_path)
    assert result.partners == []
    assert any(message in p.message for p in result.errors), result.errors


def test_datapoint_that_is_not_a_mapping_says_so(tmp_path, load_text):
    result = load_text("partner: p\ndatapoints: [just-a-name]\n", tmp_path)
    assert result.partners == []
    assert [p.loc for p in result.errors] == ["datapoints.0"]
    assert "missing 'pattern'" not in result.errors[0].message
    assert "mapping" in result.errors[0].message or "dictionary" in result.errors[0].message


# --- finding files ---------------------------------------------------------------------------

def write_partner(path: Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"partner: {name}\ndatapoints:\n  - {{name: d, pattern: fetch, "
                    f"endpoints: [{{method: GET, path: /{name}}}]}}\n", encoding="utf-8")


def test_finds_partner_yaml_in_folders_and_yaml_files_beside_them(tmp_path):
    write_partner(tmp_path / "a" / "partner.yaml", "a")
    write_partner(tmp_path / "b" / "partner.yml", "b")
    write_partner(tmp_path / "c.yaml", "c")
    write_partner(tmp_path / "d.yml", "d")
    write_partner(tmp_path / "e" / "deeper" / "partner.yaml", "e")  # one level only
    (tmp_path / "notes.txt").write_text("not a partner")
    result = loader.load_paths([tmp_path])
    assert sorted(s.name for s in result.partners) == ["a", "b", "c", "d"]
    assert result.problems == []


def test_a_single_file_path_is_loaded(tmp_path):
    write_partner(tmp_path / "anything.txt", "solo")
    result = loader.load_paths([tmp_path / "anything.txt"])
    assert [s.name for s in result.partners] == ["solo"]


def test_missing_path_is_an_error_and_empty_dir_a_warning(tmp_path):
    (tmp_path / "empty").mkdir()
    result = loader.load_paths([tmp_path / "missing", tmp_path / "empty"])
    assert result.partners == []
    assert result.problems == [
        Problem(str(tmp_path / "missing"), 0, "", "partners path does not exist", "error"),
        Problem(str(tmp_path / "empty"), 0, "", "no partner files found", "warning"),
    ]
    assert str(result.problems[0]) == f"{tmp_path / 'missing'} partners path does not exist"


def test_unreadable_file_is_a_problem_and_the_others_load(tmp_path):
    (tmp_path / "latin1.yaml").write_bytes(b"partner: caf\xe9\n")
    write_partner(tmp_path / "good.yaml", "good")
    result = loader.load_paths([tmp_path])
    assert [s.name for s in result.partners] == ["good"]
    assert result.errors[0].file == str(tmp_path / "latin1.yaml")
    assert str(result.errors[0]) == (f"{tmp_path / 'latin1.yaml'}:1 not UTF-8: byte 0xe9 at "
                                     "offset 12; save the file as UTF-8")


def test_partner_source_knows_lines(tmp_path, load_text):
    result = load_text("""
        partner: p
        datapoints:
          - name: d
            pattern: fetch
            endpoints:
              - method: GET
                path: /x
        """, tmp_path)
    source = result.partners[0]
    assert source.name == "p"
    assert source.line_of(("datapoints", 0, "endpoints", 0, "path")) == 8
    assert source.line_of(("datapoints", 0, "endpoints", 0, "response", "status")) == 7
    assert source.line_of(()) == 2
