"""``Redactor``: one exchange's URL, headers, bodies and error with their secrets replaced;
``secret_values`` and ``scrub`` for the copies that inference makes of them.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, quote_plus

from ..exchange import Exchange, Pairs
from . import form
from .bodies import OPAQUE, Dispatch
from .context import Pass
from .names import Names, squash
from .shapes import PLACEHOLDER, has_hint, redact_shapes

logger = logging.getLogger(__name__)

_DISPATCH = Dispatch()
UNCHECKED = PLACEHOLDER.encode() + b" (body could not be checked for secrets)"
# Content encodings that a live flow has already undone, or that the body module opens.
_OPENED = ("", "identity", "gzip", "x-gzip", "deflate")
_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*:([^/?#@]*)@")
MIN_SCRUB = 6  # shorter secret values are redacted where found but not scrubbed elsewhere


@dataclass(frozen=True)
class Redactor:
    names: Names

    @classmethod
    def default(cls, extra_headers: Iterable[str] = (), extra_fields: Iterable[str] = ()
                ) -> Redactor:
        return cls(Names.of(extra_headers, extra_fields))

    def is_secret_header(self, name: str) -> bool:
        return self.names.header(name)

    def is_secret_field(self, name: str) -> bool:
        return self.names.field(name)

    def exchange(self, ex: Exchange) -> Exchange:
        """A copy of ``ex`` as it may be written to disk (``ex`` itself when nothing is)."""
        return self.collect(ex, [])

    def collect(self, ex: Exchange, found: list[str]) -> Exchange:
        """``exchange``, adding every secret value it replaces to ``found``."""
        ctx = Pass(self.names, _DISPATCH, found)
        start = len(found)
        look = self._may_look(ex)
        url = self._url(ex.url, ctx, look)
        request_headers = self._pairs(ex.request_headers, ctx, look)
        request_body = self._body(ex.request_body, ex.request_headers, ctx)
        response_headers = self._pairs(ex.response_headers, ctx, look)
        response_body = self._body(ex.response_body, ex.response_headers, ctx)
        error = ctx.string(ex.error) if ex.error else ex.error
        if len(found) > start and (echoes := _echoed(found[start:])):
            # A secret the partner echoes elsewhere in the same exchange ("welcome hunter2").
            url, error = _scrubbed(url, echoes), error and _scrubbed(error, echoes)
            request_body, response_body = (_scrubbed_bytes(b, echoes)
                                           for b in (request_body, response_body))
        if (url is ex.url and request_headers is ex.request_headers
                and request_body is ex.request_body and response_headers is ex.response_headers
                and response_body is ex.response_body and error is ex.error):
            return ex
        return replace(ex, url=url, request_headers=request_headers, request_body=request_body,
                       response_headers=response_headers, response_body=response_body,
                       error=error)

    def pairs(self, pairs: Pairs) -> Pairs:
        return self._pairs(pairs, Pass(self.names, _DISPATCH, []), True)

    def url(self, url: str) -> str:
        return self._url(url, Pass(self.names, _DISPATCH, []), True)

    def body(self, body: bytes, content_type: str | None) -> bytes:
        return _DISPATCH.body(body, content_type or "", Pass(self.names, _DISPATCH, []))

    def _may_look(self, ex: Exchange) -> bool:
        """The pre-check for the query string and every header value, at once."""
        header = self.names.header
        values = [v for k, v in ex.request_headers if not header(k)]
        values += [v for k, v in ex.response_headers if not header(k)]
        values.append(ex.url.partition("?")[2] or ex.url.partition("#")[2])
        joined = "\n".join(values)
        return has_hint(joined) or "%" in joined or \
            self.names.may_name(squash(joined.encode("utf-8", "surrogatepass")))

    def _pairs(self, pairs: Pairs, ctx: Pass, look: bool) -> Pairs:
        """Secret headers replaced; other values read as text when ``look``."""
        out: list[tuple[str, str]] | None = None
        header = self.names.header
        for i, (key, value) in enumerate(pairs):
            if header(key):
                if value and value != PLACEHOLDER:
                    _header_secret(key, value, ctx)
                    out = out or list(pairs)
                    out[i] = (key, PLACEHOLDER)
            elif look and (new := ctx.string(value)) != value:
                out = out or list(pairs)
                out[i] = (key, new)
        return pairs if out is None else tuple(out)

    def _url(self, url: str, ctx: Pass, look: bool) -> str:
        if "@" in url:
            url = _userinfo(url, ctx)
        base, q, rest = url.partition("?")
        if not q and "#" in base:
            base, q, rest = base.partition("#")
            q = "#"
        new_base = redact_shapes(base, ctx.secret) if "eyJ" in base else base
        new_rest = rest
        if rest and look:
            query, hash_, fragment = rest.partition("#")
            new_rest = form.redact(query, ctx) + hash_ + (
                form.redact(fragment, ctx) if fragment else "")
        if new_base is base and new_rest == rest:
            return url
        return new_base + q + new_rest

    def _body(self, body: bytes, headers: Pairs, ctx: Pass) -> bytes:
        if not body:
            return body
        ctype = coding = ""
        for key, value in headers:
            low = key.lower()
            if low == "content-type":
                ctype = value
            elif low == "content-encoding":
                coding = value.strip().lower()
        if coding not in _OPENED and not _is_utf8(body):
            return OPAQUE  # still compressed (brotli, zstd): its content cannot be checked
        try:
            return _DISPATCH.body(body, ctype, ctx)
        except Exception as exc:
            # Fail closed: a body the redactor cannot go through (nested past the recursion
            # limit, or a case it gets wrong) is not written, and the flow is still recorded.
            logger.warning("imnot_proxy: a %s body could not be checked for secrets (%s); "
                           "recorded as %s", ctype or "untyped", type(exc).__name__, PLACEHOLDER)
            return UNCHECKED


def _userinfo(url: str, ctx: Pass) -> str:
    """``https://user:password@host/`` without the password."""
    m = _USERINFO.match(url)
    if not m or m.group(1) in ("", PLACEHOLDER):
        return url
    ctx.secret(m.group(1))
    return url[:m.start(1)] + PLACEHOLDER + url[m.end(1):]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _header_secret(key: str, value: str, ctx: Pass) -> None:
    ctx.secret(value)
    scheme, _, credential = value.strip().partition(" ")
    if credential:
        ctx.secret(credential.strip())
    if key.lower() in ("cookie", "set-cookie"):
        for part in value.split(";"):
            ctx.secret(part.partition("=")[2].strip())


def secret_values(exchanges: Sequence[Exchange], redactor: Redactor) -> list[str]:
    """Secret values the redactor replaces in the input, as they may have been copied
    (escaped for JSON, XML or a URL too), longest first, for ``scrub``."""
    found: list[str] = []
    for ex in exchanges:
        redactor.collect(ex, found)
    return copies(found)


def copies(found: Iterable[str]) -> list[str]:
    """Found secret values long enough to look for, as written raw or escaped for JSON, XML
    or a URL, longest first."""
    out: set[str] = set()
    for value in found:
        value = value.strip()
        if len(value) < MIN_SCRUB or value == PLACEHOLDER:
            continue
        out.update((value, html.escape(value), quote(value, safe=""), quote_plus(value),
                    json.dumps(value, ensure_ascii=False)[1:-1]))
    return sorted(out, key=lambda s: (-len(s), s))


def _echoed(found: list[str]) -> list[str]:
    """The values to look for elsewhere in one exchange: long enough, and not holding a
    shorter one ("Bearer abc123" goes when "abc123" does)."""
    values = sorted({v.strip() for v in found if len(v.strip()) >= MIN_SCRUB} - {PLACEHOLDER},
                    key=len)
    kept: list[str] = []
    for value in values:
        if not any(k in value for k in kept):
            kept.append(value)
    return kept


def _scrubbed(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, PLACEHOLDER)
    return text


def _scrubbed_bytes(data: bytes, secrets: list[str]) -> bytes:
    for secret in secrets:
        raw = secret.encode("utf-8", "surrogatepass")
        if raw in data:
            data = data.replace(raw, PLACEHOLDER.encode())
    return data


def scrub(value: Any, secrets: list[str]) -> Any:
    """``value`` with every secret in its strings (keys too) replaced by the placeholder."""
    if isinstance(value, str):
        return _scrubbed(value, secrets)
    if isinstance(value, dict):
        return {scrub(k, secrets): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    return value
