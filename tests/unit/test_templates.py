"""Compiling and rendering: text and markup templates, values with native results,
problems and render errors with their lines."""

from __future__ import annotations

import pytest

from imnot_proxy.lang.templates import (
    CompiledValue,
    Template,
    TemplateProblem,
    TemplateProblems,
    TemplateRenderError,
    compile_text,
    compile_value,
    is_template,
)
from tests.unit.template_support import context, render, render_error, value


def problems(source: str, **kwargs) -> list[TemplateProblem]:
    with pytest.raises(TemplateProblems) as caught:
        compile_text(source, **kwargs)
    return caught.value.problems


# --- text and markup ------------------------------------------------------------------

def test_compile_text_gives_a_template_that_renders_text():
    template = compile_text("Hello {{ request.query.name }}!")
    assert isinstance(template, Template)
    assert template.names == frozenset({"request"})
    assert template.render(context(query="name=Ada")) == "Hello Ada!"


def test_markup_templates_escape_echoed_values():
    ctx = context(b"<R><EchoToken>a&lt;b&amp;\"c'</EchoToken></R>")
    source = "<RS EchoToken=\"{{ request.xpath('//EchoToken') }}\">{{ request.body }}</RS>"
    assert render(source, ctx, markup=True) == (
        '<RS EchoToken="a&lt;b&amp;&#34;c&#39;">&lt;R&gt;&lt;EchoToken&gt;a&amp;lt;b&amp;amp;'
        '&#34;c&#39;&lt;/EchoToken&gt;&lt;/R&gt;</RS>')
    assert render("{{ request.xpath('//EchoToken') }}", ctx) == "a<b&\"c'"


def test_markup_safe_values_are_not_escaped_twice():
    ctx = context(query="q=%3Cb%3E")
    assert render("{{ request.query.q|xml_escape }}|{{ '<i/>'|safe }}|{{ {'a': '<'}|tojson }}",
                  ctx, markup=True) == '&lt;b&gt;|<i/>|{"a": "\\u003c"}'
    assert render("{{ request.query.q|xml_escape }}", ctx) == "&lt;b&gt;"


def test_none_prints_as_nothing():
    assert render("[{{ none }}|{{ request.header('X-Absent') }}]") == "[|]"


def test_whitespace_is_kept_and_tag_lines_leave_no_blank_lines():
    source = "<a>\n{% for i in range(2) %}\n  <b>{{ i }}</b>\n{% endfor %}\n</a>\n"
    assert render(source) == "<a>\n  <b>0</b>\n  <b>1</b>\n</a>\n"


def test_jinja_statements_that_are_allowed():
    source = ("{% set total = [1, 2, 3]|sum %}{% with x = total * 2 %}{{ x }}{% endwith %}"
              "{% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% else %}none{% endfor %}"
              "{% if total > 5 %}big{% elif total %}small{% endif %}"
              "{% for i in range(3) if i is odd %}{{ loop.index }}{{ loop.cycle('x', 'y') }}"
              "{% endfor %}{# a comment #}{% raw %}{{ raw }}{% endraw %}")
    assert render(source) == "12a=1big1x{{ raw }}"


def test_string_methods_that_are_allowed():
    assert render("{{ ' Ab '.strip().lower() }}{{ 'a,b'.split(',')|join('+') }}"
                  "{{ 'x'.center(3, '*') }}{{ 'abc'.replace('b', 'B') }}{{ '-'.join(['1','2']) }}"
                  "{{ '{}-{:>3}'.format(1, 2) }}{{ '%05d' % 42 }}{{ '%s'|format(7) }}"
                  "{{ 'abc'.startswith('a') }}") == "aba+b*x*aBc1-21-  200042" "7True"


# --- values ---------------------------------------------------------------------------

def test_a_value_without_templates_is_returned_as_it_is():
    original = {"a": [1, "plain {x}", {"b": None}], "c": "{# not a template #}"}
    compiled = compile_value(original)
    assert isinstance(compiled, CompiledValue)
    assert not compiled.templated and compiled.names == frozenset()
    assert compiled.render(context()) is original


@pytest.mark.parametrize(("source", "expected"), [
    ("{{ 42 }}", 42),
    ("{{ request.json('$.amount') }}", 12.5),
    ("  {{ request.json('$.ok') }}\n", True),
    ("{{ request.json('$.none') }}", None),
    ("{{ request.json('$.list') }}", [1, "two"]),
    ("{{ request.json('$') }}", {"amount": 12.5, "ok": True, "none": None, "list": [1, "two"]}),
    ("{{ request.json_all('$.list[*]')|map('string')|list }}", ["1", "two"]),
    ("{{ [1, 2]|map('string') }}", ["1", "2"]),
    ("{{ (1, 'a') }}", [1, "a"]),
    ("{{ {1: 'a', none: 2, false: 3} }}", {"1": "a", "null": 2, "false": 3}),
    ("{{ 'x'|xml_escape }}", "x"),
    ("{{ range(3) }}", [0, 1, 2]),
    ("{{ 'a' }}{{ 'b' }}", "ab"),
    ("amount {{ request.json('$.amount') }}", "amount 12.5"),
    ("{{ 1 }} ", 1),
])
def test_one_expression_strings_keep_their_native_value(source, expected):
    ctx = context(b'{"amount": 12.5, "ok": true, "none": null, "list": [1, "two"]}')
    result = value(source, ctx)
    assert result == expected and type(result) is type(expected)


def test_nested_values_with_templated_strings_and_keys():
    ctx = context(b'{"ref": "R1", "qty": 2}', id="job-9")
    fixed = {"kept": True}
    source = {"id": "{{ id }}", "ref-{{ request.json('$.ref') }}": {
        "qty": "{{ request.json('$.qty') * 10 }}", "list": ["a", "{{ id }}-x", fixed]},
        "fixed": fixed, "{{ 'key' }}": 1, 7: "{{ 7 }}"}
    compiled = compile_value(source)
    assert compiled.templated and compiled.names == frozenset({"id", "request"})
    result = compiled.render(ctx)
    assert result == {"id": "job-9", "ref-R1": {"qty": 20, "list": ["a", "job-9-x", fixed]},
                      "fixed": fixed, "key": 1, 7: 7}
    assert result["fixed"] is fixed and result["ref-R1"]["list"][2] is fixed
    assert compile_value(source).render(ctx) == result and source["id"] == "{{ id }}"


@pytest.mark.parametrize(("source", "message"), [
    ("{{ now }}", "the expression gives a function, not a JSON value"),
    ("{{ request }}", "the expression gives a RequestProxy, not a JSON value"),
    ("{{ 'nan'|float }}", "nan is not a JSON number"),
    ("{{ {(1, 2): 1} }}", "a tuple cannot be a JSON key"),
    ("{{ nope_x }}", None),
])
def test_native_values_must_be_json(source, message):
    if message is None:
        with pytest.raises(TemplateProblems):
            compile_value(source)
        return
    with pytest.raises(TemplateRenderError) as caught:
        value(source)
    assert caught.value.message == message


def test_is_template():
    assert is_template("{{ x }}") and is_template("a {% if 1 %}{% endif %}")
    assert not is_template("{x} {#c#} {id} { {")


# --- compile problems -----------------------------------------------------------------

def test_syntax_error_line():
    assert problems("line one\nline two {{ 1 + }}\n") == [
        TemplateProblem(2, "unexpected 'end of print statement'")]
    [problem] = problems("a\n{% if x %}\nb\n")
    assert problem.line == 3 and "'endif'" in problem.message


@pytest.mark.parametrize(("source", "line", "message"), [
    ("a\n{% include 'x.xml' %}", 2, "{% include %} is not allowed"),
    ("{% import 'x' as y %}", 1, "{% import %} is not allowed"),
    ("{% from 'x' import y %}", 1, "{% from %} is not allowed"),
    ("\n\n{% extends 'base' %}", 3, "{% extends %} is not allowed"),
    ("{% macro m() %}x{% endmacro %}", 1, "{% macro %} is not allowed"),
    ("{% call range(1) %}x{% endcall %}", 1, "{% call %} is not allowed"),
    ("{% filter upper %}x{% endfilter %}", 1, "{% filter %} blocks are not allowed"),
    ("\n{% set x %}big{% endset %}", 2, "{% set %}...{% endset %} is not allowed"),
    ("{% block b %}x{% endblock %}", 1, "{% block %} is not allowed"),
    ("{{ self }}", 1, "'self' is not available"),
    ("{% for a in range(2) recursive %}{{ loop(a) }}{% endfor %}", 1,
     "recursive loops are not allowed"),
    ("{% for a in range(2) %}\n{% for b in range(2) %}\n{% for c in range(2) %}"
     "{% endfor %}{% endfor %}{% endfor %}", 3, "loops nest at most 2 deep"),
    ("{% for a in [] %}{% else %}{% for b in [] %}{% for c in [] %}{% endfor %}"
     "{% endfor %}{% endfor %}", 1, "loops nest at most 2 deep"),
    ("x\n{{ reqest.path }}", 2, "unknown name 'reqest' (did you mean 'request'?)"),
    ("{{ cycler }}", 1, "unknown name 'cycler'; templates know b64decode, b64encode"),
    ("{{ 'a'|b64encod }}", 1, "unknown filter 'b64encod' (did you mean 'b64encode'?)"),
    ("{{ 'a'|center(9) }}", 1, "unknown filter 'center'"),
    ("{% if x is nmber %}{% endif %}", 1, "unknown test 'nmber' (did you mean 'number'?)"),
    ("{% do x %}", 1, "Encountered unknown tag 'do'"),
    ("{{ 1" + "0" * 5000 + " }}", 1, "cannot compile: Exceeds the limit"),
])
def test_forbidden_and_unknown_constructs(source, line, message):
    found = problems(source)
    assert found[0].line == line and message in found[0].message, found


def test_every_problem_is_reported_at_once_in_line_order():
    found = problems("{{ nope1 }}\n{% include 'a' %}\n{{ 'x'|nofilter }}\n{{ nope2 }}")
    assert [(p.line, p.message.split(" (")[0].split(";")[0]) for p in found] == [
        (1, "unknown name 'nope1'"), (2, "{% include %} is not allowed: a template cannot "
                                         "read other templates"),
        (3, "unknown filter 'nofilter'"), (4, "unknown name 'nope2'")]


def test_compile_value_reports_every_problem_with_its_path():
    with pytest.raises(TemplateProblems) as caught:
        compile_value({"a": ["ok {{ id }}", "{{ 1 + }}"], "b": {"{{ nope }}": "x"}})
    assert [(p.path, p.line) for p in caught.value.problems] == [(("a", 1), 1),
                                                               (("b", "{{ nope }}"), 1)]
    assert "a.1: line 1: unexpected 'end of print statement'" in str(caught.value)


def test_names_set_only_in_a_branch_are_render_errors():
    error = render_error("{% if false %}{% set x = 1 %}{% endif %}\n{{ x }}")
    assert (error.line, error.message) == (2, "'x' is undefined")


def test_deep_nesting_is_a_problem_not_a_crash():
    assert problems("{{ " + "(" * 400 + "1" + ")" * 400 + " }}")
    assert problems("{% if 1 %}" * 100 + "{% endif %}" * 100)
    assert problems("{{ " + "-" * 1000 + "1 }}")


# --- render errors --------------------------------------------------------------------

@pytest.mark.parametrize(("source", "line", "message"), [
    ("a\nb\n{{ 1 / 0 }}", 3, "ZeroDivisionError: division by zero"),
    ("{% for i in range(2) %}\n{{ i ~ request.nope }}\n{% endfor %}", 2,
     "request has no 'nope'"),
    ("{{ 1 + 'a' }}", 1, "TypeError: unsupported operand type(s) for +: 'int' and 'str'"),
    ("\n{{ [1][5] }}", 2, "list object has no element 5"),
    ("{{ 'x'|int + none }}", 1, "TypeError"),
    ("{{ request.json('$.a').b }}", 1, "'None' has no attribute 'b'"),
])
def test_render_errors_carry_the_template_line(source, line, message):
    error = render_error(source)
    assert error.line == line and message in error.message, (error.line, error.message)
    assert str(error).startswith(f"line {line}: ")


def test_render_error_of_a_value_has_its_path_and_line():
    compiled = compile_value({"a": [1, "x\n{{ 1 // 0 }}"]})
    with pytest.raises(TemplateRenderError) as caught:
        compiled.render(context())
    assert (caught.value.path, caught.value.line) == (("a", 1), 2)


def test_templates_are_reused_across_renders_and_contexts():
    template = compile_value({"id": "{{ id }}", "n": "{{ sequence() }}"})
    assert [template.render(context(id=str(i)))["id"] for i in range(3)] == ["0", "1", "2"]
