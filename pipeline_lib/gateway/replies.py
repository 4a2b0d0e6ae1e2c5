"""The answer objects: chat.completion, chat.completion.chunk and the `pixel` extension field.

The scores travel with the reply in `pixel` (the `openai` SDK keeps unknown fields:
`completion.pixel` or `completion.model_extra["pixel"]`): on the completion, on the final
chunk, and the crisis assessment on the first chunk (with the crisis-line pointer when flagged).
"""

from __future__ import annotations

import json
import time
from typing import Any

from pipeline_lib.client import PixelResult, StreamDelta


def scores(result: PixelResult, *, crisis_pointer: str) -> dict[str, Any]:
    """The `pixel` extension of a finished reply."""
    return {
        "request_id": result.request_id,
        "variant": result.variant,
        "model_name": result.model_name,
        "context_type": result.context_type,
        "eq_scores": result.eq,
        "overall_eq": result.overall_eq,
        "safety_score": result.safety_score,
        "bias_score": result.bias_score,
        "persona_mode": result.persona_mode,
        "reply_persona": result.reply_persona,
        "crisis_flag": result.crisis_flag,
        "crisis_reply_mode": result.crisis_reply_mode,
        "crisis_pointer": crisis_pointer if result.crisis_flag else None,
        "inference_time_ms": result.server_time_ms,
        "latency_ms": result.latency_ms,
        "cache_hit": result.cache_hit,
    }


def assessment(event: StreamDelta, *, crisis_pointer: str) -> dict[str, Any]:
    """The `pixel` extension of the first chunk: the safety-first assessment of the message."""
    return {
        "event": "assessment",
        "crisis_flag": bool(event.crisis_flag),
        "persona_mode": event.persona_mode,
        "reply_persona": event.reply_persona,
        "crisis_pointer": crisis_pointer if event.crisis_flag else None,
    }


def usage(result: PixelResult) -> dict[str, int] | None:
    """OpenAI's usage from the result's token counts; None where the server reports none (the
    run-to-completion ensemble)."""
    if result.usage is None:
        return None
    prompt, completion = result.usage.prompt_tokens, result.usage.completion_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def finish_reason(result: PixelResult) -> str:
    return "length" if result.finish_reason == "length" else "stop"


def completion(result: PixelResult, *, model: str, crisis_pointer: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{result.request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": result.response_text, "refusal": None},
            "finish_reason": finish_reason(result),
            "logprobs": None,
        }],
        "usage": usage(result),
        "system_fingerprint": None,
        "pixel": scores(result, crisis_pointer=crisis_pointer),
    }


class ChunkWriter:
    """SSE lines of one stream: `data: {chunk}\\n\\n` ... `data: [DONE]\\n\\n`."""

    def __init__(self, *, request_id: str, model: str):
        self.id = f"chatcmpl-{request_id}"
        self.model = model
        self.created = int(time.time())
        self.started = False  # True once a chunk was written


    def chunk(self, delta: dict[str, Any], *, finish: str | None = None,
              pixel: dict[str, Any] | None = None, usage: Any = None,
              choices: bool = True) -> bytes:
        body: dict[str, Any] = {
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                         "logprobs": None}] if choices else [],
        }
        if usage is not None or not choices:
            body["usage"] = usage
        if pixel is not None:
            body["pixel"] = pixel
        self.started = True
        return sse(body)

    @staticmethod
    def done() -> bytes:
        return b"data: [DONE]\n\n"


def sse(body: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(body, ensure_ascii=False).encode("utf-8") + b"\n\n"
