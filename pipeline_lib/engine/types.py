"""The engine's contract: settings, a request, the events a step returns, and request checks.

Dependency-free on purpose (dataclasses only) so a Triton model or a client can import it cheaply.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Hashable, Optional

from pipeline_lib.errors import InvalidInputError

# finish_reason values
STOP = "stop"  # a stop token was sampled (it is not part of the reply)
LENGTH = "length"  # max_new_tokens reached or the slot is full (serving ends it at a sentence)
CANCELLED = "cancelled"
ERROR = "error"


@dataclass(frozen=True)
class EngineSettings:
    n_slots: int = 8  # requests generated together (rows of the KV cache)
    max_seq_len: int = 1024  # prompt + reply tokens one slot holds
    prefill_chunk: int = 128  # most prompt tokens one step computes (the whole chunk when alone)
    # Tokens one step computes while rows decode (decoding rows + prompt tokens): bounds how much
    # a newcomer's prefill slows the others' next token (2-core CPU, demo model: 8 rows decode in
    # 87 ms; with 24 prompt tokens beside them 206 ms, with 64 tokens 321 ms).
    step_token_budget: int = 32
    # ... and at most this many prompt tokens per decoding row, so that a step with few rows
    # never grows to many times a plain decode step, while with many rows a prompt still goes in
    # large enough chunks to keep up with the rows that finish (each needs a new prompt).
    prefill_per_row: int = 2
    default_max_new_tokens: int = 256
    temperature: float = 0.0  # <= 0: greedy
    top_p: float = 1.0
    seed: int = 0
    prefix_cache_entries: int = 16  # distinct prefixes kept (LRU); 0 disables the prefix cache

    def __post_init__(self):
        for name in ("n_slots", "max_seq_len", "prefill_chunk", "step_token_budget",
                     "prefill_per_row", "default_max_new_tokens"):
            if getattr(self, name) < 1:
                raise InvalidInputError(name, f"must be >= 1, got {getattr(self, name)}")
        if self.max_seq_len < 2:
            raise InvalidInputError("max_seq_len", "must be >= 2 (one prompt token, one reply)")
        if self.prefix_cache_entries < 0:
            raise InvalidInputError("prefix_cache_entries", "must be >= 0")
        if self.temperature < 0:
            raise InvalidInputError("temperature", f"must be >= 0, got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise InvalidInputError("top_p", f"must be in (0, 1], got {self.top_p}")


@dataclass
class GenerationRequest:
    request_id: Hashable
    prompt_ids: list[int]
    # Leading prompt tokens shared by every request of one context type (system prompt and
    # chat-template prefix): their keys/values are computed once and copied (prefix cache).
    prefix_len: int = 0
    max_new_tokens: Optional[int] = None  # None: settings default, shortened to fit the slot
    temperature: Optional[float] = None  # None: settings default
    top_p: Optional[float] = None
    seed: Optional[int] = None


@dataclass(frozen=True)
class TokenEvent:
    request_id: Hashable
    token_id: Optional[int]  # None on a finish event without a new token
    finish_reason: Optional[str] = None  # None while running; STOP | LENGTH | CANCELLED | ERROR
    detail: Optional[str] = None  # why, for ERROR


@dataclass(frozen=True)
class ResolvedRequest:
    """A checked request with every default filled in."""

    request_id: Hashable
    prompt_ids: tuple[int, ...]
    prefix_len: int  # at most len(prompt) - 1: the last prompt token is always computed
    max_new_tokens: int
    temperature: float
    top_p: float
    seed: int


def check_options(*, max_new_tokens=None, temperature=None, top_p=None, seed=None) -> None:
    """Refuse a per-request generation option out of range (None = the default), naming it."""
    if max_new_tokens is not None and (isinstance(max_new_tokens, bool) or
                                       not isinstance(max_new_tokens, int) or max_new_tokens < 1):
        raise InvalidInputError("max_new_tokens", f"must be an integer >= 1, got {max_new_tokens!r}")
    if temperature is not None and not float(temperature) >= 0.0:  # also refuses NaN
        raise InvalidInputError("temperature", f"must be >= 0 (0 = greedy), got {temperature}")
    if top_p is not None and not 0.0 < float(top_p) <= 1.0:
        raise InvalidInputError("top_p", f"must be in (0, 1], got {top_p}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidInputError("seed", f"must be an integer, got {seed!r}")


def resolve(req: GenerationRequest, settings: EngineSettings, vocab_size: int) -> ResolvedRequest:
    """Check a request against the settings; raise InvalidInputError naming the bad field."""
    try:  # numpy integers are welcome, floats and strings are not
        prompt = [operator.index(t) for t in req.prompt_ids]
    except TypeError:
        raise InvalidInputError("prompt_ids", "must be a sequence of integer token ids") from None
    if not prompt:
        raise InvalidInputError("prompt_ids", "is empty: at least one token is needed")
    bad = [t for t in prompt if not 0 <= t < vocab_size]
    if bad:
        raise InvalidInputError("prompt_ids", f"token ids must be integers in [0, {vocab_size}), "
                                f"got {bad[:3]}")
    room = settings.max_seq_len - len(prompt)
    if room < 1:
        raise InvalidInputError("prompt_ids", f"{len(prompt)} tokens leave no room for a reply in "
                                f"max_seq_len {settings.max_seq_len}")
    check_options(max_new_tokens=req.max_new_tokens, temperature=req.temperature,
                  top_p=req.top_p, seed=req.seed)
    if req.max_new_tokens is None:
        max_new = min(settings.default_max_new_tokens, room)
    else:
        max_new = req.max_new_tokens
        if max_new > room:
            raise InvalidInputError(
                "max_new_tokens", f"{len(prompt)} prompt tokens + {max_new} new tokens exceed "
                f"max_seq_len {settings.max_seq_len}")
    temperature = settings.temperature if req.temperature is None else float(req.temperature)
    top_p = settings.top_p if req.top_p is None else float(req.top_p)
    seed = settings.seed if req.seed is None else req.seed
    prefix_len = req.prefix_len
    if isinstance(prefix_len, bool) or not isinstance(prefix_len, int) or prefix_len < 0:
        raise InvalidInputError("prefix_len", f"must be an integer >= 0, got {prefix_len!r}")
    if prefix_len > len(prompt):
        raise InvalidInputError("prefix_len", f"{prefix_len} exceeds the prompt's {len(prompt)} "
                                "tokens")
    return ResolvedRequest(req.request_id, tuple(prompt), min(prefix_len, len(prompt) - 1),
                           max_new, temperature, top_p, seed)
