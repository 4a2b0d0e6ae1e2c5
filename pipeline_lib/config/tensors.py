"""Tensor names, dtypes and dims of every model: the one place the ensemble's wiring is written down.

Dims leave out the batch dimension (every model has max_batch_size > 0). The client knows the
ensemble only through ENSEMBLE_INPUTS / ENSEMBLE_OUTPUTS' names, copied in its own module.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tensor:
    name: str
    data_type: str  # Triton DataType enum name
    dims: tuple[int, ...]


ENSEMBLE_INPUTS = (
    Tensor("text", "TYPE_STRING", (1,)),
    Tensor("session_id", "TYPE_STRING", (1,)),
    Tensor("context_type", "TYPE_STRING", (1,)),
)

TOKENIZER_INPUTS = ENSEMBLE_INPUTS
TOKENIZER_OUTPUTS = (
    Tensor("input_ids", "TYPE_INT64", (-1,)),
    Tensor("attention_mask", "TYPE_INT64", (-1,)),
    # Wall clock (ns) when the tokenizer started: scoring turns it into inference_time_ms.
    Tensor("start_ns", "TYPE_INT64", (1,)),
)

LM_INPUTS = (
    Tensor("input_ids", "TYPE_INT64", (-1,)),
    Tensor("attention_mask", "TYPE_INT64", (-1,)),
)
LM_OUTPUTS = (
    Tensor("output_ids", "TYPE_INT64", (-1,)),
    Tensor("output_length", "TYPE_INT64", (1,)),
    Tensor("pooled_hidden", "TYPE_FP32", (-1,)),
)

SCORING_INPUTS = (
    Tensor("output_ids", "TYPE_INT64", (-1,)),
    Tensor("output_length", "TYPE_INT64", (1,)),
    Tensor("text", "TYPE_STRING", (1,)),
    Tensor("context_type", "TYPE_STRING", (1,)),
    Tensor("start_ns", "TYPE_INT64", (1,)),
)
ENSEMBLE_OUTPUTS = (
    Tensor("response_text", "TYPE_STRING", (1,)),
    Tensor("eq_scores", "TYPE_FP32", (5,)),
    Tensor("overall_eq", "TYPE_FP32", (1,)),
    Tensor("safety_score", "TYPE_FP32", (1,)),
    Tensor("bias_score", "TYPE_FP32", (1,)),
    Tensor("persona_mode", "TYPE_STRING", (1,)),
    Tensor("inference_time_ms", "TYPE_FP32", (1,)),
    Tensor("crisis_flag", "TYPE_BOOL", (1,)),
)
SCORING_OUTPUTS = ENSEMBLE_OUTPUTS
