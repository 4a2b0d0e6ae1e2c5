"""OpenAI `messages` -> what PixelClient takes: the latest user message and the earlier turns.

`text` is the last message, which must be the user's (Pixel answers the latest user message);
`conversation` is every message before it, oldest first, as {"role", "content"} with OpenAI's
`developer` role read as `system`. The server puts the persona's system prompt first and keeps
its safety instructions whatever a caller's system message says (docs/gateway.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline_lib.gateway.errors import invalid
from pipeline_lib.gateway.schemas import ChatMessage
from pipeline_lib.serving.visible_text import has_visible_text


@dataclass(frozen=True)
class Turns:
    text: str  # the latest user message
    conversation: tuple[dict[str, str], ...]  # the earlier turns, oldest first

    def __repr__(self) -> str:  # never the text itself in logs
        return f"Turns(text=<{len(self.text)} chars>, conversation=<{len(self.conversation)} turns>)"


def split_messages(messages: list[ChatMessage]) -> Turns:
    last_index = len(messages) - 1
    last = messages[last_index]
    if last.role != "user":
        raise invalid(f"messages[{last_index}].role", "the last message must be the user's "
                      f"(not {last.role!r}): Pixel answers the latest user message")
    if not has_visible_text(last.text):  # the server's rule for `text`, named as the caller sent it
        raise invalid(f"messages[{last_index}].content", "must not be empty or whitespace only "
                      "(it has no visible character)")
    conversation = tuple(
        {"role": "system" if m.role == "developer" else m.role, "content": m.text}
        for m in messages[:last_index]
    )
    return Turns(text=last.text, conversation=conversation)
