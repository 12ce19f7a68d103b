"""Text that does not parse (or is not meant to): secrets found by pattern.

``key=value``, ``key: value``, ``"key": "value"`` (also ``'key'``, and a
``{...}``/``[...]`` value as a whole) and ``key="quoted value"``, with the key
judged by the field rules after percent-decoding. Tags (``<key>value</key>``)
are the XML scanner's job; the caller runs both.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from .context import Pass
from .shapes import PLACEHOLDER

_KEY = re.compile(
    r"""(?P<q>["'])(?P<qname>[^"'\\\r\n]{1,64})(?P=q)[ \t]*:[ \t]*"""
    r"""|(?<![A-Za-z0-9_.%-])(?P<name>[A-Za-z_%][A-Za-z0-9_.%-]{0,63})[ \t]*(?P<op>[=:])[ \t]*""")
_STOP_ASSIGN = re.compile(r"""[&;,\s"'<>)\]}\x00-\x1f]""")
_STOP_JSONISH = re.compile(r"[,}\]\x00-\x1f]")
_EOL = re.compile(r"[\r\n]")


def redact_pairs(text: str, ctx: Pass) -> str:
    """``text`` with the value of every secret-named ``key=value``-like pair replaced."""
    out: list[str] = []
    pos = last = 0
    search = _KEY.search
    while (m := search(text, pos)) is not None:
        raw = m.group("qname") or m.group("name")
        name = unquote(raw) if "%" in raw else raw
        if not ctx.names.field(name):
            pos = m.end() if m.group("q") else m.start("op") + 1
            continue
        start = m.end()
        end = value_end(text, start, jsonish=bool(m.group("q")), colon=m.group("op") == ":")
        value = text[start:end]
        if value and value != PLACEHOLDER:
            quote = value[0] if value[0] in "\"'" and len(value) > 1 else ""
            ctx.secret(value[1:-1] if quote and value.endswith(quote) else value)
            out.append(text[last:start] + (f"{quote}{PLACEHOLDER}{quote}" if quote
                                           else PLACEHOLDER))
            last = end
        pos = max(end, start + 1)
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def value_end(text: str, start: int, *, jsonish: bool, colon: bool) -> int:
    """Where the value that starts at ``start`` ends."""
    if start >= len(text):
        return start
    first = text[start]
    if first in "\"'":
        return _quoted_end(text, start)
    if first in "{[":
        return balanced_end(text, start)
    if jsonish:
        stop = _STOP_JSONISH.search(text, start)
    elif colon:
        stop = _EOL.search(text, start)  # "Authorization: Bearer abc" to the end of the line
    else:
        stop = _STOP_ASSIGN.search(text, start)
    return stop.start() if stop else len(text)


def _quoted_end(text: str, start: int) -> int:
    quote = text[start]
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == quote:
            return i + 1
        if c in "\r\n":
            return i
        i += 1
    return len(text)


def balanced_end(text: str, start: int) -> int:
    """The end of the ``{...}`` or ``[...]`` that opens at ``start`` (quotes respected), or
    the end of the text when it never closes."""
    depth = 0
    i = start
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = _quoted_end(text, i)
            continue
        if c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)
