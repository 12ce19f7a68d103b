"""Tests that need the original imnot's files skip on a plain clone, saying what is missing
and that CI runs them, and fail instead under IMNOT_REQUIRE_COMPAT=1 (as .ci/run sets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from compat_fixtures import COMPAT, REQUIRE_ENV, require


def test_present_files_pass(tmp_path, monkeypatch):
    monkeypatch.setenv(REQUIRE_ENV, "1")
    require(tmp_path)


def test_a_plain_clone_skips_with_a_reason_that_says_what_and_why(tmp_path, monkeypatch):
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require(tmp_path, tmp_path / "imnot-compat")
    message = str(skipped.value)
    assert f"{tmp_path / 'imnot-compat'} is missing" in message
    assert "shared/ folder beside the repository" in message and str(COMPAT) in message
    assert "CI has it and runs these tests" in message


def test_ci_fails_instead_of_skipping(tmp_path, monkeypatch):
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="is missing"):
        require(tmp_path / "nowhere")


def test_ci_sets_the_variable():
    script = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert f"export {REQUIRE_ENV}=1" in script
