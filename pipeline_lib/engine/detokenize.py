"""Incremental detokenization for streaming: text deltas that never split a character.

Decoding one token at a time is wrong twice over: a byte-level BPE token can hold half of a UTF-8
character (the tokenizer shows U+FFFD until the rest arrives), and SentencePiece-style tokenizers
drop or keep a token's leading space depending on what precedes it. So, as TGI and vLLM do, each
push decodes a short window that starts a few tokens back (`prefix_offset`) and emits only the
text beyond what the window's older part decodes to, holding it back while it ends in U+FFFD.
"""

from __future__ import annotations

from typing import List


class IncrementalDetokenizer:
    def __init__(self, tokenizer, *, skip_special_tokens: bool = True):
        self.tokenizer = tokenizer
        self.skip_special_tokens = skip_special_tokens
        self.ids: List[int] = []
        self.prefix_offset = 0  # the window starts here (context for leading-space rules)
        self.read_offset = 0  # text of ids[:read_offset] has been emitted
        self._parts: List[str] = []

    @property
    def text(self) -> str:
        """Everything emitted so far."""
        return "".join(self._parts)

    def _decode(self, ids: List[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=self.skip_special_tokens)

    def push(self, token_id: int) -> str:
        """Add one token; return the newly completed text ("" while a character is incomplete)."""
        self.ids.append(int(token_id))
        prefix_text = self._decode(self.ids[self.prefix_offset:self.read_offset])
        new_text = self._decode(self.ids[self.prefix_offset:])
        if len(new_text) <= len(prefix_text) or new_text.endswith("\ufffd"):
            return ""  # nothing yet, or an incomplete UTF-8 sequence: wait for more bytes
        delta = new_text[len(prefix_text):]
        self.prefix_offset, self.read_offset = self.read_offset, len(self.ids)
        self._parts.append(delta)
        return delta

    def finish(self) -> str:
        """The text still held back at the end (a reply that ends mid-character): emit it as the
        tokenizer would decode it, so that the deltas joined equal decoding every id at once."""
        if self.read_offset == len(self.ids):
            return ""
        prefix_text = self._decode(self.ids[self.prefix_offset:self.read_offset])
        new_text = self._decode(self.ids[self.prefix_offset:])
        delta = new_text[len(prefix_text):]
        self.prefix_offset, self.read_offset = self.read_offset, len(self.ids)
        self._parts.append(delta)
        return delta
