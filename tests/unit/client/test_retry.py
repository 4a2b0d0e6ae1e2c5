"""Retry loop: retryable kinds only, backoff with jitter, a deadline over every attempt."""

import asyncio
import random

import pytest

from pipeline_lib.client.errors import (
    DeadlineExceededError,
    InferenceFailedError,
    InvalidRequestError,
    ServerOverloadedError,
    ServerUnavailableError,
)
from pipeline_lib.client.retry import RetryPolicy, call_with_retries
from pipeline_lib.errors import ConfigError

URL = "127.0.0.1:1"
FAST = RetryPolicy(max_attempts=4, initial_backoff_s=0.001, max_backoff_s=0.002)


class Failing:
    """An attempt function that raises the given errors in turn, then returns 'ok'."""

    def __init__(self, *errors: Exception):
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self, remaining_s: float) -> str:
        self.calls += 1
        assert remaining_s > 0
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_unavailable_then_overloaded_are_retried_until_success():
    attempt = Failing(ServerUnavailableError(URL, "down"), ServerOverloadedError(URL, "queue"))
    retries = []
    value, attempts = await call_with_retries(
        attempt, policy=FAST, deadline_s=10, url=URL,
        on_retry=lambda err, n, delay: retries.append((err.kind, n)),
    )
    assert (value, attempts, attempt.calls) == ("ok", 3, 3)
    assert retries == [("unavailable", 1), ("overloaded", 2)]


@pytest.mark.parametrize(
    "error", [InvalidRequestError("text", "must not be empty"), InferenceFailedError(URL, "boom")]
)
async def test_invalid_input_and_server_errors_are_never_retried(error):
    attempt = Failing(error)
    with pytest.raises(type(error)):
        await call_with_retries(attempt, policy=FAST, deadline_s=10, url=URL)
    assert attempt.calls == 1


async def test_gives_up_after_max_attempts_with_the_last_error():
    attempt = Failing(*[ServerUnavailableError(URL, "down")] * 10)
    with pytest.raises(ServerUnavailableError):
        await call_with_retries(attempt, policy=FAST, deadline_s=10, url=URL)
    assert attempt.calls == FAST.max_attempts


async def test_server_down_fails_as_unavailable_within_the_deadline():
    policy = RetryPolicy(max_attempts=1000, initial_backoff_s=0.01, max_backoff_s=0.05)
    attempt = Failing(*[ServerUnavailableError(URL, "refused")] * 1000)
    with pytest.raises(ServerUnavailableError):
        await call_with_retries(attempt, policy=policy, deadline_s=0.3, url=URL)
    # The deadline, not the attempt budget, ended it; and it ended as `unavailable`, not timeout.
    assert 1 < attempt.calls < 1000


async def test_a_hanging_attempt_raises_deadline_exceeded():
    async def hang(remaining_s: float) -> str:
        await asyncio.Event().wait()
        return "never"

    with pytest.raises(DeadlineExceededError, match="deadline") as info:
        await call_with_retries(hang, policy=FAST, deadline_s=0.05, url=URL)
    assert info.value.attempts == 1


def test_backoff_grows_is_capped_and_jittered():
    rng = random.Random(0)
    policy = RetryPolicy(initial_backoff_s=0.1, max_backoff_s=1.0, multiplier=2.0, jitter=1.0)
    for retry, ceiling in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)]:
        draws = [policy.backoff_s(retry, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in draws)
        assert max(draws) > 0.8 * ceiling and min(draws) < 0.2 * ceiling  # spread over [0, cap]
    no_jitter = RetryPolicy(initial_backoff_s=0.1, jitter=0.0)
    assert no_jitter.backoff_s(3, rng) == pytest.approx(0.4)


def test_policy_validation():
    with pytest.raises(ConfigError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ConfigError):
        RetryPolicy(jitter=1.5)
