"""The events of a `<model>_stream` response stream, decoded.

Every response carries `stream_event`: "assessment" first (the crisis assessment of the user's
message, the persona, and as `text_delta` the crisis pointer when flagged), then "delta"s of reply
text, then exactly one "final" with every output of the unary model. The text of all events
joined (the assessment's included) is the final `response_text`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from pipeline_lib.client.errors import InferenceFailedError
from pipeline_lib.client.result import ModelOutputs, decode_text

EVENTS = ("assessment", "delta", "final")


@dataclass(frozen=True)
class StreamDelta:
    """A piece of the reply as it arrives. The first one of a stream is the assessment: it
    carries crisis_flag, persona_mode and reply_persona (None on the deltas after it)."""

    text: str
    event: str = "delta"  # "assessment" or "delta"
    crisis_flag: bool | None = None
    persona_mode: str | None = None
    reply_persona: str | None = None

    @property
    def is_assessment(self) -> bool:
        return self.event == "assessment"

    def __repr__(self) -> str:  # reply text is not user text, but keep reprs short in logs
        return (f"StreamDelta(event={self.event!r}, text=<{len(self.text)} chars>, "
                f"crisis_flag={self.crisis_flag!r}, reply_persona={self.reply_persona!r})")


def decode_event(tensors: Mapping[str, np.ndarray], *, url: str) -> StreamDelta | ModelOutputs:
    """One streamed response: a StreamDelta, or the final ModelOutputs."""

    def value(name: str):
        array = tensors.get(name)
        return None if array is None else np.asarray(array).reshape(-1)[0]

    def text(name: str) -> str | None:
        raw = value(name)
        return None if raw is None else decode_text(raw)

    event = text("stream_event")
    if event not in EVENTS:
        raise InferenceFailedError(url, f"unknown stream_event {event!r} (expected one of "
                                        f"{', '.join(EVENTS)}); is this client older than "
                                        "the server?")
    try:
        if event == "final":
            return ModelOutputs.from_tensors(tensors)
        flag = value("crisis_flag")
        return StreamDelta(
            text=text("text_delta") or "", event=event,
            crisis_flag=None if flag is None else bool(flag),
            persona_mode=text("persona_mode"), reply_persona=text("reply_persona"),
        )
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise InferenceFailedError(url, f"undecodable {event} response "
                                        f"({type(exc).__name__})") from exc
