"""The earlier turns of a conversation: their shape rules and their wire form (the `conversation`
input, one UTF-8 JSON array, oldest first).

Dependency-free like contract.py: the client checks a conversation before sending it and the
server checks it again (with its configured limits), with the same messages. Every refusal names
the field `conversation` and the item's index; no message quotes what a person wrote.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipeline_lib.contract import CONVERSATION_ROLES
from pipeline_lib.errors import InvalidInputError

FIELD = "conversation"
_KEYS = frozenset(("role", "content"))


@dataclass(frozen=True)
class Turn:
    role: str  # one of CONVERSATION_ROLES
    content: str


@dataclass(frozen=True)
class ConversationLimits:
    max_turns: int
    max_chars: int  # all turns' content together


def _refuse(rule: str) -> InvalidInputError:
    return InvalidInputError(FIELD, rule)


def check_turns(turns: object, limits: ConversationLimits | None = None) -> tuple[Turn, ...]:
    """A sequence of {"role", "content"} mappings (or Turns) -> Turns; refuses a bad one."""
    if isinstance(turns, (str, bytes)) or not isinstance(turns, Sequence):
        raise _refuse("must be a list of {role, content} objects, oldest first")
    if limits is not None and len(turns) > limits.max_turns:
        raise _refuse(f"has {len(turns)} turns; the limit is {limits.max_turns} "
                      "(send the latest turns)")
    out = []
    for i, item in enumerate(turns):
        if isinstance(item, Turn):
            item = {"role": item.role, "content": item.content}
        if not isinstance(item, Mapping):
            raise _refuse(f"item [{i}] must be an object with role and content")
        unknown = sorted(str(k) for k in set(item) - _KEYS)
        if unknown:
            raise _refuse(f"item [{i}] has unknown key(s) {', '.join(unknown)} "
                          "(only role and content)")
        role, content = item.get("role"), item.get("content")
        if role not in CONVERSATION_ROLES:
            raise _refuse(f"item [{i}].role must be one of {', '.join(CONVERSATION_ROLES)}")
        if not isinstance(content, str):
            raise _refuse(f"item [{i}].content must be a string")
        out.append(Turn(role, content))
    if limits is not None:
        chars = sum(len(t.content) for t in out)
        if chars > limits.max_chars:
            raise _refuse(f"has {chars} characters of content; the limit is {limits.max_chars} "
                          "(send the latest turns)")
    return tuple(out)


def parse_conversation(raw: object, limits: ConversationLimits | None = None) -> tuple[Turn, ...]:
    """The `conversation` input (BYTES element or str; empty = no earlier turns) -> Turns."""
    if not isinstance(raw, str):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _refuse(f"is not valid UTF-8 (bad byte at offset {exc.start})") from None
    if not raw.strip():
        return ()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _refuse(f"is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, list):
        raise _refuse("must be a JSON array of {role, content} objects, oldest first")
    return check_turns(value, limits)


def encode_conversation(turns: Sequence[Turn]) -> bytes:
    """Turns -> the `conversation` input's UTF-8 JSON."""
    return json.dumps([{"role": t.role, "content": t.content} for t in turns],
                      ensure_ascii=False).encode("utf-8")


def earlier_user_texts(turns: Sequence[Turn]) -> list[str]:
    """What the crisis assessment weighs besides the latest message: the earlier user turns."""
    return [t.content for t in turns if t.role == "user"]
