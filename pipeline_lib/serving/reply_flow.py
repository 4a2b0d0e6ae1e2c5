"""One message through the engine's pipeline, safety first, as BLS calls between Triton models.

Order: tokenize the requested persona (validates every field), assess the user's message with
the earlier user turns of its conversation (`scoring`, nothing generated yet), switch to the
crisis persona when flagged and put the crisis pointer first, generate on the engine
(`pixel_lm`, streamed), check the reply, score it once.
`emit(event, outputs)` receives "assessment" and "delta" events as they happen; `run` returns the
final outputs. Both orchestrators (`pixel` unary, `pixel_stream` streaming) run this.

Why BLS and not an ensemble: on Triton 2.51 an ensemble holding a decoupled model is decoupled
itself (no HTTP, no unary gRPC) and refuses a step fed by the decoupled LM and by other steps, so
scoring could not see the user's text; see docs/engine.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipeline_lib.contract import CRISIS_REPLY_MODES, is_stub_down
from pipeline_lib.engine.types import check_options
from pipeline_lib.errors import PixelError
from pipeline_lib.scoring.response_cues import encourages_self_harm
from pipeline_lib.serving.text_release import DeltaReleaser
from pipeline_lib.serving.triton_glue import release_later

CRISIS_CONTEXT = "crisis_support"
SCORE_OUTPUTS = ("eq_scores", "overall_eq", "safety_score", "bias_score", "persona_mode",
                 "crisis_flag", "user_risk")


class FlowError(PixelError):
    """A step failed; `code` is the TritonError code to answer with."""

    def __init__(self, message: str, code: str = "INTERNAL"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class FlowSettings:
    tokenizer_model: str
    lm_model: str
    scoring_model: str
    default_context_type: str  # what an empty context_type means
    crisis_pointer: str
    crisis_reply_mode: str  # one of CRISIS_REPLY_MODES
    crisis_reply_text: str  # the reviewed reply a flagged message gets in the configured modes
    max_new_tokens: int  # per-variant defaults; a request may set its own
    temperature: float
    top_p: float
    seed: int
    hold_tokens: int = 32

    @classmethod
    def from_dict(cls, d: dict) -> FlowSettings:
        settings = cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})
        if settings.crisis_reply_mode not in CRISIS_REPLY_MODES:
            raise PixelError(f"crisis_reply_mode: {settings.crisis_reply_mode!r} is not one of "
                             f"{', '.join(CRISIS_REPLY_MODES)}")
        return settings


@dataclass
class Row:
    text: np.ndarray  # BYTES [1], passed on untouched
    session_id: np.ndarray
    context_type: np.ndarray
    generation: dict[str, np.ndarray]  # optional max_new_tokens/temperature/top_p/seed, [1] each
    request_id: str
    deadline_ns: int  # 0: none
    conversation: np.ndarray | None = None  # BYTES [1]: the earlier turns' JSON (checked)

    def with_conversation(self, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return tensors if self.conversation is None else {**tensors,
                                                          "conversation": self.conversation}


class ReplyFlow:
    def __init__(self, pb_utils, settings: FlowSettings):
        self.pb = pb_utils
        self.s = settings

    # -- BLS helpers ---------------------------------------------------------------------------
    def _tensor(self, name: str, value: np.ndarray):
        return self.pb.Tensor(name, np.ascontiguousarray(value))

    def _check(self, response, model: str):
        if response.has_error():
            error = response.error()
            code = {self.pb.TritonError.INVALID_ARG: "INVALID_ARG",
                    self.pb.TritonError.UNAVAILABLE: "UNAVAILABLE",
                    self.pb.TritonError.CANCELLED: "CANCELLED"}.get(error.code(), "INTERNAL")
            message = error.message()
            if code == "INTERNAL" and message.startswith("overloaded:"):
                code = "UNAVAILABLE"  # a BLS error loses its code on 2.51; the engine's words stay
            elif code == "INTERNAL" and is_stub_down(message):
                # The model's stub died and is being healed: retryable, not the caller's fault.
                code, message = "UNAVAILABLE", f"{model} is restarting ({message}); retry"
            # A refusal names the caller's field as the model said it; the rest names the model.
            raise FlowError(message if code != "INTERNAL" else f"{model}: {message}", code)
        return response

    def _call(self, model: str, tensors: dict[str, np.ndarray], outputs: list[str]) -> dict:
        request = self.pb.InferenceRequest(
            model_name=model, inputs=[self._tensor(k, v.reshape(1, -1))  # batch of one row
                                      for k, v in tensors.items()],
            requested_output_names=outputs)
        response = self._check(request.exec(), model)
        return {n: self.pb.get_output_tensor_by_name(response, n).as_numpy() for n in outputs}

    def cancel(self, request_id: str) -> None:
        """Ask the engine to drop `request_id` (BLS cannot cancel a decoupled call on 2.51)."""
        request = self.pb.InferenceRequest(
            model_name=self.s.lm_model, request_id=request_id,
            inputs=[self._tensor("input_ids", np.zeros(1, np.int64)),
                    self._tensor("cancel", np.array([True]))],
            requested_output_names=["finish_reason"])
        responses = request.exec(decoupled=True)
        for _ in responses:
            pass
        release_later(responses)

    # -- the flow --------------------------------------------------------------------------------
    def tokenize(self, row: Row, context_type: np.ndarray) -> tuple[np.ndarray, int]:
        out = self._call(self.s.tokenizer_model, row.with_conversation(
                         {"text": row.text, "session_id": row.session_id,
                          "context_type": context_type}),
                         ["input_ids", "attention_mask", "prefix_length"])
        ids = out["input_ids"].reshape(-1)[out["attention_mask"].reshape(-1) != 0]
        return ids.astype(np.int64), int(out["prefix_length"].reshape(-1)[0])

    def run(self, row: Row, emit: Callable[[str, dict], None], *, streaming: bool = True) -> dict:
        """`streaming`: whether the caller reads deltas as they come (else the engine answers
        once, with the whole reply: no per-token round trips)."""
        start_ns = time.time_ns()
        prompt, prefix = self.tokenize(row, row.context_type)  # refuses bad fields first
        assessed = self._call(self.s.scoring_model, row.with_conversation(
                              {"text": row.text, "context_type": row.context_type}),
                              ["crisis_flag", "user_risk", "persona_mode"])
        flagged = bool(assessed["crisis_flag"].reshape(-1)[0])
        requested = row.context_type.reshape(-1)[0]
        persona = ((requested.decode() if isinstance(requested, bytes) else str(requested)).strip()
                   or self.s.default_context_type)
        mode = self.s.crisis_reply_mode if flagged else "none"
        parts: list[str] = []
        if flagged:
            persona = CRISIS_CONTEXT
            if persona.encode() != requested:
                prompt, prefix = self.tokenize(row, np.array([CRISIS_CONTEXT.encode()],
                                                             dtype=np.object_))
            parts.append(self.s.crisis_pointer.strip())
            if mode != "generated":
                parts.append(self.s.crisis_reply_text.strip())
        opening = "\n\n".join(parts)
        emit("assessment", {"crisis_flag": flagged, "persona_mode": assessed["persona_mode"],
                            "reply_persona": persona, "text_delta": opening})
        generated, finish = "", "stop"
        usage = (len(prompt), 0, 0)  # nothing generated (the configured crisis reply)
        if mode != "configured":
            # Streamed as it comes, unless the reply must pass the safety check first.
            live = mode in ("none", "generated")
            separator = "\n\n" if opening else ""

            def on_delta(delta: str) -> None:
                nonlocal separator
                if live and delta:
                    emit("delta", {"text_delta": separator + delta})
                    separator = ""

            generated, finish, usage = self.generate(row, prompt, prefix, on_delta,
                                                     stream=live and streaming)
            if flagged and encourages_self_harm(generated):
                generated = ""  # never sent: the configured reply (or pointer) stands
            elif not live and generated:
                emit("delta", {"text_delta": separator + generated})
        reply = "\n\n".join(p for p in (opening, generated) if p)
        scored_text = generated or (self.s.crisis_reply_text if flagged else "")
        scores = self._call(self.s.scoring_model, {
            "text": row.text, "context_type": np.array([persona.encode()], dtype=np.object_),
            "reply_text": np.array([scored_text.encode("utf-8")], dtype=np.object_),
            "user_risk": assessed["user_risk"].reshape(1).astype(np.float32),
            "user_flag": np.array([flagged])}, list(SCORE_OUTPUTS))
        return {
            **{k: scores[k].reshape(-1) for k in SCORE_OUTPUTS if k != "user_risk"},
            "crisis_flag": np.array([flagged or bool(scores["crisis_flag"].reshape(-1)[0])]),
            "response_text": reply,
            "inference_time_ms": (time.time_ns() - start_ns) / 1e6,
            "reply_persona": persona,
            "crisis_reply_mode": mode,
            "finish_reason": finish,
            "usage": np.array(usage, dtype=np.int64),  # contract.USAGE_FIELDS
        }

    def generate(self, row: Row, prompt: np.ndarray, prefix: int, on_delta: Callable[[str], None],
                 *, stream: bool = True) -> tuple[str, str, tuple[int, int, int]]:
        """Run the engine; stream released text through on_delta; -> (reply, finish reason,
        (prompt, completion, prefix tokens))."""
        settings = {"max_new_tokens": np.array([self.s.max_new_tokens], np.int32),
                    "temperature": np.array([self.s.temperature], np.float32),
                    "top_p": np.array([self.s.top_p], np.float32),
                    "seed": np.array([self.s.seed], np.int64)}
        settings.update({k: v.reshape(1) for k, v in row.generation.items()})
        releaser = DeltaReleaser(max_new_tokens=int(settings["max_new_tokens"][0]),
                                 hold_tokens=self.s.hold_tokens)
        inputs = {"input_ids": prompt, "prefix_length": np.array([prefix], np.int64),
                  "deadline_ns": np.array([row.deadline_ns], np.int64),
                  "stream": np.array([stream]), **settings}
        request = self.pb.InferenceRequest(
            model_name=self.s.lm_model, request_id=row.request_id,
            inputs=[self._tensor(k, v) for k, v in inputs.items()],
            requested_output_names=["token_ids", "text_delta", "finish_reason", "usage"])
        responses = request.exec(decoupled=True)
        try:
            finish, usage = self._read_stream(responses, releaser, on_delta,
                                              usage=(len(prompt), 0, prefix))
        finally:
            release_later(responses)
        if finish == "error":
            raise FlowError(f"{self.s.lm_model}: generation failed")
        on_delta(releaser.finish(finish))
        return releaser.final_text, finish or "stop", usage

    def _read_stream(self, responses, releaser: DeltaReleaser, on_delta: Callable[[str], None],
                     *, usage: tuple[int, int, int]) -> tuple[str, tuple[int, int, int]]:
        """The engine's responses -> released text; -> (finish reason, usage)."""
        finish = ""
        for response in responses:
            self._check(response, self.s.lm_model)
            names = {t.name() for t in response.output_tensors()}
            if "text_delta" not in names:
                continue  # the empty closing response
            delta = self.pb.get_output_tensor_by_name(response, "text_delta").as_numpy()
            n = len(self.pb.get_output_tensor_by_name(response, "token_ids").as_numpy())
            reason = self.pb.get_output_tensor_by_name(response, "finish_reason").as_numpy()
            on_delta(releaser.push(delta.reshape(-1)[0].decode("utf-8"), n))
            ended = reason.reshape(-1)[0].decode()
            finish = ended or finish
            if ended:  # read once, on the final response: every tensor read is stub work
                # The engine's order: prompt tokens, of which the prefix, generated tokens.
                counts = self.pb.get_output_tensor_by_name(response, "usage").as_numpy()
                prompt_n, prefix_n, generated_n = (int(x) for x in counts.reshape(-1)[:3])
                usage = (prompt_n, generated_n, prefix_n)
        return finish, usage


def check_generation_inputs(generation: dict[str, np.ndarray]) -> None:
    """Refuse optional generation settings out of range before any work starts (the engine's
    own rules, so the two cannot disagree)."""
    check_options(**{name: value.reshape(-1)[0].item() for name, value in generation.items()
                     if name in ("max_new_tokens", "temperature", "top_p", "seed")})
