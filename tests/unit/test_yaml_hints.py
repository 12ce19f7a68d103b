"""Syntax errors get a plain-words hint with either parser (libyaml's wording differs)."""

from __future__ import annotations

import pytest
import yaml

from imnot_proxy import yamlsafe

OVER_INDENTED = "partner: a\ndatapoints:\n  - name: x\n      pattern: static\n"
COLON_IN_VALUE = "partner: a\ndescription: a: b\n"


@pytest.mark.parametrize("text", [OVER_INDENTED, COLON_IN_VALUE])
@pytest.mark.parametrize("base", [yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)],
                         ids=["pyyaml", "libyaml"])
def test_a_colon_where_a_value_was_expected_is_explained(text, base):
    with pytest.raises(yaml.YAMLError) as raised:
        yaml.load(text, Loader=base)  # noqa: S506 - a safe loader
    problem = yamlsafe.syntax_problem(raised.value, text, "p.yaml")
    assert "quote values that contain ': '" in problem.message
    assert "check the indentation of this line" in problem.message
