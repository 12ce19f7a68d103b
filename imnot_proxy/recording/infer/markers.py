"""Recorded text that a template would read as its own syntax (``{{``, ``{%``, ``{#``):
an answer holding it is kept literal, never made a template."""

from __future__ import annotations

from typing import Any

JINJA_MARKERS = ("{{", "}}", "{%", "%}", "{#", "#}")


def has_markers(value: Any) -> bool:
    """Whether a value (text, or JSON: keys too) holds template syntax."""
    if isinstance(value, str):
        return any(m in value for m in JINJA_MARKERS)
    if isinstance(value, dict):
        return any(has_markers(k) or has_markers(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_markers(v) for v in value)
    return False
