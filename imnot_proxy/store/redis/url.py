"""Store URLs for Redis (and Valkey): parse once, mask the password in every message.

``redis://[[user]:password@]host[:port][/db][?prefix=team-a&session_ttl=7d]``,
``rediss://`` for TLS and ``unix:///path/redis.sock?db=0``. The query names the key
prefix (so several teams share one Redis) and how long state lives
(``session_ttl``, ``id_ttl``, ``callback_ttl``: seconds, or a number with ``s``,
``m``, ``h`` or ``d``; ``0`` keeps it forever).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

SCHEMES = ("redis", "rediss", "unix")
PREFIX_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DURATION_RE = re.compile(r"(\d{1,9})([smhd]?)")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_TTLS = {"session_ttl": 7 * 86400, "id_ttl": 86400, "callback_ttl": 86400}
QUERY_KEYS = frozenset({"prefix", "db", *DEFAULT_TTLS})


def is_redis_url(text: str) -> bool:
    return text.split("://", 1)[0].lower() in SCHEMES if "://" in text else False


def mask(url: str) -> str:
    """The URL with its password (if any) replaced by ``****``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"(://[^/@]*:)[^/@]*@", r"\1****@", url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:****@{host}"))


@dataclass(frozen=True)
class RedisUrl:
    url: str  # as given
    prefix: str = "imnot"
    session_ttl: int = DEFAULT_TTLS["session_ttl"]
    id_ttl: int = DEFAULT_TTLS["id_ttl"]
    callback_ttl: int = DEFAULT_TTLS["callback_ttl"]

    @property
    def masked(self) -> str:
        return mask(self.url)

    def client_url(self) -> str:
        """The URL for redis-py: our own query keys removed, ``db`` kept for unix sockets."""
        base, _, query = self.url.partition("?")
        kept = "&".join(f"{k}={v}" for k, v in parse_qsl(query) if k == "db")
        return f"{base}?{kept}" if kept else base


def parse(url: str) -> RedisUrl:
    """Check a Redis store URL; ValueError says what is wrong (the caller masks the URL)."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port that is not a number
    except ValueError as exc:
        raise ValueError(f"malformed URL ({exc}); use redis://[:password@]host:port/db") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; use redis://, rediss:// or unix://")
    if scheme == "unix":
        if not parts.path:
            raise ValueError("unix:// needs a socket path: unix:///run/redis/redis.sock")
    else:
        if not parts.hostname:
            raise ValueError("no host; use redis://host:6379/0")
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"port {port} out of range")
        db = parts.path.strip("/")
        if db and not db.isdigit():
            raise ValueError(f"database {db!r} must be a number (redis://host:6379/0)")
    try:
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ValueError(f"malformed query {parts.query!r}") from None
    values: dict[str, object] = {}
    for key, value in query:
        if key not in QUERY_KEYS:
            raise ValueError(f"unknown parameter {key!r}; known: {', '.join(sorted(QUERY_KEYS))}")
        if key == "prefix":
            if not PREFIX_RE.fullmatch(value):
                raise ValueError(f"prefix {value!r} must match [A-Za-z0-9_.-]{{1,64}}")
            values["prefix"] = value
        elif key == "db":
            if not value.isdigit():
                raise ValueError(f"db {value!r} must be a number")
        else:
            values[key] = duration(key, value)
    if parts.password is not None:
        unquote(parts.password)  # a malformed escape fails here, not at connect time
    return RedisUrl(url, **values)  # type: ignore[arg-type]


def duration(name: str, text: str) -> int:
    found = DURATION_RE.fullmatch(text.strip().lower())
    if not found:
        raise ValueError(f"{name} {text!r} must be seconds, or a number with s, m, h or d")
    return int(found[1]) * UNITS[found[2]]
