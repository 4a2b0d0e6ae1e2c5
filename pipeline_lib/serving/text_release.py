"""How much of a reply being generated may be streamed yet, so that what was streamed is final.

A streamed character cannot be taken back, and a reply cut by the token limit must end at its
last sentence boundary, never mid-word. So text goes out up to the last word boundary; in the last
`hold_tokens` tokens of the budget, only up to the last sentence boundary (the reply may be cut
there). At the end, a reply that stopped by itself is released whole; one cut by the limit ends at
its last sentence boundary, or at the last word already released if that lies further.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?…](?:[\"'”’)\]]*)(?=\s|$)|\S(?=[ \t]*\n)")


def sentence_end(text: str) -> int:
    """Index just past the last sentence boundary in `text` (0 if none): after closing
    punctuation, or after the last visible character of a line (never the newline itself, so
    released text never ends in blank space)."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    return ends[-1] if ends else 0


def word_end(text: str) -> int:
    """Index just past the last complete word (the text before the last whitespace run)."""
    stripped = text.rstrip()
    if len(stripped) < len(text):  # ends in whitespace: every word so far is complete
        return len(stripped)
    cut = max(stripped.rfind(" "), stripped.rfind("\n"), stripped.rfind("\t"))
    return len(stripped[:cut].rstrip()) if cut > 0 else 0


class DeltaReleaser:
    def __init__(self, *, max_new_tokens: int, hold_tokens: int = 32):
        self.max_new_tokens = max_new_tokens
        self.hold_tokens = hold_tokens
        self.text = ""  # everything generated so far
        self.released = 0  # characters already handed out
        self.tokens = 0

    def push(self, delta: str, n_tokens: int = 1) -> str:
        """Add generated text; -> the part that may be streamed now ("" if none)."""
        self.text += delta
        if not self.released:
            self.text = self.text.lstrip()  # a reply never starts with blank space
        self.tokens += n_tokens
        near_limit = self.max_new_tokens - self.tokens <= self.hold_tokens
        upto = sentence_end(self.text) if near_limit else word_end(self.text)
        return self._release(upto)

    def finish(self, finish_reason: str) -> str:
        """The rest to stream once generation ended; afterwards `final_text` is the reply."""
        if finish_reason == "length":
            return self._release(sentence_end(self.text))
        if finish_reason in ("stop", ""):
            return self._release(len(self.text.rstrip()))
        return ""  # cancelled or failed: what was released stands

    def _release(self, upto: int) -> str:
        if upto <= self.released:
            return ""
        out = self.text[self.released:upto]
        self.released = upto
        return out

    @property
    def final_text(self) -> str:
        return self.text[: self.released]
