"""``application/x-www-form-urlencoded`` bodies and URL query strings, pair by pair.

Each ``name=value`` is judged by its percent-decoded name; a secret value
becomes the placeholder, any other value is decoded and handed back as a string
(a JWT, JSON or XML inside). Pairs are split and joined on ``&`` without
re-encoding the rest, so a bare key (``&flag``), an odd escape or a byte that is
not UTF-8 leaves the other pairs as they were.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_plus

from .context import Pass
from .shapes import PLACEHOLDER

_FORM = re.compile(r"[^\s=&\x00-\x1f]*=[^\s&\x00-\x1f]*(?:&[^\s&\x00-\x1f]*)*")


def looks_like_form(text: str) -> bool:
    return "=" in text and _FORM.fullmatch(text.strip()) is not None


def redact(text: str, ctx: Pass) -> str:
    pieces = text.split("&")
    changed = False
    for i, piece in enumerate(pieces):
        name, eq, value = piece.partition("=")
        plain_name = unquote_plus(name, errors="replace")
        if not eq:
            new = ctx.string(plain_name)
            if new != plain_name:
                pieces[i] = quote(new, safe="")
                changed = True
            continue
        plain = unquote_plus(value, errors="replace")
        if ctx.names.field(plain_name):
            if value and value != PLACEHOLDER:
                ctx.secret(plain)
                ctx.secret(value)
                pieces[i] = f"{name}={PLACEHOLDER}"
                changed = True
            continue
        new = ctx.string(plain)
        if new != plain:
            pieces[i] = f"{name}={quote(new, safe='{}/:,')}"
            changed = True
    return "&".join(pieces) if changed else text
