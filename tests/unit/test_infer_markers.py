"""Recorded text with template syntax stays literal: one check for every inference."""

from imnot_proxy.recording.infer.markers import has_markers


def test_markers_in_text_keys_and_nested_values():
    assert has_markers("Hello {{ name }}") and has_markers("{% if %}") and has_markers("{#x")
    assert has_markers({"a": [1, {"b": "x}}y"}]}) and has_markers({"{{k": 1})
    assert not has_markers({"a": ["{ b }", 1, None], "c": "% {"})
