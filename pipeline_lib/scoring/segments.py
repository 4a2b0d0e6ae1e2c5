"""Split a message into the parts the crisis classifier judges, so every part of it is read.

A message of up to WHOLE_WORDS words is judged whole (it fits the encoder's 256 word pieces).
A longer one is cut into sentences, packed into windows of at most WINDOW_WORDS words, each window
starting on the last sentence of the one before: every sentence is read with a neighbour for
context, and one crisis sentence among many about the weekend is judged with its own window
instead of being averaged into a whole-message embedding (and cut off after 256 word pieces).
A sentence longer than a window is cut into overlapping runs of words.
"""

from __future__ import annotations

import re

WHOLE_WORDS = 150  # ~200 word pieces, inside the encoder's 256
WINDOW_WORDS = 60
LONG_SENTENCE_OVERLAP = 10
MAX_CHARS = 8000  # the request limit; longer text is not expected here, and is cut to bound the work

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n+")


def sentences(text: str) -> list[str]:
    """Sentences (and lines), each a run of words no longer than WINDOW_WORDS."""
    out = []
    for part in _SENTENCE_END.split(text):
        words = part.split()
        step = WINDOW_WORDS - LONG_SENTENCE_OVERLAP
        for start in range(0, max(len(words) - LONG_SENTENCE_OVERLAP, 1), step):
            if words[start:start + WINDOW_WORDS]:
                out.append(" ".join(words[start:start + WINDOW_WORDS]))
    return out


def windows(text: str) -> list[str]:
    """The parts of `text` to judge: [text] when short, else overlapping sentence windows."""
    text = text[:MAX_CHARS]
    if len(text.split()) <= WHOLE_WORDS:
        return [text]
    sents = sentences(text)
    out, start = [], 0
    while start < len(sents):
        end, words = start, 0
        while end < len(sents) and (end == start or words + len(sents[end].split()) <= WINDOW_WORDS):
            words += len(sents[end].split())
            end += 1
        out.append(" ".join(sents[start:end]))
        if end >= len(sents):
            break
        start = end - 1 if end - 1 > start else end  # overlap by one sentence
    return out
