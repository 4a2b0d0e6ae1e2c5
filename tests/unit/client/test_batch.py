"""Batch manager: bounded concurrency, input order, per-item errors, backpressure."""

import asyncio
import random

import pytest

from pipeline_lib.client.batch import (
    InferRequest,
    ManagerClosedError,
    PixelBatchInferenceManager,
    summarise,
)
from pipeline_lib.client.errors import InvalidRequestError


async def slow_square(n: int) -> int:
    # Random sleeps finish items out of order, which map() must undo.
    await asyncio.sleep(random.Random(n).uniform(0, 0.01))
    if n % 7 == 3:
        raise InvalidRequestError("text", f"item {n} refused")
    return n * n


async def test_results_in_input_order_with_per_item_errors_and_bounded_concurrency():
    async with PixelBatchInferenceManager(slow_square, concurrency=4, max_pending=3) as manager:
        outcomes = await manager.map(range(60))
    assert [o.index for o in outcomes] == list(range(60))
    for n, outcome in enumerate(outcomes):
        if n % 7 == 3:
            assert not outcome.ok and isinstance(outcome.error, InvalidRequestError)
        else:
            assert outcome.ok and outcome.result == n * n
    assert 1 < manager.peak_in_flight <= 4
    assert summarise(outcomes) == {"ok": 51, "invalid_input": 9}


async def test_map_accepts_async_iterables():
    async def numbers():
        for n in range(10):
            yield n

    async with PixelBatchInferenceManager(slow_square, concurrency=2) as manager:
        outcomes = await manager.map(numbers())
    assert [o.result for o in outcomes if o.ok] == [n * n for n in range(10) if n % 7 != 3]


async def test_submit_waits_when_the_queue_is_full():
    gate = asyncio.Event()
    started = []

    async def gated(n: int) -> int:
        started.append(n)
        await gate.wait()
        return n

    manager = PixelBatchInferenceManager(gated, concurrency=1, max_pending=2)
    async with manager:
        first = await manager.submit(0)
        while not started:  # the single worker holds item 0
            await asyncio.sleep(0)
        queued = [await manager.submit(1), await manager.submit(2)]  # fills max_pending
        assert manager.pending == 2
        blocked = asyncio.create_task(manager.submit(3))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not blocked.done()  # backpressure: the producer waits, the queue does not grow
        assert manager.pending == 2
        gate.set()
        last = await blocked
        results = await asyncio.gather(first, *queued, last)
    assert results == [0, 1, 2, 3]
    assert manager.peak_in_flight == 1


async def test_closed_manager_refuses_work_and_cancelled_exit_cancels_pending():
    gate = asyncio.Event()

    async def wait_forever(n: int) -> int:
        await gate.wait()
        return n

    manager = PixelBatchInferenceManager(wait_forever, concurrency=1, max_pending=4)
    with pytest.raises(RuntimeError):
        async with manager:
            await manager.submit(0)
            pending = await manager.submit(1)
            raise RuntimeError("caller failed")
    assert pending.cancelled()
    with pytest.raises(ManagerClosedError):
        await manager.submit(2)


def test_infer_request_coercion_hides_text_in_repr():
    request = InferRequest.coerce(("very private words", "s1", "crisis_support"))
    assert request == InferRequest("very private words", "s1", "crisis_support")
    assert InferRequest.coerce({"text": "x", "session_id": "s"}).context_type == "general_support"
    assert "private" not in repr(request)
