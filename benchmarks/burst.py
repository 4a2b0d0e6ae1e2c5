"""A burst of concurrent requests, then one more: does the server still answer at its quiet speed?

Issue 14 measured the run-to-completion server: after 200 concurrent requests, refused only after
~31 s in the queue, the next single request took 38 s instead of ~4 s (work nobody waited for was
still computed). Here: the quiet latency (median of a few lone requests), then `size` unary
`pixel` requests at once, each with a deadline that travels to the server (Triton's request
timeout, the client gives up at the same time), then, as soon as every burst call has returned
(served, refused as overloaded, or timed out), the next lone request. If the server refuses it
as overloaded, it is sent again every second until served: `next_ms` is the time from the end of
the burst to that first served answer (refusals included), `next_refused` how many were refused.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class BurstResult:
    size: int
    deadline_s: float
    quiet_ms: float
    next_ms: float
    burst_s: float  # from sending the burst to its last answer
    outcomes: dict[str, int] = field(default_factory=dict)  # served / overloaded / deadline / error
    served_p50_ms: float = float("nan")
    next_refused: int = 0  # lone requests refused as overloaded before one was served

    def row(self) -> dict:
        return {"size": self.size, "deadline_s": self.deadline_s, "quiet_ms": self.quiet_ms,
                "next_ms": self.next_ms, "next_over_quiet": self.next_ms / self.quiet_ms,
                "burst_s": self.burst_s, "served_p50_ms": self.served_p50_ms,
                "next_refused": self.next_refused,
                **{f"n_{k}": v for k, v in sorted(self.outcomes.items())}}


def _inputs(message: dict, max_new_tokens: int | None):
    import tritonclient.grpc.aio as grpcaio

    def tensor(name, value, dtype):
        arr = (np.array([[value.encode()]], dtype=np.object_) if dtype == "BYTES"
               else np.array([[value]], dtype=np.int32))
        t = grpcaio.InferInput(name, list(arr.shape), dtype)
        t.set_data_from_numpy(arr)
        return t

    out = [tensor(k, message[k], "BYTES") for k in ("text", "session_id", "context_type")]
    if max_new_tokens is not None:
        out.append(tensor("max_new_tokens", max_new_tokens, "INT32"))
    return out


def outcome_of(exc: BaseException | None) -> str:
    """How one burst call ended, from the error the client got."""
    if exc is None:
        return "served"
    text = str(exc).lower()
    if "overloaded" in text:
        return "overloaded"
    if "deadline" in text or "timeout" in text or "timed out" in text or "cancel" in text:
        return "deadline"
    return "error"


# A lone request gets no server deadline, only this client-side bound: a server that stopped
# answering fails the burst test instead of hanging the whole benchmark.
LONE_CLIENT_TIMEOUT_S = 120.0


async def _one(client, model: str, message: dict, max_new_tokens: int | None,
               deadline_s: float | None) -> tuple[float, BaseException | None]:
    started = time.perf_counter()
    try:
        kwargs = {"client_timeout": LONE_CLIENT_TIMEOUT_S}
        if deadline_s:
            # the server sees the deadline (request timeout, us) and drops the work when it passes
            kwargs = {"timeout": int(deadline_s * 1e6), "client_timeout": deadline_s}
        await client.infer(model, _inputs(message, max_new_tokens), **kwargs)
        return (time.perf_counter() - started) * 1e3, None
    except Exception as exc:  # noqa: BLE001 - every failure is an outcome to count
        return (time.perf_counter() - started) * 1e3, exc


async def _next_answer(client, model: str, message: dict, max_new_tokens: int | None,
                       *, give_up_s: float = 180.0, pause_s: float = 1.0) -> tuple[float, int]:
    """Time from now until the server answers a lone request, and how many tries it refused first.
    A refusal is not an answer: the server is asked again (one at a time) until it serves one."""
    started, refused = time.perf_counter(), 0
    while True:
        _, exc = await _one(client, model, message, max_new_tokens, None)
        if exc is None:
            return (time.perf_counter() - started) * 1e3, refused
        if outcome_of(exc) != "overloaded" or time.perf_counter() - started > give_up_s:
            raise exc
        refused += 1
        await asyncio.sleep(pause_s)


async def run_burst(url: str, message: dict, *, model: str = "pixel", size: int = 200,
                    deadline_s: float = 20.0, max_new_tokens: int | None = 64,
                    quiet_samples: int = 3) -> BurstResult:
    import tritonclient.grpc.aio as grpcaio

    client = grpcaio.InferenceServerClient(url)
    try:
        quiet = []
        for _ in range(quiet_samples):
            ms, exc = await _one(client, model, message, max_new_tokens, None)
            if exc is not None:
                raise exc
            quiet.append(ms)
        started = time.perf_counter()
        results = await asyncio.gather(*(_one(client, model, {**message, "session_id": f"burst-{i}"},
                                              max_new_tokens, deadline_s) for i in range(size)))
        burst_s = time.perf_counter() - started
        next_ms, next_refused = await _next_answer(client, model, message, max_new_tokens)
    finally:
        await client.close()
    outcomes: dict[str, int] = {}
    for _, e in results:
        outcomes[outcome_of(e)] = outcomes.get(outcome_of(e), 0) + 1
    served = [ms for ms, e in results if e is None]
    return BurstResult(size=size, deadline_s=deadline_s, quiet_ms=statistics.median(quiet),
                       next_ms=next_ms, next_refused=next_refused, burst_s=burst_s, outcomes=outcomes,
                       served_p50_ms=float(np.median(served)) if served else float("nan"))
