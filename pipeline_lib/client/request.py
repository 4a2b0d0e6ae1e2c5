"""What a caller may send: type checks of the fields, the earlier turns of a conversation, and
the optional generation options.

The client checks types and the conversation's shape only; the server owns the content rules
(an empty text, an unknown context type, a temperature out of range, the conversation's size
limits) and names the field it refuses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from pipeline_lib.client.errors import InvalidRequestError
from pipeline_lib.conversation_turns import Turn, check_turns, encode_conversation
from pipeline_lib.errors import InvalidInputError

_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1


def check_request(text: object, session_id: object, context_type: object) -> None:
    for field, value in (("text", text), ("session_id", session_id),
                         ("context_type", context_type)):
        if not isinstance(value, str):
            raise InvalidRequestError(field, f"must be a str, not {type(value).__name__}")
    if not session_id:
        raise InvalidRequestError("session_id", "must not be empty (it picks the A/B variant)")


def conversation_tensors(conversation: object) -> dict[str, np.ndarray]:
    """The earlier turns ({"role", "content"} mappings, oldest first; None = a single-turn call)
    as the server's optional `conversation` input, shape [1, 1]; a bad one is refused here with
    the server's message."""
    if conversation is None:
        return {}
    try:
        turns: tuple[Turn, ...] = check_turns(conversation)
    except InvalidInputError as exc:
        raise InvalidRequestError(exc.field, exc.rule) from None
    return {"conversation": np.array([[encode_conversation(turns)]], dtype=np.object_)}


@dataclass(frozen=True)
class GenerationOptions:
    """Per-request overrides of the server's generation defaults; None = the server's default.

    Only the engine's models take them (optional inputs of `pixel` / `pixel_stream`); the
    run-to-completion ensemble refuses a request that carries any.
    """

    max_new_tokens: int | None = None
    temperature: float | None = None  # 0 = greedy
    top_p: float | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        for name, limit in (("max_new_tokens", _INT32_MAX), ("seed", _INT64_MAX)):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise InvalidRequestError(name, f"must be an int, not {type(value).__name__}")
            if not -limit - 1 <= value <= limit:
                raise InvalidRequestError(name, f"must fit in {limit.bit_length() + 1} bits")
        for name in ("temperature", "top_p"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
                raise InvalidRequestError(name, f"must be a number, not {type(value).__name__}")
            if not math.isfinite(value):
                raise InvalidRequestError(name, "must be a finite number")

    @property
    def is_set(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))

    def tensors(self) -> dict[str, np.ndarray]:
        """The options that are set, as the server's optional inputs: shape [1, 1]."""
        dtypes = {"max_new_tokens": np.int32, "temperature": np.float32, "top_p": np.float32,
                  "seed": np.int64}
        return {name: np.array([[value]], dtype=dtype) for name, dtype in dtypes.items()
                if (value := getattr(self, name)) is not None}
