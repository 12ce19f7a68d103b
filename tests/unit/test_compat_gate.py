"""The original-suite gate's comparison (tests/compat/gate.py), without any download."""

from __future__ import annotations

from pathlib import Path

import pytest
from compat.gate import (  # tests/ is on sys.path, as for store_contract
    Expected,
    Outcome,
    compare,
    differences_rows,
    load_expected,
    summary,
)

REPO = Path(__file__).resolve().parents[2]

README = """\
# Partner files

## Differences from the original imnot 1.5.0

| | imnot 1.5.0 | imnot_proxy |
|---|---|---|
| Callback targets | any URL | loopback plus `imnot_callback_allow` |
| B12: `page_number_url` links | base_url | the request's own |

## Next section

| Not a difference | x | y |
"""

EXPECTED = """\
- reason: B15
  tests:
    - tests/test_openapi.py::test_schema_title
- reason: "Differences: Callback targets"
  note: the tests call back http://consumer/
  tests:
    - tests/test_push_pattern.py::test_a
    - tests/test_push_pattern.py::test_b
- reason: internals
  tests: [tests/test_server.py::test_log]
- reason: "incompatible: no X-Request-ID header"
  tests: [tests/test_server.py::test_request_id]
"""


def rows() -> set[str]:
    return differences_rows(README)


def test_rows_are_the_first_cells_of_the_differences_tables_only():
    assert rows() == {"Callback targets", "B12: page_number_url links"}


def test_the_project_readme_has_the_differences_the_list_points_at():
    readme = (REPO / "partners" / "README.md").read_text()
    listed = (REPO / "tests" / "compat" / "expected-differences.yaml").read_text()
    assert load_expected(listed, differences_rows(readme))


def test_load_reads_each_test_with_its_groups_reason_and_note():
    expected = load_expected(EXPECTED, rows())
    assert len(expected) == 5
    assert expected["tests/test_push_pattern.py::test_b"] == Expected(
        "tests/test_push_pattern.py::test_b", "Differences: Callback targets",
        "the tests call back http://consumer/")
    assert [e.kind for e in expected.values()] == [
        "bug fixed", "difference", "difference", "internals", "incompatible"]


@pytest.mark.parametrize(("text", "problem"), [
    ("{a: 1}", "a list of groups"),
    ("- reason: B15\n  tests: [t]\n  why: x\n", "keys are reason, note and tests"),
    ("- reason: B99\n  tests: [t]\n", "is not B<n>"),
    ("- reason: flaky\n  tests: [t]\n", "is not B<n>"),
    ("- reason: 'incompatible:'\n  tests: [t]\n", "is not B<n>"),
    ("- reason: 'Differences: HEAD'\n  tests: [t]\n", "not a row of the Differences table"),
    ("- reason: internals\n  tests: []\n", "non-empty list"),
    ("- reason: internals\n  tests: [t]\n- reason: B4\n  tests: [t]\n", "t is listed twice"),
])
def test_load_names_the_first_problem(text, problem):
    with pytest.raises(ValueError, match=problem):
        load_expected(text, rows())


def test_compare_sorts_every_outcome():
    expected = load_expected(EXPECTED, rows())
    outcomes = {
        "tests/test_openapi.py::test_schema_title": Outcome("failed", "assert 404 == 200"),
        "tests/test_push_pattern.py::test_a": Outcome("failed", "assert 422 == 202"),
        "tests/test_push_pattern.py::test_b": Outcome("passed"),  # fixed: unexpected pass
        "tests/test_server.py::test_log": Outcome("failed", "assert False"),
        "tests/test_router.py::test_new": Outcome("failed", "KeyError: 'updated'"),
        "tests/test_router.py::test_ok": Outcome("passed"),
        "tests/test_router.py::test_skip": Outcome("skipped"),
    }
    result = compare(outcomes, expected)
    assert result.passed == ["tests/test_router.py::test_ok"]
    assert [e.test for e in result.expected] == [
        "tests/test_openapi.py::test_schema_title", "tests/test_push_pattern.py::test_a",
        "tests/test_server.py::test_log"]
    assert result.unexpected_failures == [("tests/test_router.py::test_new",
                                           "KeyError: 'updated'")]
    assert [e.test for e in result.unexpected_passes] == ["tests/test_push_pattern.py::test_b"]
    assert [e.test for e in result.not_run] == ["tests/test_server.py::test_request_id"]
    assert result.skipped == ["tests/test_router.py::test_skip"]
    assert not result.ok()


def test_a_listed_test_that_did_not_run_fails_only_a_full_run():
    expected = load_expected(EXPECTED, rows())
    outcomes = {test: Outcome("failed", "x") for test in expected}
    del outcomes["tests/test_server.py::test_request_id"]
    result = compare(outcomes, expected)
    assert not result.unexpected_failures and not result.unexpected_passes
    assert not result.ok()
    assert result.ok(require_all=False)


def test_everything_as_expected_is_ok():
    expected = load_expected(EXPECTED, rows())
    outcomes = {test: Outcome("failed", "x") for test in expected}
    outcomes["tests/test_router.py::test_ok"] = Outcome("passed")
    assert compare(outcomes, expected).ok()


def test_summary_counts_and_lists_each_surprise_with_its_first_error_line():
    expected = load_expected(EXPECTED, rows())
    outcomes = {
        "tests/test_openapi.py::test_schema_title": Outcome("failed", "assert 404 == 200"),
        "tests/test_push_pattern.py::test_a": Outcome("failed", "x"),
        "tests/test_push_pattern.py::test_b": Outcome("passed"),
        "tests/test_server.py::test_log": Outcome("failed", "x"),
        "tests/test_server.py::test_request_id": Outcome("failed", "x"),
        "tests/test_router.py::test_new": Outcome("failed", "call: KeyError: 'updated'"),
        "tests/test_router.py::test_ok": Outcome("passed"),
    }
    text = summary(compare(outcomes, expected), collected=647, selected=7)
    assert "647 tests, 7 selected" in text
    assert "passed                 1" in text
    assert ("expected differences   4  (bug fixed 1, difference 1, incompatible 1, "
            "internals 1)") in text
    assert "unexpected             2" in text
    assert ("UNEXPECTED FAILURE tests/test_router.py::test_new\n"
            "    call: KeyError: 'updated'") in text
    assert ("UNEXPECTED PASS tests/test_push_pattern.py::test_b "
            "(reason: Differences: Callback targets)") in text


def test_a_partial_run_counts_the_listed_tests_it_did_not_run():
    expected = load_expected(EXPECTED, rows())
    outcomes = {"tests/test_openapi.py::test_schema_title": Outcome("failed", "x")}
    result = compare(outcomes, expected)
    assert "LISTED BUT NOT RUN tests/test_server.py::test_log" in summary(
        result, collected=647, selected=1)
    partial = summary(result, collected=647, selected=1, require_all=False)
    assert "listed, not run        4 (a partial run)" in partial
    assert "NOT RUN" not in partial
