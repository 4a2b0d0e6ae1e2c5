"""Per-call deadline plus retries with capped exponential backoff and full jitter.

Only errors whose class says `retryable` (unavailable, overloaded) are retried; invalid input
and server errors surface at once. The deadline covers every attempt and every backoff sleep.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from pipeline_lib.client.errors import ClientError, DeadlineExceededError, classify
from pipeline_lib.errors import ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4  # server calls per request, the first one included
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 2.0  # cap, so a long outage does not push sleeps past the deadline
    multiplier: float = 2.0
    # Fraction of each sleep drawn at random; 1.0 = "full jitter", which spreads the retries
    # of many clients that failed together so they do not hit the restarted server at once.
    jitter: float = 1.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError("retry.max_attempts must be >= 1 (1 means no retries)")
        if not 0.0 <= self.jitter <= 1.0:
            raise ConfigError("retry.jitter must be within [0, 1]")
        if self.initial_backoff_s < 0 or self.max_backoff_s < 0 or self.multiplier < 1:
            raise ConfigError("retry backoffs must be >= 0 and retry.multiplier >= 1")

    def backoff_s(self, retry_number: int, rng: random.Random) -> float:
        """Sleep before retry `retry_number` (1 = the first retry)."""
        ceiling = min(
            self.max_backoff_s, self.initial_backoff_s * self.multiplier ** (retry_number - 1)
        )
        return ceiling * (1.0 - self.jitter) + rng.uniform(0.0, ceiling * self.jitter)


RetryHook = Callable[[ClientError, int, float], None]


async def call_with_retries(
    attempt: Callable[[float], Awaitable[T]],
    *,
    policy: RetryPolicy,
    deadline_s: float,
    url: str,
    on_retry: RetryHook | None = None,
    rng: random.Random | None = None,
) -> tuple[T, int]:
    """Run `attempt(remaining_s)` until it succeeds; return (value, attempts made).

    Raises the ClientError of the last attempt. When the deadline runs out after a retryable
    failure, that failure is raised (it is the cause: e.g. `unavailable` while the server is
    down); when the first attempt itself runs out of time, DeadlineExceededError.
    """
    rng = rng or random.Random()
    end = time.monotonic() + deadline_s
    attempts = 0
    last_error: ClientError | None = None
    while True:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise last_error or DeadlineExceededError(url, deadline_s, attempts)
        attempts += 1
        timer = asyncio.timeout(remaining)
        try:
            async with timer:
                return await attempt(remaining), attempts
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 -- classified just below, nothing is swallowed
            if timer.expired():
                error: ClientError = DeadlineExceededError(url, deadline_s, attempts)
            else:
                error = classify(exc, url=url)
                if isinstance(error, DeadlineExceededError):  # the transport's own deadline
                    error = DeadlineExceededError(url, deadline_s, attempts)
            if isinstance(error, DeadlineExceededError):
                if last_error is not None and last_error.retryable:
                    raise last_error from error
                raise error from exc
            if not error.retryable or attempts >= policy.max_attempts:
                raise error from exc
            delay = policy.backoff_s(attempts, rng)
            if time.monotonic() + delay >= end:
                raise error from exc  # sleeping would end past the deadline: fail now
            last_error = error
            log.debug("attempt %d failed (%s); retrying in %.3fs", attempts, error.kind, delay)
            if on_retry is not None:
                on_retry(error, attempts, delay)
            await asyncio.sleep(delay)
