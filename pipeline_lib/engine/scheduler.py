"""The engine: in-flight batching over a KV cache of fixed slots (vLLM / TGI style, synchronous).

Every `step()`: apply cancellations, admit waiting requests into free slots (FIFO), then one model
call over every decoding row and the step's prefill chunks, and sample per row. Prompt tokens per
step are bounded (below), so a long prompt holds the decoding rows back by one chunk at most; the
bound is filled oldest prefilling request first, several prompts in one step when they are short
(a burst, or many rows finishing together). Chunks and rows share one pass over the weights
(`forward.mixed_step`): on CPU a decode step costs mostly the reading of the weights, on a GPU
mostly launching its kernels, so a separate pass per chunk would nearly double the step.
While rows decode, the prompt tokens are cut to the step's token budget (vLLM's
max_num_batched_tokens idea): a step's cost grows with the tokens it computes, so a newcomer's
prompt spread over a few steps keeps every decoding row's inter-token gap within a small multiple
of a plain decode step.
Each running request gets at most one token per step; a finished request's slot is free at once.

No threads inside: a driver (the Triton model's scheduler thread) calls `step()` in a loop;
`submit()` and `cancel()` may be called from other threads (they only touch a locked inbox).
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Hashable, Iterable, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from pipeline_lib.engine.forward import PromptChunk, decode_step, mixed_step, prefill_chunk
from pipeline_lib.engine.kv_slots import KVSlots
from pipeline_lib.engine.prefix_cache import PrefixCache
from pipeline_lib.engine.sampling import RowSampler, sample_rows
from pipeline_lib.engine.types import (CANCELLED, ERROR, LENGTH, STOP, EngineSettings,
                                       GenerationRequest, ResolvedRequest, TokenEvent, resolve)
from pipeline_lib.errors import InvalidInputError
from pipeline_lib.lm.model import Transformer

log = logging.getLogger(__name__)

# A prompt always advances by at least this many tokens per step, however many rows decode.
MIN_PREFILL_TOKENS = 8


@dataclass
class _Running:
    req: ResolvedRequest
    slot: int
    sampler: RowSampler
    computed: int = 0  # prompt tokens whose keys/values are in the slot
    generated: List[int] = field(default_factory=list)

    @property
    def prefilling(self) -> bool:
        return self.computed < len(self.req.prompt_ids)

    @property
    def next_position(self) -> int:
        """Cache index of the last generated token, the one fed to the next decode step."""
        return len(self.req.prompt_ids) + len(self.generated) - 1


class Engine:
    def __init__(self, model: Transformer, settings: EngineSettings = EngineSettings(), *,
                 stop_ids: Sequence[int], device: str | torch.device = "cpu",
                 torchscript: bool = True):
        self.model = model.eval()
        # The TorchScript interpreter runs the 30 layers' Python with less overhead than eager
        # (demo model, 2-core CPU, one decode step: 1 row 39 -> 29 ms, 8 rows 82 -> 70 ms). The
        # scripted module shares the eager one's weights; scripting takes ~1 s.
        self._runner = model
        if torchscript:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self._runner = torch.jit.script(model)
        self.settings = settings
        self.device = torch.device(device)
        self.stop_ids = frozenset(int(i) for i in stop_ids)
        self.vocab_size = model.tok_embeddings.num_embeddings
        self.kv = KVSlots(n_layer=model.n_layer, n_slots=settings.n_slots, n_kv_heads=model.n_kv,
                          max_seq_len=settings.max_seq_len, head_dim=model.head_dim,
                          dtype=model.norm.weight.dtype, device=self.device)
        self.prefix_cache = PrefixCache(settings.prefix_cache_entries)
        self.metadata: dict = {}  # the export's metadata when built by from_export
        self._lock = threading.Lock()  # guards _waiting and _cancel (touched by other threads)
        self._waiting: "OrderedDict[Hashable, ResolvedRequest]" = OrderedDict()
        self._cancel: set = set()
        self._running: "OrderedDict[Hashable, _Running]" = OrderedDict()  # admission order
        self.steps = 0
        self.prefill_tokens_computed = 0
        self.generated_tokens = 0

    @classmethod
    def from_export(cls, path: str | Path, settings: EngineSettings = EngineSettings(), *,
                    device: str | torch.device = "cpu", torchscript: bool = True) -> "Engine":
        """An engine over the weights of an exported `model.pt` (stop ids from its metadata,
        kept as `self.metadata`)."""
        from pipeline_lib.engine.loading import load_exported_transformer

        model, metadata = load_exported_transformer(path, device=device)
        engine = cls(model, settings, stop_ids=metadata["stop_ids"], device=device,
                     torchscript=torchscript)
        engine.metadata = metadata
        return engine

    # -- requests ------------------------------------------------------------------------------

    def submit(self, request: GenerationRequest) -> None:
        """Queue a request; raises InvalidInputError naming the field when it breaks a rule."""
        resolved = resolve(request, self.settings, self.vocab_size)
        with self._lock:
            if resolved.request_id in self._waiting or resolved.request_id in self._running:
                raise InvalidInputError("request_id", f"{resolved.request_id!r} is already "
                                        "queued or running")
            self._waiting[resolved.request_id] = resolved

    def cancel(self, request_id: Hashable) -> bool:
        """Drop a request at the next step (its last event says "cancelled"). False if unknown."""
        with self._lock:
            known = request_id in self._waiting or request_id in self._running
            if known:
                self._cancel.add(request_id)
            return known

    def holds_slot(self, request_id: Hashable) -> bool:
        """Whether the request was admitted (holds a KV-cache slot) and has not finished."""
        return request_id in self._running

    def has_work(self) -> bool:
        """Whether `step()` has anything to do (waiting, running or cancelled requests)."""
        with self._lock:
            return bool(self._waiting or self._running or self._cancel)

    def stats(self) -> dict:
        with self._lock:
            waiting = len(self._waiting)
        running = list(self._running.values())  # one C-level copy: safe beside a running step
        return {
            "active_slots": len(running),
            "prefilling": sum(r.prefilling for r in running),
            "waiting": waiting,
            "prefix_hits": self.prefix_cache.hits,
            "prefix_misses": self.prefix_cache.misses,
            "prefix_entries": len(self.prefix_cache),
            "prefill_tokens_saved": self.prefix_cache.tokens_saved,
            "prefill_tokens_computed": self.prefill_tokens_computed,
            "generated_tokens": self.generated_tokens,
            "steps": self.steps,
        }

    # -- the step ------------------------------------------------------------------------------

    def step(self) -> List[TokenEvent]:
        events: List[TokenEvent] = []
        # optimized_execution(False): the profiling executor would re-specialise the scripted
        # model on every new sequence length and stall for seconds (see lm/runner.py).
        with torch.inference_mode(), torch.jit.optimized_execution(False):
            self._apply_cancellations(events)
            self._admit()
            chunks = self._next_chunks(events)
            rows = sorted((r for r in self._running.values() if not r.prefilling),
                          key=lambda r: r.slot)
            if chunks and (rows or len(chunks) > 1):
                self._mixed(chunks, rows, events)
            elif chunks:
                self._prefill(chunks[0], events)
            elif rows:
                self._decode(rows, events)
        self.steps += 1
        return events

    def generate(self, requests: Iterable[GenerationRequest]) -> dict:
        """Submit all, step until done: {request_id: generated token ids} (tests, benchmarks)."""
        out: dict = {}
        for r in requests:
            self.submit(r)
            out[r.request_id] = []
        while self.has_work():
            for e in self.step():
                if e.token_id is not None:
                    out[e.request_id].append(e.token_id)
                if e.finish_reason == ERROR:
                    log.warning("request %r failed: %s", e.request_id, e.detail)
        return out

    def _apply_cancellations(self, events: List[TokenEvent]) -> None:
        with self._lock:
            cancel, self._cancel = self._cancel, set()
            for rid in cancel:
                if self._waiting.pop(rid, None) is not None:
                    events.append(TokenEvent(rid, None, CANCELLED))
        for rid in cancel:
            if rid in self._running:
                self._finish(self._running[rid], events, None, CANCELLED)

    def _admit(self) -> None:
        with self._lock:
            while self._waiting and self.kv.free_count:
                _, req = self._waiting.popitem(last=False)
                sampler = RowSampler(temperature=req.temperature, top_p=req.top_p, seed=req.seed)
                self._running[req.request_id] = _Running(req, self.kv.allocate(), sampler)

    def _finish(self, run: _Running, events: List[TokenEvent], token: Optional[int], reason: str,
                detail: Optional[str] = None) -> None:
        events.append(TokenEvent(run.req.request_id, token, reason, detail))
        del self._running[run.req.request_id]
        self.kv.release(run.slot)

    def _next_chunks(self, events: List[TokenEvent]) -> List[Tuple[_Running, int]]:
        """This step's prompt chunks: (request, end of its chunk), oldest prefilling request
        first, while the step's prompt-token bound lasts (after a prefix-cache hit has filled a
        slot's first tokens)."""
        budget = self._chunk_size()
        chunks: List[Tuple[_Running, int]] = []
        prefilling = [r for r in self._running.values() if r.prefilling]
        # Prefixes another request is computing: their other users wait for the cache entry
        # rather than compute it twice.
        computing = {tuple(r.req.prompt_ids[: r.req.prefix_len]) for r in prefilling
                     if 0 < r.computed < r.req.prefix_len}
        for run in prefilling:
            if budget <= 0:
                break
            req = run.req
            try:
                if run.computed == 0 and req.prefix_len:
                    prefix = tuple(req.prompt_ids[: req.prefix_len])
                    if prefix in computing:
                        continue
                    entry = self.prefix_cache.lookup(req.prompt_ids[: req.prefix_len])
                    if entry is not None:
                        self.kv.write_prefix(run.slot, *entry)
                        run.computed = req.prefix_len
                    else:
                        computing.add(prefix)
            except Exception as exc:  # one bad request must not take the others down
                log.exception("prefix of request %r failed", req.request_id)
                self._finish(run, events, None, ERROR, f"prefill failed: {exc}")
                continue
            # Chunks never straddle the prefix boundary: the prefix's keys/values are then the
            # same numbers whether computed here or copied from the cache.
            limit = req.prefix_len if run.computed < req.prefix_len else len(req.prompt_ids)
            end = min(run.computed + budget, limit)
            if end > run.computed:
                chunks.append((run, end))
                budget -= end - run.computed
        return chunks

    def _prompt_chunk(self, chunk: Tuple[_Running, int]) -> PromptChunk:
        run, end = chunk
        return PromptChunk(run.slot, run.req.prompt_ids[run.computed:end], run.computed,
                           end == len(run.req.prompt_ids))

    def _prefill(self, chunk: Tuple[_Running, int], events: List[TokenEvent]) -> None:
        run, end = chunk
        try:
            c = self._prompt_chunk(chunk)
            logits = prefill_chunk(self._runner, self.kv, slot=c.slot, token_ids=c.token_ids,
                                   start=c.start, want_logits=c.want_logits)
            self._chunk_done(run, end, logits, events)
        except Exception as exc:
            log.exception("prefill of request %r failed", run.req.request_id)
            self._finish(run, events, None, ERROR, f"prefill failed: {exc}")

    def _chunk_done(self, run: _Running, end: int, logits: Optional[Tensor],
                    events: List[TokenEvent]) -> None:
        """Bookkeeping once [run.computed, end) is in the slot; the first token after the prompt."""
        prompt = run.req.prompt_ids
        self.prefill_tokens_computed += end - run.computed
        run.computed = end
        if end == run.req.prefix_len and prompt[:end] not in self.prefix_cache:
            self.prefix_cache.store(prompt[:end], *self.kv.read_prefix(run.slot, end))
        if end == len(prompt):
            self._accept(run, sample_rows(logits[None], [run.sampler])[0], events)

    def _mixed(self, chunks: Sequence[Tuple[_Running, int]], rows: Sequence[_Running],
               events: List[TokenEvent]) -> None:
        try:
            row_logits, chunk_logits = mixed_step(
                self._runner, self.kv, slots=[r.slot for r in rows],
                token_ids=[r.generated[-1] for r in rows],
                positions=[r.next_position for r in rows],
                chunks=[self._prompt_chunk(c) for c in chunks])
            tokens = sample_rows(row_logits, [r.sampler for r in rows]) if rows else []
        except Exception:
            # Find the culprit: each chunk alone, then the rows (one by one if need be).
            log.exception("step of %d rows and %d prefill chunks failed; retrying apart",
                          len(rows), len(chunks))
            for chunk in chunks:
                self._prefill(chunk, events)
            if rows:
                self._decode(rows, events)
            return
        for (run, end), logits in zip(chunks, chunk_logits):
            try:
                self._chunk_done(run, end, logits, events)
            except Exception as exc:
                log.exception("prefill of request %r failed", run.req.request_id)
                self._finish(run, events, None, ERROR, f"prefill failed: {exc}")
        for r, t in zip(rows, tokens):
            self._accept(r, t, events)

    def _chunk_size(self) -> int:
        """Prompt tokens this step may compute: the whole chunk when nobody decodes (nobody
        waits), else what the step's token budget leaves beside the decoding rows, and at most
        `prefill_per_row` per decoding row."""
        s = self.settings
        decoding = sum(not r.prefilling for r in self._running.values())
        if not decoding:
            return s.prefill_chunk
        spare = min(s.step_token_budget - decoding, s.prefill_per_row * decoding)
        return max(MIN_PREFILL_TOKENS, min(s.prefill_chunk, spare))

    def _decode(self, rows: Sequence[_Running], events: List[TokenEvent]) -> None:
        try:
            tokens = self._decode_rows(rows)
        except Exception:
            # Find the bad row(s): every row alone; the others keep going.
            log.exception("batched decode of %d rows failed; retrying row by row", len(rows))
            tokens = []
            for r in rows:
                try:
                    tokens.append(self._decode_rows([r])[0])
                except Exception as exc:
                    log.exception("decode of request %r failed", r.req.request_id)
                    tokens.append(exc)
        for r, t in zip(rows, tokens):
            if isinstance(t, Exception):
                self._finish(r, events, None, ERROR, f"decode failed: {t}")
            else:
                self._accept(r, t, events)

    def _decode_rows(self, rows: Sequence[_Running]) -> List[int]:
        logits = decode_step(self._runner, self.kv, slots=[r.slot for r in rows],
                             token_ids=[r.generated[-1] for r in rows],
                             positions=[r.next_position for r in rows])
        return sample_rows(logits, [r.sampler for r in rows])

    def _accept(self, run: _Running, token: int, events: List[TokenEvent]) -> None:
        """A new token for `run`: stop, or keep it (and finish at the length limit)."""
        if token in self.stop_ids:
            self._finish(run, events, None, STOP)
            return
        run.generated.append(token)
        self.generated_tokens += 1
        if len(run.generated) >= run.req.max_new_tokens or run.next_position >= self.kv.scratch_pos:
            self._finish(run, events, token, LENGTH)
        else:
            events.append(TokenEvent(run.req.request_id, token, None))
