import pytest

from pipeline_lib.gateway.errors import GatewayError
from pipeline_lib.gateway.ratelimit import RateLimiter
from pipeline_lib.gateway.settings import RateLimit


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_burst_then_refill_at_the_rate_with_retry_after():
    clock = Clock()
    limiter = RateLimiter(RateLimit(requests_per_minute=60, burst=3), clock=clock)
    for _ in range(3):
        limiter.check("key:a")
    with pytest.raises(GatewayError) as caught:
        limiter.check("key:a")
    assert caught.value.status == 429 and caught.value.headers["Retry-After"] == "1"
    limiter.check("key:b")  # buckets are per key
    clock.now = 1.0
    limiter.check("key:a")  # one token back after one second at 60/min


def test_a_key_of_its_own_rate():
    clock = Clock()
    limiter = RateLimiter(RateLimit(requests_per_minute=600, burst=1), clock=clock)
    limiter.check("key:slow", requests_per_minute=6)
    with pytest.raises(GatewayError) as caught:
        limiter.check("key:slow", requests_per_minute=6)
    assert caught.value.headers["Retry-After"] == "10"
