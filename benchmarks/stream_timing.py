"""Per-request timings from perf_analyzer's `--profile-export-file`, as the client saw them.

perf_analyzer 2.50 writes, per request, the send timestamp, the receive timestamp of every
response and every response's outputs (`response_outputs`, BYTES decoded). For the decoupled
`pixel_stream` its own latency columns measure only the FIRST response (the assessment, before
any text), so TTFT, inter-token and end-to-end latency are computed here from the export:

- **TTFT**: send -> the first response carrying text (`text_delta`, or `response_text` of a unary
  reply). For a flagged message that is the crisis pointer: the first words the person reads.
- **end-to-end**: send -> the last response (the final scores).
- **inter-token**: between consecutive text-carrying responses, the gap divided by the tokens the
  later one carries. Text leaves the orchestrator a word (or, near the budget, a sentence) at a
  time, so one response may hold several tokens; per token, a stall still shows, batching does not.
- **tokens**: the reply's tokens, counted by re-tokenizing the final `response_text`.

A unary (run-to-completion) reply arrives in one response: its TTFT is its end-to-end latency.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TokenCounter = Callable[[str], int]


@dataclass
class RequestTiming:
    ttft_ms: float
    e2e_ms: float
    tokens: int  # of the final reply text
    itl_ms: list[float] = field(default_factory=list)  # per-token gaps between text responses
    finish_reason: str = ""


def _text(outputs: dict, key: str) -> str:
    value = outputs.get(key, "")
    if isinstance(value, list):  # a [1] BYTES tensor may come back as a one-item list
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def request_timing(request: dict, count_tokens: TokenCounter) -> RequestTiming | None:
    """One exported request; None when it got no response (perf_analyzer gave up on it)."""
    sent = request["timestamp"]
    stamps = request.get("response_timestamps") or []
    outputs = request.get("response_outputs") or [{} for _ in stamps]
    if not stamps:
        return None
    streamed = any("stream_event" in o for o in outputs)
    text_at: list[tuple[int, str]] = []
    final = outputs[-1]
    for t, o in zip(stamps, outputs, strict=False):
        piece = _text(o, "text_delta") if streamed else _text(o, "response_text")
        if piece:
            text_at.append((t, piece))
    ms = lambda ns: ns / 1e6  # noqa: E731
    first = text_at[0][0] if text_at else stamps[-1]
    itl = [ms(t - prev) / max(1, count_tokens(piece))
           for (prev, _), (t, piece) in zip(text_at, text_at[1:], strict=False)]
    return RequestTiming(ttft_ms=ms(first - sent), e2e_ms=ms(stamps[-1] - sent),
                         tokens=count_tokens(_text(final, "response_text")), itl_ms=itl,
                         finish_reason=_text(final, "finish_reason"))


def load_export(path: Path) -> list[dict]:
    """The requests of a profile export holding one experiment (one perf_analyzer point)."""
    experiments = json.loads(path.read_text())["experiments"]
    return [r for e in experiments for r in e["requests"]]


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def summarize(timings: list[RequestTiming]) -> dict[str, float]:
    """p50/p99 of TTFT, inter-token (over all gaps) and end-to-end; mean reply tokens."""
    itl = [g for t in timings for g in t.itl_ms]
    out: dict[str, float] = {"timed_requests": len(timings),
                             "reply_tokens_mean": float(np.mean([t.tokens for t in timings]))
                             if timings else float("nan")}
    for name, values in (("ttft", [t.ttft_ms for t in timings]), ("itl", itl),
                         ("e2e", [t.e2e_ms for t in timings])):
        out[f"{name}_p50_ms"] = _pct(values, 50)
        out[f"{name}_p99_ms"] = _pct(values, 99)
    return out


def point_timings(path: Path, count_tokens: TokenCounter) -> list[RequestTiming]:
    timings = (request_timing(r, count_tokens) for r in load_export(path))
    return [t for t in timings if t is not None]
