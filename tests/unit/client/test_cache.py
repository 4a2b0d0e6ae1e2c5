"""Result cache: in-process LRU, real Redis, and Redis going away under the client."""

import logging
import uuid

import pytest

from pipeline_lib.client.ab import Variant
from pipeline_lib.client.cache import (
    CacheUnavailable,
    MemoryCache,
    RedisCache,
    cache_key,
    normalise_text,
)
from pipeline_lib.client.result import ModelOutputs

KEY = b"k"
CONTROL = Variant("control", "pixel")


def outputs(crisis: bool = False, text: str = "I hear you") -> ModelOutputs:
    return ModelOutputs(text, (0.1, 0.2, 0.3, 0.4, 0.5), 0.3, 0.9, 0.1, "compassionate",
                        crisis, 512.0)


def test_keys_normalise_text_and_separate_variants_and_contexts():
    assert normalise_text("  I Can't   SLEEP\n") == "i can't sleep"
    k = cache_key(key=KEY, variant=CONTROL, context_type="general_support", text="I can't  sleep")
    assert k == cache_key(key=KEY, variant=CONTROL, context_type="general_support",
                          text="i can't sleep ")
    assert k != cache_key(key=KEY, variant=CONTROL, context_type="therapy_session",
                          text="i can't sleep")
    assert k != cache_key(key=KEY, variant=Variant("b", "pixel_b"), context_type="general_support",
                          text="i can't sleep")
    assert "sleep" not in k and len(k) == 64


async def test_memory_cache_lru_and_crisis_rule():
    cache = MemoryCache(max_entries=2, ttl_s=60)
    assert await cache.put("a", outputs())
    assert await cache.put("b", outputs())
    assert await cache.get("a") == outputs()  # touch a: b is now least recently used
    assert await cache.put("c", outputs())
    assert await cache.get("b") is None and await cache.get("a") is not None
    assert not await cache.put("crisis", outputs(crisis=True))
    assert await cache.get("crisis") is None and len(cache) == 2


async def test_memory_cache_expires_entries():
    cache = MemoryCache(ttl_s=0.0)
    await cache.put("a", outputs())
    assert await cache.get("a") is None


async def test_shared_redis_round_trip_with_ttl():
    import redis.asyncio as redis_asyncio

    prefix = f"pixel:test:{uuid.uuid4().hex}:"
    cache = RedisCache(url="redis://127.0.0.1:6379/0", ttl_s=120, prefix=prefix)
    raw = redis_asyncio.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        assert await cache.get("k1") is None
        assert await cache.put("k1", outputs(text="réponse"))
        assert await cache.get("k1") == outputs(text="réponse")
        assert 0 < await raw.ttl(prefix + "k1") <= 120
        assert not await cache.put("k2", outputs(crisis=True))
        assert await raw.exists(prefix + "k2") == 0
    finally:
        await raw.delete(prefix + "k1", prefix + "k2")
        await raw.aclose()
        await cache.close()


async def test_redis_killed_degrades_to_no_cache_logs_once_and_recovers(own_redis, caplog):
    cache = RedisCache(url=own_redis.url, ttl_s=60, retry_after_s=0.0)
    try:
        assert await cache.put("k", outputs())
        assert await cache.get("k") == outputs()
        own_redis.kill()
        caplog.set_level(logging.WARNING, logger="pipeline_lib.client.cache")
        for _ in range(3):
            with pytest.raises(CacheUnavailable):
                await cache.get("k")
            assert not await cache.put("k", outputs())
        warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(warnings) == 1
        assert "continuing without the cache" in warnings[0].getMessage()
        own_redis.start()  # a fresh, empty Redis on the same port
        assert await cache.get("k") is None
        assert await cache.put("k", outputs())
        assert await cache.get("k") == outputs()
    finally:
        await cache.close()


async def test_redis_down_is_skipped_until_retry_after(own_redis):
    cache = RedisCache(url=own_redis.url, retry_after_s=3600.0)
    try:
        own_redis.kill()
        with pytest.raises(CacheUnavailable):
            await cache.get("k")
        assert not cache.available
        own_redis.start()
        with pytest.raises(CacheUnavailable):  # not retried before retry_after_s
            await cache.get("k")
    finally:
        await cache.close()
