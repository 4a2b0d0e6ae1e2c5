"""The decoupled `pixel_lm` model's work: requests in, a scheduler thread drives the engine.

`submit` (called from `execute`) checks a request, refuses it at once when it cannot start before
its deadline (admission from measured capacity, not a fixed wait), and queues it; the scheduler
thread admits queued requests, polls `is_cancelled()` and deadlines every step, runs
`Engine.step()` and answers each request through its response sender: one response per token
(token ids + the text it completed), the last one with the FINAL flag and the whole reply.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline_lib.engine import Engine, EngineSettings, GenerationRequest, IncrementalDetokenizer
from pipeline_lib.errors import InvalidInputError
from pipeline_lib.serving.engine_metrics import EngineMetrics

log = logging.getLogger(__name__)

POLL_S = 0.1
OPTIONAL_SCALARS = {"prefix_length": int, "max_new_tokens": int, "temperature": float,
                    "top_p": float, "seed": int, "deadline_ns": int, "stream": bool}


@dataclass
class Live:
    request: object
    sender: object
    detok: IncrementalDetokenizer
    deadline_ns: int
    prompt_tokens: int
    prefix_len: int
    stream: bool = True  # one response per token; else only the final one, with every token
    arrived: float = field(default_factory=time.monotonic)
    admitted: bool = False
    first_token: float | None = None
    last_token: float | None = None


class CapacityEstimate:
    """Requests finished per second while busy (EWMA): how long a newcomer would wait."""

    def __init__(self, n_slots: int, max_queue_wait_s: float):
        self.n_slots = n_slots
        self.max_queue_wait_s = max_queue_wait_s
        self.service_s: float | None = None  # EWMA of admission-to-finish time

    def record(self, seconds: float) -> None:
        self.service_s = seconds if self.service_s is None else 0.8 * self.service_s + 0.2 * seconds

    def expected_wait_s(self, active: int, waiting: int) -> float:
        if active + waiting < self.n_slots or self.service_s is None:
            return 0.0
        return (waiting // self.n_slots + 1) * self.service_s

    def queue_bound(self) -> int:
        if self.service_s is None:
            return 4 * self.n_slots  # nothing measured yet
        return max(self.n_slots, int(self.max_queue_wait_s / self.service_s * self.n_slots))


class GenerateStep:
    def __init__(self, pb_utils, settings: dict, artifacts: Path):
        from transformers import AutoTokenizer

        self.pb = pb_utils
        engine_settings = EngineSettings(**{k: settings[k] for k in (
            "n_slots", "max_seq_len", "prefill_chunk", "step_token_budget",
            "prefill_per_row", "prefix_cache_entries")},
            default_max_new_tokens=settings["max_new_tokens"],
            temperature=settings["temperature"], top_p=settings["top_p"], seed=settings["seed"])
        self.tokenizer = AutoTokenizer.from_pretrained(str(artifacts / "tokenizer"))
        self.capacity = CapacityEstimate(engine_settings.n_slots,
                                         float(settings.get("max_queue_wait_s", 10.0)))
        self.metrics = EngineMetrics(pb_utils, model=settings.get("model_name", "pixel_lm"))
        self.ids = itertools.count()
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.live: dict[int, Live] = {}
        self.last_poll = 0.0
        self.by_name: dict[str, int] = {}  # Triton request id -> engine id (for cancel requests)
        self.stopping = threading.Event()
        # The engine is built on the scheduler thread, the only thread that ever runs its torch
        # ops. Why: libgomp counts every thread that opened a parallel region as managed, and with
        # more managed threads than cores its workers stop spin-waiting; each of a step's ~300
        # parallel regions then waits for a worker to wake (2-core CPU, 16-row decode step,
        # 106 -> 83 ms; docs/engine.md).
        built = threading.Event()
        self._build_error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name="pixel-engine",
                                       args=(artifacts / "model.pt", engine_settings,
                                             settings.get("device", "cpu"), built))
        self.thread.start()
        built.wait()
        if self._build_error is not None:
            raise self._build_error

    # -- called from execute -------------------------------------------------------------------
    def submit(self, request) -> None:
        sender = request.get_response_sender()
        try:
            cols = self._inputs(request)
            if bool(cols.get("cancel", False)):
                self.inbox.put(("cancel", request.request_id()))
                sender.send(flags=self.pb.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
                return
            stats = self.engine.stats()
            waiting = stats["waiting"] + self.inbox.qsize()
            wait_s = self.capacity.expected_wait_s(stats["active_slots"], waiting)
            deadline = int(cols.get("deadline_ns", 0))
            if waiting >= self.capacity.queue_bound() or (
                    deadline and time.time_ns() + wait_s * 1e9 > deadline):
                self.metrics.refused()
                raise _Refusal(f"overloaded: {waiting} requests wait for {self.engine.settings.n_slots} "
                               f"slots (expected start in {wait_s:.1f} s); retry later")
            ids = cols["input_ids"].reshape(-1).tolist()
            prefix = int(cols.get("prefix_length", 0))
            req = GenerationRequest(
                request_id=next(self.ids), prompt_ids=ids, prefix_len=prefix,
                **{k: OPTIONAL_SCALARS[k](cols[k]) for k in ("max_new_tokens", "temperature",
                                                              "top_p", "seed") if k in cols})
            live = Live(request, sender, IncrementalDetokenizer(self.tokenizer), deadline,
                        prompt_tokens=len(ids), prefix_len=prefix,
                        stream=bool(cols.get("stream", True)))
            self.live[req.request_id] = live  # before submit: the engine may answer at once
            try:
                self.engine.submit(req)  # checks the request; refusals name the field
            except InvalidInputError:
                del self.live[req.request_id]
                raise
            if request.request_id():
                self.by_name[request.request_id()] = req.request_id
        except InvalidInputError as exc:
            self._fail(sender, str(exc), self.pb.TritonError.INVALID_ARG)
        except _Refusal as exc:
            self._fail(sender, str(exc), self.pb.TritonError.UNAVAILABLE)

    def _inputs(self, request) -> dict:
        cols = {}
        for name in ("input_ids", "cancel", *OPTIONAL_SCALARS):
            tensor = self.pb.get_input_tensor_by_name(request, name)
            if tensor is not None:
                value = tensor.as_numpy()
                cols[name] = value if name == "input_ids" else value.reshape(-1)[0]
        if "input_ids" not in cols:
            raise InvalidInputError("input_ids", "is required")
        return cols

    def _fail(self, sender, message: str, code) -> None:
        sender.send(self.pb.InferenceResponse(error=self.pb.TritonError(message, code)),
                    flags=self.pb.TRITONSERVER_RESPONSE_COMPLETE_FINAL)

    def finalize(self) -> None:
        self.stopping.set()
        self.metrics.stop()
        self.thread.join(timeout=10)

    # -- the scheduler thread ------------------------------------------------------------------
    def _run(self, export: Path, settings: EngineSettings, device: str,
             built: threading.Event) -> None:
        try:
            self.engine = Engine.from_export(export, settings, device=device)
        except BaseException as exc:  # noqa: BLE001 - re-raised by __init__ (initialize fails)
            self._build_error = exc
            return
        finally:
            built.set()
        self._loop()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                if not self.engine.has_work():
                    self._handle(self.inbox.get(timeout=0.1))
                while True:
                    self._handle(self.inbox.get_nowait())
            except queue.Empty:
                pass
            try:
                self._drop_abandoned()
                if self.engine.has_work():
                    events = self.engine.step()
                    self._note_admissions()
                    for event in events:
                        self._answer(event)
                self.metrics.engine_state(self.engine.stats())
            except Exception:  # noqa: BLE001 - keep serving; the engine finishes bad rows itself
                log.exception("engine step failed")
                time.sleep(0.05)

    def _handle(self, item) -> None:
        kind, value = item
        if kind == "cancel":
            key = self.by_name.get(value)
            if key is not None:
                self.engine.cancel(key)

    def _drop_abandoned(self) -> None:
        # Each is_cancelled() is a round trip to the server: at most every POLL_S, which is
        # about one decode step, so a cancelled request still goes within a step or two.
        if time.monotonic() - self.last_poll < POLL_S:
            return
        self.last_poll = time.monotonic()
        now = time.time_ns()
        for key, live in list(self.live.items()):
            if live.request.is_cancelled() or (live.deadline_ns and now > live.deadline_ns):
                self.engine.cancel(key)

    def _note_admissions(self) -> None:
        """Queue time: from arrival to the end of the step that gave the request its slot."""
        now = time.monotonic()
        for key, live in list(self.live.items()):
            if not live.admitted and self.engine.holds_slot(key):
                live.admitted = True
                self.metrics.admitted(now - live.arrived)

    def _answer(self, event) -> None:
        live = self.live.get(event.request_id)
        if live is None:
            return
        now = time.monotonic()
        tokens, delta = [], ""
        if event.token_id is not None:
            tokens = [event.token_id]
            delta = live.detok.push(event.token_id)
            if live.first_token is None:
                live.first_token = now
                self.metrics.first_token(now - live.arrived)
            else:
                self.metrics.inter_token(now - live.last_token)
            live.last_token = now
        reason = event.finish_reason or ""
        if not reason and not live.stream:
            return  # a caller that does not stream gets every token on the final response
        if reason:
            delta += live.detok.finish()
            if not live.stream:
                tokens, delta = live.detok.ids, live.detok.text
        outputs = [
            self.pb.Tensor("token_ids", np.array(tokens, dtype=np.int64)),
            self.pb.Tensor("text_delta", np.array([delta.encode("utf-8")], dtype=np.object_)),
            self.pb.Tensor("finish_reason", np.array([reason.encode()], dtype=np.object_)),
            self.pb.Tensor("response_text", np.array(
                [live.detok.text.encode("utf-8") if reason else b""], dtype=np.object_)),
            self.pb.Tensor("usage", np.array([live.prompt_tokens, live.prefix_len,
                                              len(live.detok.ids)], dtype=np.int64)),
        ]
        # `outputs` stays referenced across send(): see Orchestrator._send for why.
        if not reason:
            live.sender.send(self.pb.InferenceResponse(output_tensors=outputs))
            return
        del self.live[event.request_id]
        name = live.request.request_id()
        if name and self.by_name.get(name) == event.request_id:
            del self.by_name[name]
        self.capacity.record(now - live.arrived)
        if reason == "error":
            self._fail(live.sender, f"generation failed: {event.detail or 'unknown error'}",
                       self.pb.TritonError.INTERNAL)
        else:
            live.sender.send(self.pb.InferenceResponse(output_tensors=outputs),
                             flags=self.pb.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
        self.metrics.finished(reason)


class _Refusal(Exception):
    pass
