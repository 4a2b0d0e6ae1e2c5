"""The `pixel` (unary) and `pixel_stream` (streaming) models: many requests in flight at once.

`execute` hands each request to a worker thread and returns None; the worker runs
`ReplyFlow` and answers through the request's response sender. Unary requests get exactly one
response with the FINAL flag (allowed for non-decoupled models since Triton 2.4x, checked on 2.51),
streaming requests get the assessment, the text deltas and the final scores. A watcher polls
`is_cancelled()` and tells the engine to drop work nobody waits for. A request row that fails
gets its own error; the other requests never see it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pipeline_lib.errors import InvalidInputError
from pipeline_lib.serving.prompt import PromptSettings
from pipeline_lib.serving.reply_flow import FlowError, FlowSettings, ReplyFlow, Row, check_generation_inputs

log = logging.getLogger(__name__)

ROW_INPUTS = ("text", "session_id", "context_type")
GENERATION_INPUTS = ("max_new_tokens", "temperature", "top_p", "seed")


class Orchestrator:
    def __init__(self, pb_utils, model_config: dict, settings: dict, *, streaming: bool):
        self.pb = pb_utils
        self.streaming = streaming
        self.flow = ReplyFlow(pb_utils, FlowSettings.from_dict(settings))
        self.rules = PromptSettings.from_dict(settings["request_rules"])
        self.dtypes = {o["name"]: pb_utils.triton_string_to_numpy(o["data_type"])
                       for o in model_config["output"]}
        # Beyond this many requests in flight a newcomer is refused at once (before tokenizing
        # or assessing it), so a burst cannot queue work nobody will wait for.
        self.max_in_flight = int(settings.get("max_in_flight", 64))
        self.in_flight = 0
        self.workers = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="pixel-flow")
        self.live: dict[str, tuple[object, bool]] = {}  # request id -> (request, cancel sent)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, daemon=True, name="pixel-cancel")
        self.watcher.start()

    # -- entry ---------------------------------------------------------------------------------
    def execute(self, requests) -> None:
        for request in requests:
            sender = request.get_response_sender()
            with self.lock:
                admitted = self.in_flight < self.max_in_flight
                self.in_flight += admitted
            if admitted:
                self.workers.submit(self._serve, request, sender)
            else:
                sender.send(self.pb.InferenceResponse(error=self.pb.TritonError(
                    f"overloaded: {self.max_in_flight} requests in flight; retry later",
                    self.pb.TritonError.UNAVAILABLE)),
                    flags=self.pb.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
        return None

    def finalize(self) -> None:
        self.stopping.set()
        self.workers.shutdown(wait=True, cancel_futures=False)

    # -- one request ---------------------------------------------------------------------------
    def _serve(self, request, sender) -> None:
        try:
            self._answer(request, sender)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _answer(self, request, sender) -> None:
        final_flag = self.pb.TRITONSERVER_RESPONSE_COMPLETE_FINAL
        try:
            rows = self._rows(request)
            finals = []
            for row in rows:  # clients send one row; a batch of rows runs in turn
                key = row.request_id
                with self.lock:
                    self.live[key] = (request, False)
                try:
                    emit = self._emitter(sender) if self.streaming else (lambda *_: None)
                    finals.append(self.flow.run(row, emit, streaming=self.streaming))
                finally:
                    with self.lock:
                        self.live.pop(key, None)
            self._send(sender, self._tensors(
                {**_stack(finals), **({"stream_event": ["final"] * len(finals),
                                       "text_delta": [""] * len(finals)}
                                      if self.streaming else {})}), flags=final_flag)
        except (FlowError, InvalidInputError) as exc:
            code = getattr(self.pb.TritonError, getattr(exc, "code", "INVALID_ARG"))
            sender.send(self.pb.InferenceResponse(error=self.pb.TritonError(str(exc), code)),
                        flags=final_flag)
        except Exception as exc:  # noqa: BLE001 - one request's failure must not stop the model
            log.exception("request failed")
            sender.send(self.pb.InferenceResponse(error=self.pb.TritonError(
                f"internal error: {type(exc).__name__}")), flags=final_flag)

    def _rows(self, request) -> list[Row]:
        get = lambda n: self.pb.get_input_tensor_by_name(request, n)  # noqa: E731
        cols = {}
        for name in ROW_INPUTS:
            tensor = get(name)
            if tensor is None:
                raise InvalidInputError(name, "is required")
            cols[name] = tensor.as_numpy().reshape(-1)
        generation = {n: get(n).as_numpy().reshape(-1) for n in GENERATION_INPUTS
                      if get(n) is not None}
        conversation = get("conversation")
        conversation = None if conversation is None else conversation.as_numpy().reshape(-1)
        sizes = {len(v) for v in (*cols.values(), *generation.values(),
                                  *([] if conversation is None else [conversation]))}
        if len(sizes) != 1:
            raise InvalidInputError("text", "every input needs the same batch size")
        timeout_us = request.timeout() if hasattr(request, "timeout") else 0
        deadline = time.time_ns() + timeout_us * 1000 if timeout_us else 0
        base = request.request_id() or uuid.uuid4().hex
        rows = []
        for i in range(sizes.pop()):
            # The tokenizer's rules, checked here first: a BLS call would turn its INVALID_ARG
            # into INTERNAL, and a bad request should cost nothing.
            self.rules.check_text(cols["text"][i])
            self.rules.check_session_id(cols["session_id"][i])
            self.rules.check_context_type(cols["context_type"][i])
            if conversation is not None:
                self.rules.check_conversation(conversation[i])
            row_generation = {n: v[i:i + 1] for n, v in generation.items()}
            check_generation_inputs(row_generation)
            rows.append(Row(text=cols["text"][i:i + 1], session_id=cols["session_id"][i:i + 1],
                            context_type=cols["context_type"][i:i + 1],
                            generation=row_generation,
                            conversation=None if conversation is None else conversation[i:i + 1],
                            request_id=f"{base}:{i}:{uuid.uuid4().hex[:8]}", deadline_ns=deadline))
        return rows

    def _emitter(self, sender):
        def emit(event: str, outputs: dict) -> None:
            outputs = {**outputs, "stream_event": event}
            self._send(sender, self._tensors(_stack([outputs])))
        return emit

    def _send(self, sender, tensors: list, flags: int = 0) -> None:
        # `tensors` stays referenced until send() returns. Triton 2.51's stub drops the outputs
        # the caller did not request inside send(), with the GIL released; if that dropped the
        # last reference, their numpy arrays would be freed without the GIL and corrupt the
        # heap ("malloc(): unaligned fastbin chunk detected"; python_backend PR 390, fixed in
        # 24.12). Holding them here leaves the last release to this thread, GIL held.
        response = self.pb.InferenceResponse(output_tensors=tensors)
        sender.send(response, flags=flags)

    def _tensors(self, columns: dict) -> list:
        tensors = []
        for name, values in columns.items():
            dtype = self.dtypes[name]
            if dtype == np.object_:
                array = np.array([[v.encode("utf-8") if isinstance(v, str) else bytes(v)]
                                  for v in values], dtype=np.object_)
            else:
                array = np.asarray(values, dtype=dtype).reshape(len(values), -1)
            tensors.append(self.pb.Tensor(name, array))
        return tensors

    # -- cancellation ----------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self.stopping.wait(0.1):  # each is_cancelled() is a round trip to the server
            with self.lock:
                todo = [(k, r) for k, (r, sent) in self.live.items()
                        if not sent and r.is_cancelled()]
                for key, request in todo:
                    self.live[key] = (request, True)
            for key, _ in todo:
                try:
                    self.flow.cancel(key)
                except Exception:  # noqa: BLE001 - the engine may have finished it already
                    log.debug("cancel of a finished request ignored")


def _stack(outputs: list[dict]) -> dict:
    """[{name: value}] per row -> {name: [value per row]} (values: scalars, strings, arrays)."""
    names = outputs[0].keys() if outputs else []
    return {n: [_scalar(o[n]) for o in outputs] for n in names}


def _scalar(value):
    if isinstance(value, np.ndarray):
        flat = value.reshape(-1)
        if flat.dtype == np.object_ and flat.size == 1:
            return flat[0]
        return flat if flat.size > 1 else flat[0]
    return value
