"""Per-key rate limit: a token bucket per key (per client address when no keys are configured).

Each bucket holds up to `burst` requests and refills at `requests_per_minute / 60` per second.
A request that finds it empty is refused with 429 and `Retry-After` (whole seconds until a token
is back). In-process: with several gateway replicas each enforces the limit on its own share.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from pipeline_lib.gateway.errors import GatewayError
from pipeline_lib.gateway.settings import RateLimit

MAX_BUCKETS = 10_000  # anonymous callers are keyed by address: keep memory bounded


class RateLimiter:
    def __init__(self, limit: RateLimit, *, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, last time

    def check(self, who: str, *, requests_per_minute: float | None = None) -> None:
        """Take one token from `who`'s bucket, or raise a 429 GatewayError with Retry-After."""
        rate = (requests_per_minute or self.limit.requests_per_minute) / 60.0
        burst = float(self.limit.burst)
        now = self._clock()
        tokens, last = self._buckets.pop(who, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._remember(who, tokens, now)
            wait_s = math.ceil((1.0 - tokens) / rate)
            raise GatewayError(429, f"rate limit reached for this key; retry in {wait_s} s",
                               type="rate_limit_error", code="rate_limit_exceeded",
                               headers={"Retry-After": str(wait_s)})
        self._remember(who, tokens - 1.0, now)

    def _remember(self, who: str, tokens: float, now: float) -> None:
        self._buckets[who] = (tokens, now)
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)
