"""PixelBatchInferenceManager: many requests through one client, bounded and in order.

A fixed pool of `concurrency` workers takes requests from a bounded queue of `max_pending`
slots. `submit()` waits while the queue is full, so a producer faster than the server is slowed
down (backpressure) instead of growing memory without bound. Each request gets its own future;
`map()` returns outcomes in input order, each holding a result or that request's own error.
Batching proper happens on the server (Triton's dynamic batcher merges concurrent requests).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pipeline_lib.errors import ConfigError, PixelError

log = logging.getLogger(__name__)
R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True)
class InferRequest:
    text: str
    session_id: str
    context_type: str = "general_support"
    timeout: float | None = None  # seconds for this request, retries included
    use_cache: bool = True
    # Generation options (engine models only); None = the server's default.
    max_new_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    conversation: tuple[Mapping[str, str], ...] | None = None  # earlier turns, oldest first

    @classmethod
    def coerce(cls, item: InferRequest | tuple | Mapping) -> InferRequest:
        """Accept an InferRequest, a (text, session_id[, context_type]) tuple or a mapping."""
        if isinstance(item, cls):
            return item
        if isinstance(item, Mapping):
            return cls(**item)
        return cls(*item)

    def __repr__(self) -> str:  # never print the user's text
        return f"InferRequest(context_type={self.context_type!r}, text=<{len(self.text)} chars>)"


@dataclass(frozen=True)
class BatchOutcome(Generic[T]):
    index: int  # position in the input
    result: T | None
    error: Exception | None

    @property
    def ok(self) -> bool:
        return self.error is None


class ManagerClosedError(PixelError):
    """submit() after close(); create a new manager or submit before leaving `async with`."""


class PixelBatchInferenceManager(Generic[R, T]):
    def __init__(
        self, infer: Callable[[R], Awaitable[T]], *, concurrency: int = 8, max_pending: int = 32
    ):
        if concurrency < 1 or max_pending < 1:
            raise ConfigError("batch concurrency and max_pending must be >= 1")
        self._infer = infer
        self.concurrency = concurrency
        self.max_pending = max_pending
        self._queue: asyncio.Queue[tuple[R, asyncio.Future[T]]] = asyncio.Queue(max_pending)
        self._workers: list[asyncio.Task] = []
        self._closed = False
        self.in_flight = 0
        self.peak_in_flight = 0  # the most requests ever running at once (bounded by concurrency)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def __aenter__(self) -> PixelBatchInferenceManager[R, T]:
        self._start()
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        await self.close(drain=exc_type is None)

    def _start(self) -> None:
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._work(), name=f"pixel-batch-worker-{i}")
                for i in range(self.concurrency)
            ]

    async def _work(self) -> None:
        while True:
            request, future = await self._queue.get()
            try:
                if future.cancelled():
                    continue
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                try:
                    result = await self._infer(request)
                except asyncio.CancelledError:
                    future.cancel()
                    raise
                except Exception as exc:  # noqa: BLE001 -- handed to the caller's future
                    if not future.cancelled():
                        future.set_exception(exc)
                else:
                    if not future.cancelled():
                        future.set_result(result)
                finally:
                    self.in_flight -= 1
            finally:
                self._queue.task_done()

    async def submit(self, request: R) -> asyncio.Future[T]:
        """Queue one request; waits while `max_pending` requests are already waiting."""
        if self._closed:
            raise ManagerClosedError("this batch manager is closed; create a new one")
        self._start()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put((request, future))
        return future

    async def infer(self, request: R) -> T:
        return await (await self.submit(request))

    async def map(self, requests: Iterable[R] | AsyncIterable[R]) -> list[BatchOutcome[T]]:
        """Run every request; outcomes in input order, errors per item."""
        futures: list[asyncio.Future[T]] = []
        if isinstance(requests, AsyncIterable):
            async for request in requests:
                futures.append(await self.submit(request))
        else:
            for request in requests:
                futures.append(await self.submit(request))
        await asyncio.wait(futures) if futures else None
        outcomes: list[BatchOutcome[T]] = []
        for index, future in enumerate(futures):
            error = future.exception() if not future.cancelled() else asyncio.CancelledError()
            result = None if error else future.result()
            outcomes.append(BatchOutcome(index, result, error))  # type: ignore[arg-type]
        return outcomes

    async def close(self, *, drain: bool = True) -> None:
        """Stop taking requests; with drain, finish the queued ones first, else cancel them."""
        self._closed = True
        if drain and self._workers:
            await self._queue.join()
        while not self._queue.empty():
            _request, future = self._queue.get_nowait()
            future.cancel()
            self._queue.task_done()
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []


def summarise(outcomes: Iterable[BatchOutcome[Any]]) -> dict[str, int]:
    """Counts by outcome: 'ok' and each error kind (for logs and the CLI; no text)."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        key = "ok" if outcome.ok else getattr(outcome.error, "kind", type(outcome.error).__name__)
        counts[key] = counts.get(key, 0) + 1
    return counts
