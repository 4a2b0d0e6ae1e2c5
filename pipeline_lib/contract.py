"""The names every part shares, defined once: tensors, EQ dimensions, context types, outcome fields.

Dependency-free on purpose: the Triton models, the config renderer, the client and the store all
import it, and the client still knows the server only through these names. Tensor dims leave out
the batch dimension where a model has max_batch_size > 0 (all but the engine's `pixel_lm`).
"""

from __future__ import annotations

from dataclasses import dataclass


# Goleman's five EQ dimensions, in the order of `eq_scores`.
EQ_DIMENSIONS = ("self_awareness", "self_regulation", "motivation", "empathy", "social_skill")
# Each has its own system prompt (configs/tokenizer); an empty context_type means the first.
CONTEXT_TYPES = ("general_support", "crisis_support", "therapy_session", "psychoeducation")
# What a message flagged as crisis gets after the crisis pointer (configs/scoring).
CRISIS_REPLY_MODES = ("generated", "configured", "configured_then_generated")
# Who may speak in the earlier turns of a conversation (the `conversation` input): a `system`
# turn only adds application context after the persona's safety instructions (docs/engine.md).
CONVERSATION_ROLES = ("user", "assistant", "system")
# Fields of a recorded outcome beyond the request's own (pipeline_lib.store.records.OutcomeRecord).
OUTCOME_FIELDS = ("response_text", "eq_scores", "overall_eq", "safety_score", "bias_score",
                  "persona_mode", "crisis_flag", "server_time_ms", "latency_ms", "cache_hit",
                  "error_kind", "reply_persona", "crisis_reply_mode", "finish_reason")


@dataclass(frozen=True)
class Tensor:
    name: str
    data_type: str  # Triton DataType enum name
    dims: tuple[int, ...]
    optional: bool = False  # an input a caller may leave out (config.pbtxt `optional: true`)


ENSEMBLE_INPUTS = (
    Tensor("text", "TYPE_STRING", (1,)),
    Tensor("session_id", "TYPE_STRING", (1,)),
    Tensor("context_type", "TYPE_STRING", (1,)),
)

# The earlier turns of a conversation, oldest first: one UTF-8 JSON array of {"role", "content"}
# (pipeline_lib.conversation_turns). `text` stays the latest user message; leaving this out is a
# single-turn call. The engine's orchestrators and the tokenizer take it (not the
# run-to-completion ensemble); scoring takes it for the assessment (earlier user turns).
CONVERSATION = Tensor("conversation", "TYPE_STRING", (1,), optional=True)

TOKENIZER_INPUTS = ENSEMBLE_INPUTS + (CONVERSATION,)
TOKENIZER_OUTPUTS = (
    Tensor("input_ids", "TYPE_INT64", (-1,)),
    Tensor("attention_mask", "TYPE_INT64", (-1,)),
    # Wall clock (ns) when the tokenizer started: scoring turns it into inference_time_ms.
    Tensor("start_ns", "TYPE_INT64", (1,)),
    # Leading prompt tokens that are the context type's system prompt + template: the engine
    # computes their KV once per context type (prefix cache).
    Tensor("prefix_length", "TYPE_INT64", (1,)),
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

# Scoring has two uses. The run-to-completion ensemble sends the generated ids (scoring decodes
# them). The engine's orchestrators first send only text + context_type (the safety-first
# assessment of the user's message), then the finished `reply_text` with that assessment.
SCORING_INPUTS = (
    Tensor("text", "TYPE_STRING", (1,)),
    Tensor("context_type", "TYPE_STRING", (1,)),
    Tensor("output_ids", "TYPE_INT64", (-1,), optional=True),
    Tensor("output_length", "TYPE_INT64", (1,), optional=True),
    Tensor("start_ns", "TYPE_INT64", (1,), optional=True),
    Tensor("reply_text", "TYPE_STRING", (1,), optional=True),
    Tensor("user_risk", "TYPE_FP32", (1,), optional=True),
    Tensor("user_flag", "TYPE_BOOL", (1,), optional=True),
    CONVERSATION,
)
ENSEMBLE_SCORING_INPUTS = SCORING_INPUTS[:5]
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
# The crisis probability of the user's message (the assessment's answer, reused for the reply).
SCORING_OUTPUTS = ENSEMBLE_OUTPUTS + (Tensor("user_risk", "TYPE_FP32", (1,)),)

# The engine (decoupled `pixel_lm`, max_batch_size 0: one prompt per request, unpadded).
ENGINE_INPUTS = (
    Tensor("input_ids", "TYPE_INT64", (-1,)),
    Tensor("prefix_length", "TYPE_INT64", (1,), optional=True),
    Tensor("max_new_tokens", "TYPE_INT32", (1,), optional=True),
    Tensor("temperature", "TYPE_FP32", (1,), optional=True),
    Tensor("top_p", "TYPE_FP32", (1,), optional=True),
    Tensor("seed", "TYPE_INT64", (1,), optional=True),
    # Absolute wall clock (ns) after which nobody waits for the reply: refused or dropped.
    Tensor("deadline_ns", "TYPE_INT64", (1,), optional=True),
    # A control request: stop the in-flight request whose request id this request carries.
    Tensor("cancel", "TYPE_BOOL", (1,), optional=True),
    # False: one (final) response with every token, for a caller that does not stream (each
    # response is a round trip through the server; default true, one per token).
    Tensor("stream", "TYPE_BOOL", (1,), optional=True),
)
ENGINE_OUTPUTS = (
    Tensor("token_ids", "TYPE_INT64", (-1,)),  # tokens of this response (usually one)
    Tensor("text_delta", "TYPE_STRING", (1,)),  # text they completed (whole UTF-8 characters)
    Tensor("finish_reason", "TYPE_STRING", (1,)),  # "" while running; stop/length/cancelled/...
    Tensor("response_text", "TYPE_STRING", (1,)),  # the whole reply, on the final response
    # prompt tokens, of which served from the prefix cache, generated tokens (final response)
    Tensor("usage", "TYPE_INT64", (3,)),
)

# What the engine's orchestrators (`pixel` unary, `pixel_stream` streaming) take beyond the
# ensemble's inputs, and what they return beyond its outputs.
GENERATION_INPUTS = ENGINE_INPUTS[2:6]
ORCHESTRATOR_INPUTS = ENSEMBLE_INPUTS + tuple(
    Tensor(t.name, t.data_type, t.dims, optional=True) for t in GENERATION_INPUTS) + (CONVERSATION,)
REPLY_PROVENANCE_OUTPUTS = (
    Tensor("reply_persona", "TYPE_STRING", (1,)),  # context type whose prompt wrote the reply
    Tensor("crisis_reply_mode", "TYPE_STRING", (1,)),  # none/generated/configured/configured_then_generated
    Tensor("finish_reason", "TYPE_STRING", (1,)),
)
# Token counts of a reply (the engine's usage, reordered): USAGE_FIELDS. prefix_tokens are the
# leading prompt tokens of the persona's shared prefix (system prompt + template), which the
# engine serves from its prefix cache once it holds them; 0 when nothing was generated.
USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "prefix_tokens")
USAGE = Tensor("usage", "TYPE_INT64", (3,))
ORCHESTRATOR_OUTPUTS = ENSEMBLE_OUTPUTS + REPLY_PROVENANCE_OUTPUTS + (USAGE,)
# Every streamed response carries `stream_event`: "assessment" (crisis_flag, persona_mode,
# reply_persona and, when flagged, the crisis pointer as text_delta), "delta" (text_delta) or
# "final" (every ORCHESTRATOR_OUTPUTS tensor).
STREAM_OUTPUTS = ORCHESTRATOR_OUTPUTS + (
    Tensor("stream_event", "TYPE_STRING", (1,)),
    Tensor("text_delta", "TYPE_STRING", (1,)),
)

# How Triton 2.51 words a request that reached a model whose Python stub died (python_be.cc):
# "Stub process '<instance>' is not healthy."; while the supervisor reloads that model:
# "Model '<name>' is not ready." Both sides read either as "restarting, retry": the orchestrators
# answer UNAVAILABLE, the client retries even when Triton itself said INTERNAL.
STUB_DOWN_MARKERS = (("Stub process", "is not healthy"), ("Model '", "is not ready"))


def is_stub_down(message: str) -> bool:
    return any(all(part in message for part in marker) for marker in STUB_DOWN_MARKERS)


# The admin key that opens Triton's restricted APIs (model control, config, statistics, ...):
# `pixel serve` and the container read it from this variable (a random one per start when unset).
ADMIN_KEY_ENV = "TRITON_ADMIN_KEY"


def admin_headers(key: str, *, protocol: str = "http") -> dict[str, str]:
    """The header that carries the admin key. Triton's gRPC frontend reads the metadata key with
    its own prefix (checked on 2.51: it asks for 'triton-grpc-protocol-admin-key')."""
    return {("admin-key" if protocol == "http" else "triton-grpc-protocol-admin-key"): key}
