"""The request body of POST /v1/chat/completions (OpenAI's shape) and how it is checked.

What Pixel cannot honour is refused with a 400 naming the field, never ignored: `n` > 1, tools
and functions, logit_bias, logprobs, a response_format other than text, stop sequences,
penalties. A field OpenAI does not define is refused too (a typo must not pass silently).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline_lib.gateway.errors import GatewayError, invalid

# Roles the caller may use; `developer` is OpenAI's newer name for `system`.
ROLES = ("system", "developer", "user", "assistant")


class TextPart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]
    name: str | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    seed: int | None = None
    user: str | None = Field(default=None, min_length=1, max_length=128)
    metadata: dict[str, str] | None = None  # accepted, not used

    @property
    def max_new_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


def _is_default(value: Any, *defaults: Any) -> bool:
    return value is None or any(value == d for d in defaults)


# Known OpenAI fields Pixel cannot honour: field -> (is this value harmless?, why refused).
UNSUPPORTED = {
    "n": (lambda v: _is_default(v, 1), "only n=1 is supported (one reply per request)"),
    "tools": (lambda v: _is_default(v, []), "tool calls are not supported by Pixel"),
    "tool_choice": (lambda v: _is_default(v, "none"), "tool calls are not supported by Pixel"),
    "parallel_tool_calls": (lambda v: v is None, "tool calls are not supported by Pixel"),
    "functions": (lambda v: _is_default(v, []), "function calls are not supported by Pixel"),
    "function_call": (lambda v: _is_default(v, "none"),
                      "function calls are not supported by Pixel"),
    "logit_bias": (lambda v: _is_default(v, {}), "logit_bias is not supported by Pixel"),
    "logprobs": (lambda v: _is_default(v, False), "logprobs are not returned by Pixel"),
    "top_logprobs": (lambda v: _is_default(v, 0), "logprobs are not returned by Pixel"),
    "response_format": (lambda v: _is_default(v, {"type": "text"}),
                        "only the text response format is supported"),
    "stop": (lambda v: _is_default(v, [], ""), "stop sequences are not supported by Pixel"),
    "presence_penalty": (lambda v: _is_default(v, 0, 0.0), "penalties are not supported"),
    "frequency_penalty": (lambda v: _is_default(v, 0, 0.0), "penalties are not supported"),
    "store": (lambda v: _is_default(v, False), "Pixel records outcomes in its own store"),
    "audio": (lambda v: v is None, "audio output is not supported by Pixel"),
    "modalities": (lambda v: _is_default(v, ["text"]), "only text is supported"),
    "prediction": (lambda v: v is None, "predicted outputs are not supported by Pixel"),
    "reasoning_effort": (lambda v: v is None, "reasoning effort is not supported by Pixel"),
    "service_tier": (lambda v: _is_default(v, "auto", "default"),
                     "service tiers are not supported by Pixel"),
    "web_search_options": (lambda v: v is None, "web search is not supported by Pixel"),
}


def _param(loc: tuple) -> str:
    """pydantic's location -> OpenAI's param: ('messages', 2, 'role') -> 'messages[2].role'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("str", "list[TextPart]"):  # union branch names are not fields
            out += f".{part}" if out else str(part)
    return out or "body"


def parse_request(body: bytes) -> ChatCompletionRequest:
    """The checked request, or a GatewayError (400) naming the first field that is wrong."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GatewayError(400, f"body: not valid JSON ({type(exc).__name__} at position "
                                f"{getattr(exc, 'pos', getattr(exc, 'start', '?'))})",
                           param="body", code="invalid_json") from None
    if not isinstance(data, dict):
        raise invalid("body", "must be a JSON object")
    try:
        request = ChatCompletionRequest.model_validate(data)
    except ValidationError as exc:
        # One error, the deepest (in a union, the branch that got furthest), and pydantic's rule
        # without the offending value (user text).
        first = max(exc.errors(include_input=False, include_url=False),
                    key=lambda error: len(error["loc"]))
        raise invalid(_param(first["loc"]), first["msg"]) from None
    for name, value in (request.model_extra or {}).items():
        if name not in UNSUPPORTED:
            raise GatewayError(400, f"{name}: unknown field (not part of the chat completions "
                                    "API)", param=name, code="unknown_parameter")
        harmless, why = UNSUPPORTED[name]
        if not harmless(value):
            raise GatewayError(400, f"{name}: {why}", param=name, code="unsupported_parameter")
    if (request.max_tokens and request.max_completion_tokens
            and request.max_tokens != request.max_completion_tokens):
        raise invalid("max_tokens", "differs from max_completion_tokens; send one of them")
    return request
