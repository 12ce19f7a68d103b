"""The Redis (or Valkey) backend: ``redis://``, ``rediss://`` and ``unix://`` store URLs."""

from .store import RedisStore
from .url import RedisUrl, is_redis_url, mask, parse

__all__ = ["RedisStore", "RedisUrl", "is_redis_url", "mask", "parse"]
