"""Hostile partner files: every one is refused with file:line, fast, and nothing crashes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imnot_proxy import loader
from imnot_proxy.yamlsafe import Limits

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "partners").glob("*/partner.yaml"))


def alias_bomb(levels: int = 10) -> str:
    lines = ["a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "partner: bomb\n" + "\n".join(lines) + "\n"


HOSTILE = {
    "alias bomb": (alias_bomb(), 7, "aliases expand to more than"),
    "recursive alias": ("partner: x\nd: &d [*d]\n", 2, "recursive alias"),
    "recursive mapping": ("partner: x\nd: &d {k: *d}\n", 2, "recursive alias"),
    "deep nesting": ("partner: x\nd: " + "[" * 150 + "]" * 150 + "\n", 2, "nested more than"),
    "huge integer": ("partner: x\nn: " + "9" * 5000 + "\n", 2, "more digits than"),
    "bad date": ("partner: x\nwhen: 2024-13-45\n", 2, "month must be in 1..12"),
    "control character": ('partner: x\ndescription: "a\x07b"\n', 2, "control character"),
    "tab indentation": ("partner: x\ndatapoints:\n  - name: a\n\tpattern: static\n", 4,
                        "tab character"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_file_is_a_located_problem(tmp_path, case):
    text, line, words = HOSTILE[case]
    file = tmp_path / "hostile.yaml"
    file.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    result = loader.load_paths([file])
    assert time.perf_counter() - started < 2.0
    (problem,) = result.errors
    assert (problem.file, problem.line) == (str(file), line), str(problem)
    assert words in problem.message


def test_a_file_over_the_byte_limit_is_refused_unread(tmp_path):
    file = tmp_path / "big.yaml"
    file.write_text("partner: big\n" + "# padding\n" * 200, encoding="utf-8")
    (problem,) = loader.load_paths([file], limits=Limits(max_bytes=1000)).errors
    assert "the limit is 1,000" in problem.message and "imnot_max_partner_bytes" in problem.message


def test_non_utf8_names_line_and_offset(tmp_path):
    file = tmp_path / "latin1.yaml"
    file.write_bytes(b"partner: x\ndescription: caf\xe9\n")
    (problem,) = loader.load_paths([file]).errors
    assert (problem.line, problem.message) == (
        2, "not UTF-8: byte 0xe9 at offset 27; save the file as UTF-8")


def test_a_bom_is_fine(tmp_path):
    file = tmp_path / "bom.yaml"
    file.write_bytes(b"\xef\xbb\xbfpartner: bom\ndatapoints:\n"
                     b"  - {name: a, pattern: static, endpoints: [{method: GET, path: /a}]}\n")
    assert [s.name for s in loader.load_paths([file]).partners] == ["bom"]


def test_anchors_aliases_and_merge_keys_still_load(tmp_path):
    file = tmp_path / "anchors.yaml"
    file.write_text("""\
partner: anchors
datapoints:
  - name: a
    pattern: static
    endpoints:
      - method: GET
        path: /a
        response: &ok {status: 200, body: {ok: true}, headers: {X-A: "1"}}
      - method: GET
        path: /b
        response:
          <<: *ok
          status: 201
""", encoding="utf-8")
    result = loader.load_paths([file])
    assert result.errors == []
    (a, b) = result.partners[0].model.datapoints[0].endpoints
    assert (a.response.status, b.response.status, b.response.body) == (200, 201, {"ok": True})


# --- mutations of the example files: never an exception, always file:line ------------

def _mutations() -> st.SearchStrategy[str]:
    texts = [p.read_text(encoding="utf-8") for p in EXAMPLES]
    junk = st.sampled_from(["\t", ":", "- ", "[", "]", "{", "}", "&a ", "*a", "*b", "!!int ",
                            "\x07", "\ufeff", "'", '"', "\n", "  ", "99999999999999999999",
                            "2024-99-99", "<<: *a\n", "~", "null", "&a [*a]"])

    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        text = draw(st.sampled_from(texts))
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(text)))
            if draw(st.booleans()):
                text = text[:at] + draw(junk) + text[at:]
            else:
                text = text[:at] + text[at + draw(st.integers(1, 12)):]
        return text

    return mutate()


@settings(max_examples=150, deadline=2000, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_mutated_example_files_give_located_problems_never_exceptions(text):
    source, problems = loader.parse_partner(text, "mutated.yaml")
    for problem in problems:
        assert problem.file == "mutated.yaml"
        assert not problem.message.startswith("cannot load:"), str(problem)
        if problem.is_error:
            assert problem.line >= 1, str(problem)
    assert (source is None) == any(p.is_error for p in problems)
