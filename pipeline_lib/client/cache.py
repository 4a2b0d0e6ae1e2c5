"""Result cache: Redis when configured, an in-process LRU otherwise.

Key: HMAC-SHA256 over (variant, model name, model version, context type, normalised text), so
no user text appears in Redis keys and a variant never serves another's answer. Values are the
decoded model outputs as JSON, with a TTL. Crisis-flagged outputs are never stored: a person in
crisis must always get a fresh, fully scored answer (and a fresh record downstream).
If Redis fails, lookups and stores are skipped (the client works without a cache), the outage
is logged once, and Redis is tried again after `retry_after_s`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import unicodedata
from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol

from pipeline_lib.client.ab import Variant
from pipeline_lib.client.result import ModelOutputs
from pipeline_lib.errors import PixelError

if TYPE_CHECKING:
    from pipeline_lib.client.settings import CacheSettings

log = logging.getLogger(__name__)


class CacheUnavailable(PixelError):
    """The backing store is down and the lookup was skipped; the client treats it as a miss."""


def normalise_text(text: str) -> str:
    """Unicode NFKC, case-folded, whitespace runs collapsed: 'Hi  there' == 'hi there'."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def cache_key(*, key: bytes, variant: Variant, context_type: str, text: str) -> str:
    parts = (variant.name, variant.model_name, variant.model_version, context_type,
             normalise_text(text))
    material = "\x00".join(parts)
    return hmac.new(key, material.encode("utf-8"), hashlib.sha256).hexdigest()


class ResultCache(Protocol):
    name: str

    async def get(self, key: str) -> ModelOutputs | None: ...

    async def put(self, key: str, outputs: ModelOutputs) -> bool: ...

    async def close(self) -> None: ...


class MemoryCache:
    """Bounded LRU with TTL, for one process (the default when no Redis is configured)."""

    name = "memory"

    def __init__(self, *, max_entries: int = 1024, ttl_s: float = 3600.0):
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._items: OrderedDict[str, tuple[float, ModelOutputs]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    async def get(self, key: str) -> ModelOutputs | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, outputs = item
        if time.monotonic() >= expires:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return outputs

    async def put(self, key: str, outputs: ModelOutputs) -> bool:
        if outputs.crisis_flag:
            return False
        self._items[key] = (time.monotonic() + self.ttl_s, outputs)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)
        return True

    async def close(self) -> None:
        self._items.clear()


class RedisCache:
    """Shared cache in Redis; degrades to 'no cache' while Redis is unreachable."""

    name = "redis"

    def __init__(
        self,
        *,
        url: str,
        ttl_s: float = 3600.0,
        prefix: str = "pixel:result:",
        socket_timeout_s: float = 0.5,
        retry_after_s: float = 30.0,
    ):
        import redis.asyncio as redis_asyncio

        self.url = url
        self.ttl_s = ttl_s
        self.prefix = prefix
        self.retry_after_s = retry_after_s
        self._redis = redis_asyncio.Redis.from_url(
            url, socket_timeout=socket_timeout_s, socket_connect_timeout=socket_timeout_s
        )
        self._down_until = 0.0  # monotonic time before which Redis is not tried
        self._outage_logged = False

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + self.retry_after_s
        if not self._outage_logged:
            self._outage_logged = True
            log.warning(
                "Redis cache at %s unreachable (%s); continuing without the cache, retrying "
                "Redis every %.0fs. Start Redis or set client.cache.backend=memory.",
                self._safe_url(),
                type(exc).__name__,
                self.retry_after_s,
            )

    def _recovered(self) -> None:
        if self._outage_logged:
            self._outage_logged = False
            log.info("Redis cache at %s reachable again", self._safe_url())

    def _safe_url(self) -> str:
        # Never log a password that may sit in the URL.
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"

    async def get(self, key: str) -> ModelOutputs | None:
        from redis.exceptions import RedisError

        if not self.available:
            raise CacheUnavailable
        try:
            raw = await self._redis.get(self.prefix + key)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            raise CacheUnavailable from exc
        self._recovered()
        if raw is None:
            return None
        try:
            return ModelOutputs.from_dict(json.loads(raw))
        except (ValueError, KeyError, TypeError):
            log.warning("dropping an unreadable cache entry (written by another version?)")
            return None

    async def put(self, key: str, outputs: ModelOutputs) -> bool:
        from redis.exceptions import RedisError

        if outputs.crisis_flag or not self.available:
            return False
        try:
            await self._redis.set(
                self.prefix + key, json.dumps(outputs.to_dict()), ex=max(1, int(self.ttl_s))
            )
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return False
        self._recovered()
        return True

    async def close(self) -> None:
        await self._redis.aclose()


def build_cache(settings: CacheSettings) -> ResultCache | None:
    """The cache client.cache.backend names (None for "none")."""
    if settings.backend == "redis":
        return RedisCache(
            url=settings.redis_url, ttl_s=settings.ttl_s, prefix=settings.prefix,
            retry_after_s=settings.retry_after_s,
        )
    if settings.backend == "memory":
        return MemoryCache(max_entries=settings.max_entries, ttl_s=settings.ttl_s)
    return None
