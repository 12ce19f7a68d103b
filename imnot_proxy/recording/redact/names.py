"""Which header and field names are secret: the defaults, the allow list, the names users add.

Names are compared lower-cased and without ``_``, ``-``, ``.`` or spaces, so
``client_secret``, ``Client-Secret`` and ``clientSecret`` are one name. The
``needles`` are the same fragments as bytes: the cheap pre-check looks for them
before anything is parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

SEPARATORS = "_-. "
_STR_TABLE = str.maketrans("", "", SEPARATORS)
SEPARATOR_BYTES = SEPARATORS.encode()

DEFAULT_HEADERS = (
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
    "apikey", "x-auth-token", "x-access-token", "x-amz-security-token", "x-csrf-token",
    "x-xsrf-token",
)
DEFAULT_FIELDS = (
    "password", "passwd", "passphrase", "secret", "token", "access_token", "refresh_token",
    "id_token", "client_secret", "api_key", "apikey", "private_key", "secret_key",
    "access_key", "signing_key", "session_token", "session_id", "auth_token", "authorization",
    "cookie", "signature", "assertion", "client_assertion", "jwt", "pin", "pin_code", "otp",
    "totp", "passcode",
)
# A field name holding one of these anywhere is secret ("newPassword", "passwd", "passwort",
# "db_pwd", "x_client_secret").
FIELD_WORDS = ("passw", "passphrase", "pwd", "secret", "apikey", "privatekey", "credential")
# Headers that name no credential although their names look like it. Sec-WebSocket-Key is a
# handshake nonce, Idempotency-Key a retry label the client makes up, X-Imnot-Session the
# mock's own test-session label (never sent upstream); the rest are challenges or flags.
ALLOWED_HEADERS = ("www-authenticate", "proxy-authenticate", "sec-websocket-key",
                   "idempotency-key", "x-imnot-session", "access-control-allow-credentials")
# Paging and description words: "next_page_token" or "signature_method" is no secret; nor is
# OTA's "EchoToken", a correlation label the partner echoes back.
BENIGN = ("page", "cursor", "next", "continuation", "type", "method", "algorithm", "version",
          "echo")
_STRONG_HEADER = re.compile(
    r"authori[sz]|auth(?!or)|secret|session|cookie|signature|passw|passphrase|pwd|credential"
    r"|csrf|xsrf|jwt")
_WEAK_HEADER = re.compile(r"token|key")


def norm(name: str) -> str:
    return name.lower().translate(_STR_TABLE)


def squash(data: bytes) -> bytes:
    """Bytes lower-cased and without separators, for the needle search."""
    return data.lower().translate(None, SEPARATOR_BYTES)


def _benign(normalized: str) -> bool:
    return any(word in normalized for word in BENIGN)


@dataclass(frozen=True)
class Names:
    headers: frozenset[str]
    fields: frozenset[str]
    needles: tuple[bytes, ...] = field(init=False, repr=False, compare=False)
    # Needles that share a fragment are looked for only when the fragment is there.
    _grouped: tuple[tuple[bytes, tuple[bytes, ...]], ...] = field(
        init=False, repr=False, compare=False)
    _cache: dict[str, bool] = field(default_factory=dict, init=False, repr=False,
                                    compare=False)

    @classmethod
    def of(cls, extra_headers: Iterable[str] = (), extra_fields: Iterable[str] = ()) -> Names:
        return cls(frozenset(norm(h) for h in (*DEFAULT_HEADERS, *extra_headers) if norm(h)),
                   frozenset(norm(f) for f in (*DEFAULT_FIELDS, *extra_fields) if norm(f)))

    def __post_init__(self) -> None:
        words = {*FIELD_WORDS, "token", "signature", "bearer", *self.fields, *self.headers}
        # A needle that holds a shorter one adds nothing ("accesstoken" holds "token").
        kept = sorted(w for w in words if not any(o != w and o in w for o in words))
        object.__setattr__(self, "needles", tuple(w.encode() for w in kept))
        groups: dict[bytes, list[bytes]] = {}
        for needle in self.needles:
            fragment = next((f for f in _FRAGMENTS if f in needle), needle)
            groups.setdefault(fragment, []).append(needle)
        object.__setattr__(self, "_grouped", tuple(
            (fragment, tuple(members) if members != [fragment] else ())
            for fragment, members in groups.items()))

    def header(self, name: str) -> bool:
        """Whether a header's value is secret, by its name."""
        known = self._cache.get(name)
        if known is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            known = self._cache[name] = self._header(norm(name))
        return known

    def _header(self, n: str) -> bool:
        if n in self.headers or n in self.fields:
            return True
        if n in _ALLOWED:
            return False
        if _STRONG_HEADER.search(n):
            return True
        return bool(_WEAK_HEADER.search(n)) and not _benign(n)

    def field(self, name: str) -> bool:
        """Whether a JSON, form, query, XML or multipart field's value is secret, by its name."""
        n = norm(name)
        if n in self.fields or n in self.headers:
            return True
        if any(word in n for word in FIELD_WORDS):
            return True
        return ((n.endswith(("token", "tokens")) or "signature" in n) and not _benign(n))

    def may_name(self, squashed: bytes) -> bool:
        """Whether squashed text holds any fragment of a secret name (or the word Bearer)."""
        for fragment, members in self._grouped:
            if fragment in squashed and (not members or any(n in squashed for n in members)):
                return True
        return False


_ALLOWED = frozenset(norm(h) for h in ALLOWED_HEADERS)
_FRAGMENTS = (b"key", b"pass")
