"""Properties of the when: language on random conditions and random requests (Hypothesis)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imnot_proxy.lang.condition_sources import JsonSource, _jsonpath_env
from imnot_proxy.lang.conditions import KNOWN_WORDS, compile_condition
from imnot_proxy.lang.requestdata import RequestData
from imnot_proxy.messages import CIHeaders, RequestView

OTA = "http://www.opentravel.org/OTA/2003/05"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
NAMES = ["a", "b", "id", "X-Tier"]
WORDS = ["gold", "EUR", "1", "2.5", "", "Ümlaut", "H-42", "true", "null"]
KEYS = ["a", "b", "id", "0", "rooms"]
JSON_PATHS = ["a", "a.b", "rooms.0.id", "0", "$", "$.a", "$.rooms[*].id", "$..id", "$[0]",
              "$.rooms[-1]", "$[?@.id > 1]", "$.*", "$['a']"]
XPATHS = ["//a", "//a/@id", "//a/text()", "count(//a) > 1", "count(//a)", "string(//b)",
          "//Body/*", "name(/*)", "//@*", "//comment()", "sum(//@id)"]
PREFIXED = ["//o:OTA_PingRQ", "//o:a/@id", "count(//o:a) = 1", "//s:Body/*"]
REGEXES = ["^g", "\\d+", "(?i)eur", "", "a|b", "^$"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 50),
                    st.floats(-10, 100, allow_nan=False), st.sampled_from(WORDS),
                    st.text(max_size=4))
numbers = st.one_of(st.integers(-3, 50), st.floats(-10, 100, allow_nan=False))
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(KEYS), inner, max_size=3), max_leaves=10)


@st.composite
def leaves(draw, namespaced: bool = False):
    source = draw(st.sampled_from(["path", "query", "header", "form", "json", "xpath", "body",
                                   "soap_action"]))
    if source == "soap_action":
        return {"soap_action": draw(st.sampled_from(["OTA_PingRQ", "Op", "urn:x#Op"]))}
    spec = {source: "text" if source == "body" else
            draw(st.sampled_from(JSON_PATHS)) if source == "json" else
            draw(st.sampled_from(XPATHS + (PREFIXED if namespaced else []))) if source == "xpath"
            else draw(st.sampled_from(NAMES))}
    operator = draw(st.sampled_from(["", "equals", "in", "matches", "contains", "exists",
                                     "absent", "min", "max", "range"]))
    if operator in ("equals", "contains"):
        spec[operator] = draw(scalars)
    elif operator == "in":
        spec["in"] = draw(st.lists(scalars, min_size=1, max_size=4))
    elif operator == "matches":
        spec["matches"] = draw(st.sampled_from(REGEXES))
    elif operator in ("exists", "absent"):
        spec[operator] = draw(st.booleans())
    elif operator in ("min", "max"):
        spec[operator] = draw(numbers)
    elif operator == "range":
        low = draw(numbers)
        spec.update(min=low, max=low + draw(st.integers(0, 20)))
    if operator in ("equals", "in", "matches", "contains") and draw(st.booleans()):
        spec["ignore_case"] = True
    return spec


def conditions(namespaced: bool = False):
    return st.recursive(leaves(namespaced), lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.builds(lambda c: {"all": c}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"any": c}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, inner)), max_leaves=6)


def xml_bodies():
    value = st.sampled_from(WORDS + ["3", "<", "&amp;"]).map(
        lambda s: s.replace("<", "&lt;") if s == "<" else s)
    plain = st.builds(lambda a, b, n: f'<r><a id="{a}">{b}</a>' + "<a/>" * n + "<b>x</b></r>",
                      value, value, st.integers(0, 3))
    soap = st.builds(lambda op, a: (f'<s:Envelope xmlns:s="{SOAP11}"><s:Body><{op} xmlns="{OTA}">'
                                    f'<a id="{a}"/><!--c--></{op}></s:Body></s:Envelope>'),
                     st.sampled_from(["OTA_PingRQ", "Op", "Other"]), value)
    return st.one_of(plain, soap)


@st.composite
def requests(draw):
    kind = draw(st.sampled_from(["json", "form", "xml", "text", "bytes", "empty"]))
    content_type = {"json": "application/json", "form": "application/x-www-form-urlencoded",
                    "xml": draw(st.sampled_from(["text/xml", 'application/soap+xml; '
                                                 'action="urn:x#Op"'])),
                    }.get(kind, "text/plain")
    fields = st.dictionaries(st.sampled_from(NAMES), st.sampled_from(WORDS) | st.text(max_size=4),
                             max_size=3)
    body = {"json": lambda: json.dumps(draw(json_values)),
            "form": lambda: urlencode(draw(fields)),
            "xml": lambda: draw(xml_bodies()),
            "text": lambda: draw(st.text(max_size=20)),
            "bytes": lambda: draw(st.binary(max_size=20)),
            "empty": lambda: b""}[kind]()
    headers = {**draw(fields), "content-type": content_type}
    if draw(st.booleans()):
        headers["SOAPAction"] = draw(st.sampled_from(["Op", '"urn:x/OTA_PingRQ"', ""]))
    view = RequestView("POST", "/x", urlencode(draw(fields)), CIHeaders(headers),
                       body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass"))
    return RequestData(view, draw(fields))


@settings(max_examples=400, deadline=2000, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data(), st.booleans(), st.lists(requests(), min_size=1, max_size=3))
def test_test_never_raises_and_agrees_with_why_not(data, namespaced, reqs):
    spec = data.draw(conditions(namespaced), label="spec")
    namespaces = {"o": OTA, "s": SOAP11} if namespaced else None
    condition, problems = compile_condition(spec, namespaces=namespaces)
    assert problems == []
    for req in reqs:
        holds = condition.test(req)
        assert isinstance(holds, bool)
        reason = condition.why_not(req)
        assert (reason is None) is holds
        assert reason is None or (isinstance(reason, str) and reason.strip())
        assert condition.test(req) is holds  # parsed parts are cached, not consumed


anything = st.recursive(
    st.one_of(scalars, st.sampled_from([*KNOWN_WORDS, *JSON_PATHS, "//a", "(", "$.a["])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from([*KNOWN_WORDS, "hedaer", "regex", 1, True]), inner, max_size=3),
    max_leaves=12)


@settings(max_examples=400, deadline=2000, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(anything)
def test_any_when_value_compiles_or_gives_located_problems(spec):
    condition, problems = compile_condition(spec)
    assert (condition is None) is bool(problems)
    for problem in problems:
        assert isinstance(problem.message, str) and problem.message
        target = spec
        for part in problem.loc:  # every location names a place that exists in the value
            assert isinstance(target, dict | list)
            target = target[part]
    if condition is not None:
        req = RequestData(RequestView("POST", "/", "a=1", CIHeaders({"a": "x"}), b'{"a": 1}'))
        assert (condition.why_not(req) is None) is condition.test(req)


simple_steps = st.one_of(st.sampled_from(KEYS).map(lambda k: f".{k}" if k[0].isalpha()
                                                   else f"['{k}']"),
                         st.integers(-3, 3).map(lambda i: f"[{i}]"),
                         st.sampled_from([".*", "[*]", "['a b']", '["id"]']))


@settings(max_examples=300, deadline=2000, derandomize=True)
@given(st.lists(simple_steps, min_size=1, max_size=4).map(lambda s: "$" + "".join(s)),
       json_values)
def test_simple_jsonpaths_walked_here_select_what_the_library_selects(path, data):
    source = JsonSource(path)
    assert source.path is None  # walked here, not by the library
    req = RequestData(RequestView("POST", "/", body=json.dumps(data).encode()))
    assert list(source.read(req)) == _jsonpath_env().compile(path).findall(data)


def test_json_conditions_that_need_the_library_use_it():
    assert JsonSource("$..id").path is not None
    assert JsonSource("$.rooms[?@.id > 1]").path is not None
