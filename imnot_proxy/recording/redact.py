"""Replace secrets in what is written to disk: headers, JSON and form fields, query params.

Redaction is applied to a copy on its way to ``recordings/`` and generated
YAML; the live exchange is never altered, since that would break the client's
next call. Field names are compared without case, ``-`` or ``_``. Generated
YAML gets a second pass: the secret values seen anywhere in the input are
scrubbed from everything inferred, wherever they were copied to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .exchange import Exchange, Pairs

PLACEHOLDER = "REDACTED"

DEFAULT_HEADERS = (
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
    "apikey", "x-auth-token", "x-access-token", "x-amz-security-token", "x-csrf-token",
    "x-xsrf-token",
)
DEFAULT_FIELDS = (
    "password", "passwd", "secret", "token", "access_token", "refresh_token", "id_token",
    "client_secret", "api_key", "apikey", "private_key", "session_token", "auth_token",
)
_KEYISH = re.compile(r"(api[-_]?key|secret|token|password|passwd|credential|signature)", re.I)
_NOT_SECRET = ("page", "cursor", "next", "continuation", "type")


def _norm(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


@dataclass(frozen=True)
class Redactor:
    headers: frozenset[str]
    fields: frozenset[str]

    @classmethod
    def default(cls, extra_headers: Iterable[str] = (), extra_fields: Iterable[str] = ()
                ) -> Redactor:
        return cls(frozenset(_norm(h) for h in (*DEFAULT_HEADERS, *extra_headers)),
                   frozenset(_norm(f) for f in (*DEFAULT_FIELDS, *extra_fields)))

    def is_secret_header(self, name: str) -> bool:
        n = _norm(name)
        return n in self.headers or (bool(_KEYISH.search(name)) and not _benign(n))

    def is_secret_field(self, name: str) -> bool:
        n = _norm(name)
        if n in self.fields:
            return True
        return (("password" in n or "secret" in n or "apikey" in n)
                or (n.endswith("token") and not _benign(n)))

    def exchange(self, ex: Exchange) -> Exchange:
        return replace(
            ex,
            url=self.url(ex.url),
            request_headers=self.pairs(ex.request_headers),
            request_body=self.body(ex.request_body, ex.request_header("content-type")),
            response_headers=self.pairs(ex.response_headers),
            response_body=self.body(ex.response_body, ex.response_header("content-type")),
        )

    def pairs(self, pairs: Pairs) -> Pairs:
        return tuple((k, PLACEHOLDER if self.is_secret_header(k) else v) for k, v in pairs)

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.query:
            return url
        query = [(k, PLACEHOLDER if self.is_secret_field(k) else v)
                 for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        return urlunsplit(parts._replace(query=urlencode(query, safe="{}")))

    def body(self, body: bytes, content_type: str | None) -> bytes:
        if not body or not self._may_hold_secrets(body):
            return body
        kind = (content_type or "").lower()
        if "form-urlencoded" in kind:
            try:
                pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True)
            except (UnicodeDecodeError, ValueError):
                return body
            return urlencode([(k, PLACEHOLDER if self.is_secret_field(k) else v)
                              for k, v in pairs]).encode()
        stripped = body.lstrip()[:1]
        if stripped in (b"{", b"["):
            try:
                value = json.loads(body)
            except ValueError:
                return body
            return json.dumps(self.value(value), ensure_ascii=False,
                              separators=(",", ":")).encode()
        return body

    def _may_hold_secrets(self, body: bytes) -> bool:
        """A cheap pre-check: no field name that could be secret, no parsing at all."""
        lowered = body.lower().replace(b"_", b"").replace(b"-", b"")
        return any(needle in lowered for needle in self._needles())

    def _needles(self) -> tuple[bytes, ...]:
        words = {"password", "passwd", "secret", "token", "apikey", *self.fields}
        return tuple(w.encode() for w in words)

    def value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (PLACEHOLDER if self.is_secret_field(str(k)) and v is not None
                        and not isinstance(v, dict | list) else self.value(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


def _benign(normalized: str) -> bool:
    return any(word in normalized for word in _NOT_SECRET)


def secret_values(exchanges: Sequence[Exchange], redactor: Redactor) -> list[str]:
    """Secret values the redactor finds in the input, longest first, for ``scrub``."""
    found: set[str] = set()

    def add(value: str) -> None:
        value = value.strip()
        if len(value) >= 6 and value != PLACEHOLDER:
            found.add(value)
        _, _, rest = value.partition(" ")
        if rest and len(rest.strip()) >= 6:
            found.add(rest.strip())

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if redactor.is_secret_field(str(k)) and isinstance(v, str | int | float) \
                        and not isinstance(v, bool):
                    add(str(v))
                else:
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for ex in exchanges:
        for pairs in (ex.request_headers, ex.response_headers):
            for key, value in pairs:
                if not redactor.is_secret_header(key):
                    continue
                add(value)
                if key.lower() in ("cookie", "set-cookie"):
                    for part in value.split(";"):
                        add(part.partition("=")[2])
        for key, value in parse_qsl(urlsplit(ex.url).query, keep_blank_values=True):
            if redactor.is_secret_field(key):
                add(value)
        for body, ctype in ((ex.request_body, ex.request_header("content-type")),
                            (ex.response_body, ex.response_header("content-type"))):
            if not body:
                continue
            if "form-urlencoded" in (ctype or "").lower():
                try:
                    form = parse_qsl(body.decode(), keep_blank_values=True)
                except UnicodeDecodeError:
                    continue
                for key, value in form:
                    if redactor.is_secret_field(key):
                        add(value)
            else:
                try:
                    walk(json.loads(body))
                except ValueError:
                    pass
    return sorted(found, key=lambda s: (-len(s), s))


def scrub(value: Any, secrets: list[str]) -> Any:
    """``value`` with every secret in its strings (keys too) replaced by the placeholder."""
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, PLACEHOLDER)
        return value
    if isinstance(value, dict):
        return {scrub(k, secrets): scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    return value
