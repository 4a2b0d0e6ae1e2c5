"""What one call returns: every ensemble output decoded, plus who served it and how fast."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from pipeline_lib.contract import (  # noqa: F401 - re-exported for the client's users
    CONTEXT_TYPES,
    ENSEMBLE_INPUTS,
    ENSEMBLE_OUTPUTS,
    EQ_DIMENSIONS,
    REPLY_PROVENANCE_OUTPUTS,
    USAGE,
    USAGE_FIELDS,
)

# The client knows the server only through these names (pipeline_lib.contract).
INPUT_NAMES = tuple(t.name for t in ENSEMBLE_INPUTS)
OUTPUT_NAMES = tuple(t.name for t in ENSEMBLE_OUTPUTS)
# Optional outputs of the engine's models (`pixel`, `pixel_stream`): which persona's prompt wrote
# the reply, what a flagged message got, why generation stopped. The run-to-completion ensemble
# has none of them, so they decode to None there.
PROVENANCE_NAMES = tuple(t.name for t in REPLY_PROVENANCE_OUTPUTS)
# Every optional output the client reads (token counts: engine models only, else None).
OPTIONAL_NAMES = PROVENANCE_NAMES + (USAGE.name,)


class Usage(NamedTuple):
    """Token counts of one reply (contract.USAGE_FIELDS)."""

    prompt_tokens: int
    completion_tokens: int
    prefix_tokens: int  # leading prompt tokens of the persona's shared, prefix-cached part


assert Usage._fields == USAGE_FIELDS  # noqa: S101 - the contract's order, checked at import


@dataclass(frozen=True)
class ModelOutputs:
    """The ensemble's outputs for one request, decoded to Python types (what the cache stores)."""

    response_text: str
    eq_scores: tuple[float, ...]
    overall_eq: float
    safety_score: float
    bias_score: float
    persona_mode: str
    crisis_flag: bool
    server_time_ms: float
    reply_persona: str | None = None
    crisis_reply_mode: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None

    @classmethod
    def from_tensors(cls, tensors: Mapping[str, np.ndarray]) -> ModelOutputs:
        """Decode one row (batch index 0) of the output tensors; absent provenance is None."""

        def first(name: str) -> Any:
            return np.asarray(tensors[name]).reshape(-1)[0]

        def text(name: str) -> str:
            return decode_text(first(name))

        def optional(name: str) -> str | None:
            return text(name) if tensors.get(name) is not None else None

        return cls(
            response_text=text("response_text"),
            eq_scores=tuple(float(x) for x in np.asarray(tensors["eq_scores"]).reshape(-1)),
            overall_eq=float(first("overall_eq")),
            safety_score=float(first("safety_score")),
            bias_score=float(first("bias_score")),
            persona_mode=text("persona_mode"),
            crisis_flag=bool(first("crisis_flag")),
            server_time_ms=float(first("inference_time_ms")),
            **{name: optional(name) for name in PROVENANCE_NAMES},
            usage=(None if tensors.get(USAGE.name) is None else
                   Usage(*(int(x) for x in np.asarray(tensors[USAGE.name]).reshape(-1)[:3]))),
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelOutputs:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["eq_scores"] = tuple(float(x) for x in values["eq_scores"])
        if values.get("usage") is not None:
            values["usage"] = Usage(*values["usage"])
        return cls(**values)


@dataclass(frozen=True)
class PixelResult:
    """One answer from Pixel. Holds no user text: safe to log or print in full."""

    request_id: str
    variant: str
    model_name: str
    model_version: str
    context_type: str
    response_text: str
    eq_scores: tuple[float, ...]
    overall_eq: float
    safety_score: float
    bias_score: float
    persona_mode: str
    crisis_flag: bool
    server_time_ms: float  # inference_time_ms as the ensemble measured it
    latency_ms: float  # client-side, from call to decoded result, retries included
    cache_hit: bool
    attempts: int  # server calls made (0 on a cache hit)
    reply_persona: str | None = None  # context type whose prompt wrote the reply (engine only)
    crisis_reply_mode: str | None = None  # none/generated/configured/configured_then_generated
    finish_reason: str | None = None  # stop / length (engine only)
    usage: Usage | None = None  # prompt/completion/prefix tokens (engine only)

    @classmethod
    def from_outputs(cls, outputs: ModelOutputs, **call: Any) -> PixelResult:
        """`call`: request_id, variant, model_name, model_version, context_type, latency_ms,
        cache_hit, attempts."""
        # Field by field, not dataclasses.asdict: that deep-copies every value (the eq tuple,
        # the Usage tuple) on each call, for fields that are immutable anyway.
        values = {name: getattr(outputs, name) for name in _OUTPUT_FIELDS}
        return cls(**values, **call)

    @property
    def eq(self) -> dict[str, float]:
        """eq_scores by dimension name."""
        return dict(zip(EQ_DIMENSIONS, self.eq_scores, strict=True))

    @property
    def outputs(self) -> ModelOutputs:
        return ModelOutputs(
            response_text=self.response_text,
            eq_scores=self.eq_scores,
            overall_eq=self.overall_eq,
            safety_score=self.safety_score,
            bias_score=self.bias_score,
            persona_mode=self.persona_mode,
            crisis_flag=self.crisis_flag,
            server_time_ms=self.server_time_ms,
            reply_persona=self.reply_persona,
            crisis_reply_mode=self.crisis_reply_mode,
            finish_reason=self.finish_reason,
            usage=self.usage,
        )

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["eq_scores"] = list(self.eq_scores)
        data["eq"] = self.eq
        data["usage"] = None if self.usage is None else self.usage._asdict()
        return data


_OUTPUT_FIELDS = tuple(f.name for f in dataclasses.fields(ModelOutputs))


def decode_text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def encode_inputs(
    *, text: str, session_id: str, context_type: str,
    generation: Mapping[str, np.ndarray] | None = None,
    conversation: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """One request as the ensemble expects it: BYTES tensors of shape [1, 1] (batch dim first),
    plus the optional generation and conversation tensors (see request.py)."""
    values = {"text": text, "session_id": session_id, "context_type": context_type}
    inputs = {
        name: np.array([[values[name].encode("utf-8")]], dtype=np.object_) for name in INPUT_NAMES
    }
    inputs.update(generation or {})
    inputs.update(conversation or {})
    return inputs
