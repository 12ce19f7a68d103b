"""Loading when: values: every problem at once, each located inside the when: value."""

from __future__ import annotations

import pytest

from imnot_proxy.lang.conditions import ConditionProblem, compile_condition

NEEDS_CONDITION = ("expected a condition (a mapping such as {header: X-Tier, equals: gold}) "
                   "or a list of them, got ")
UNDECLARED = ("invalid XPath: Undefined namespace prefix (no namespaces are declared, so the "
              "body's are removed: write plain names such as //Body/OTA_PingRQ)")

LOAD_ERRORS = [
    # the shape of a condition
    (None, [((), NEEDS_CONDITION + "null")]),
    ("header X-Tier", [((), NEEDS_CONDITION + "text")]),
    (3, [((), NEEDS_CONDITION + "a number")]),
    ([], [((), "an empty list: give at least one condition")]),
    ({}, [((), "an empty condition: give a source such as header: X-Tier")]),
    ({"all": []}, [(("all",), "an empty list: give at least one condition")]),
    ({"any": "x"}, [(("any",), "any: needs a list of conditions, got text")]),
    ({"not": None}, [(("not",), NEEDS_CONDITION + "null")]),
    ([{"header": "X"}, "query"], [((1,), NEEDS_CONDITION + "text")]),
    ({"equals": 1}, [((), "'equals' needs a source to test, such as header: X-Tier or "
                          "json: $.id")]),
    ({"header": "X", "query": "q"},
     [(("query",), "one source per condition ('header' and 'query'); use all: [...]")]),
    ({"header": "X", "equals": 1, "in": [1]},
     [(("in",), "one operator per condition ('equals' and 'in'); use all: [...]")]),
    ({"all": [{"header": "X"}], "header": "Y"},
     [(("header",), "'all' stands alone in its mapping: put 'header' in a condition inside it")]),
    ({"all": [{"header": "X"}], "any": [{"header": "Y"}]},
     [(("any",), "one of all, any, not per mapping ('all' and 'any'); nest one inside the "
                 "other")]),
    # unknown words, with a did-you-mean
    ({"hedaer": "X-Tier"}, [(("hedaer",), "unknown key 'hedaer' (did you mean 'header'?)")]),
    ({"headers": "X-Tier"}, [(("headers",), "unknown key 'headers' (did you mean 'header'?)")]),
    ({"header": "X", "equls": "a"}, [(("equls",), "unknown key 'equls' (did you mean 'equals'?)")]),
    ({"query": "q", "regex": "a"}, [(("regex",), "unknown key 'regex' (did you mean 'matches'?)")]),
    ({"query": "q", "allowed": ["a"]},
     [(("allowed",), "unknown key 'allowed' (did you mean 'in'?)")]),
    ({"and": [{"header": "X"}]}, [(("and",), "unknown key 'and' (did you mean 'all'?)")]),
    ({"header": "X", "cookie": "a"}, [(("cookie",), "unknown key 'cookie'")]),
    ({"query": "q", True: 1},
     [((True,), "unknown key True (keys are words such as header, equals, all)")]),
    ({"not": {"hedaer": "x"}}, [(("not", "hedaer"), "unknown key 'hedaer' (did you mean "
                                                    "'header'?)")]),
    # sources
    ({"header": ""}, [(("header",), "header: needs a name, got empty text")]),
    ({"query": 3}, [(("query",), "query: needs a name, got a number")]),
    ({"path": ["id"]}, [(("path",), "path: needs a name, got a list")]),
    ({"json": "a..b"}, [(("json",), "an empty name in the dotted path 'a..b'; for names with "
                                    "dots use JSONPath, e.g. $['a.b']")]),
    ({"json": "rooms[0].id"}, [(("json",), "a dotted path indexes arrays with .0 (rooms.0.id); "
                                           "for brackets write a JSONPath starting with $ "
                                           "($.rooms[0].id)")]),
    ({"json": "$.a["}, [(("json",), "invalid JSONPath: unexpected end of query")]),
    ({"json": "$.a.length()"}, [(("json",), "invalid JSONPath: unexpected token '('")]),
    ({"xpath": "//a["}, [(("xpath",), "invalid XPath: Invalid expression")]),
    ({"xpath": "//ota:a"}, [(("xpath",), UNDECLARED)]),
    ({"xpath": "nope()"}, [(("xpath",), "invalid XPath: Unregistered function")]),
    ({"xpath": "$var"}, [(("xpath",), "invalid XPath: Undefined variable")]),
    ({"body": "json"}, [(("body",), "body: the only value is 'text' (the whole body); use json: "
                                    "for a JSON field and xpath: for XML")]),
    ({"form": None}, [(("form",), "form: needs a name, got null")]),
    ({"soap_action": ""}, [(("soap_action",), "soap_action: needs an operation name, got "
                                              "empty text")]),
    ({"soap_action": "Op", "equals": "x"},
     [(("equals",), "soap_action takes no operator: it holds when the request is for that "
                    "operation")]),
    # operators
    ({"header": "X", "equals": [1]},
     [(("equals",), "equals: needs one value (text, a number, true/false or null); for several "
                    "use in: [...]")]),
    ({"header": "X", "in": "a"},
     [(("in",), "in: needs a list of values, e.g. in: [EUR, USD], got text")]),
    ({"header": "X", "in": []}, [(("in",), "in: needs at least one value")]),
    ({"header": "X", "in": ["a", ["b"], {"c": 1}]},
     [(("in", 1), "in: needs plain values (text, numbers, true/false, null), got a list"),
      (("in", 2), "in: needs plain values (text, numbers, true/false, null), got a mapping")]),
    ({"header": "X", "matches": "("},
     [(("matches",), "invalid regex: missing ), unterminated subpattern at position 0")]),
    ({"header": "X", "matches": 3},
     [(("matches",), "matches: needs a regular expression (text), got a number")]),
    ({"header": "X", "contains": ["a"]},
     [(("contains",), "contains: needs one value (text or a number), got a list")]),
    ({"header": "X", "exists": "yes"}, [(("exists",), "exists: needs true or false, got text")]),
    ({"header": "X", "absent": 1}, [(("absent",), "absent: needs true or false, got a number")]),
    ({"header": "X", "min": "1"}, [(("min",), "min: needs a number, got text")]),
    ({"header": "X", "max": True}, [(("max",), "max: needs a number, got true/false")]),
    ({"header": "X", "min": float("nan")}, [(("min",), "min: needs a number, got .nan")]),
    ({"header": "X", "min": 2, "max": 1}, [(("max",), "max 1 is below min 2: no value can "
                                                      "match")]),
    ({"header": "X", "ignore_case": "yes", "equals": "a"},
     [(("ignore_case",), "ignore_case: needs true or false, got text")]),
    ({"header": "X", "ignore_case": True},
     [(("ignore_case",), "ignore_case applies only to equals, in, matches and contains")]),
    ({"header": "X", "min": 1, "ignore_case": True},
     [(("ignore_case",), "ignore_case applies only to equals, in, matches and contains")]),
    # depth
    ({"not": {"not": {"not": [[{"header": "X"}]]}}}, []),
]


@pytest.mark.parametrize(("spec", "expected"), LOAD_ERRORS)
def test_load_errors(spec, expected):
    condition, problems = compile_condition(spec)
    assert [(p.loc, p.message) for p in problems] == expected
    assert (condition is None) is bool(expected)


def test_every_problem_of_a_when_value_at_once():
    spec = {"any": [
        {"header": "X-Tier", "equls": "gold"},
        [{"json": "$.a[", "matches": "("}, {"xpath": "//ota:x"}],
        {"not": {"query": "q", "in": "EUR"}},
        {"all": [{"form": "f", "min": "1", "max": [2]}, {"soap_action": "Op", "exists": True}]},
        {"body": "text", "contains": "x", "hedaer": "y"},
        {"path": "id", "equals": "a"},  # fine
    ]}
    condition, problems = compile_condition(spec)
    assert condition is None
    assert problems == [
        ConditionProblem(("any", 0, "equls"), "unknown key 'equls' (did you mean 'equals'?)"),
        ConditionProblem(("any", 1, 0, "json"), "invalid JSONPath: unexpected end of query"),
        ConditionProblem(("any", 1, 0, "matches"),
                         "invalid regex: missing ), unterminated subpattern at position 0"),
        ConditionProblem(("any", 1, 1, "xpath"), UNDECLARED),
        ConditionProblem(("any", 2, "not", "in"),
                         "in: needs a list of values, e.g. in: [EUR, USD], got text"),
        ConditionProblem(("any", 3, "all", 0, "min"), "min: needs a number, got text"),
        ConditionProblem(("any", 3, "all", 0, "max"), "max: needs a number, got a list"),
        ConditionProblem(("any", 3, "all", 1, "exists"), "soap_action takes no operator: it "
                                                         "holds when the request is for that "
                                                         "operation"),
        ConditionProblem(("any", 4, "hedaer"), "unknown key 'hedaer' (did you mean 'header'?)"),
    ]


def test_namespaces_make_prefixes_valid():
    spec = {"xpath": "//ota:HotelReservation/@ResStatus", "equals": "Cancel"}
    assert compile_condition(spec)[1] == [ConditionProblem(("xpath",), UNDECLARED)]
    condition, problems = compile_condition(spec, namespaces={"ota": "urn:ota"})
    assert problems == [] and condition is not None
    _, problems = compile_condition({"xpath": "//x:a"}, namespaces={"ota": "urn:ota"})
    assert problems == [ConditionProblem(
        ("xpath",), "invalid XPath: Undefined namespace prefix (declare it in namespaces)")]
    _, problems = compile_condition({"xpath": "//a"}, namespaces={"": "urn:ota"})
    assert problems == [ConditionProblem(
        ("xpath",), "invalid XPath: empty namespace prefix is not supported in XPath")]


def test_nesting_is_bounded():
    spec: object = {"header": "X"}
    for _ in range(40):
        spec = {"not": spec}
    condition, problems = compile_condition(spec)
    assert condition is None
    assert [p.message for p in problems] == ["conditions nested more than 32 levels deep"]
    assert problems[0].loc == ("not",) * 33
