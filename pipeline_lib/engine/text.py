"""Ending a reply that the token limit cut: back to the last sentence boundary, never mid-word."""

from __future__ import annotations

import re

# A sentence end: ., !, ? or … (with any closing quotes/brackets) followed by whitespace or the
# end of the text; or a line break.
_BOUNDARY = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|$)|\n")


def trim_to_sentence(text: str) -> str:
    """Cut `text` after its last sentence boundary; with none, after its last whole word.

    For replies cut by max_new_tokens (finish_reason "length"): the last word may be partial,
    so without a boundary the text after the last whitespace is dropped. A text of a single word
    (no whitespace to cut at) is returned stripped rather than emptied.
    """
    stripped = text.rstrip()
    last = None
    for last in _BOUNDARY.finditer(stripped):
        pass
    if last is not None and stripped[: last.end()].strip():
        return stripped[: last.end()].rstrip()
    cut = re.search(r"\s+\S*$", stripped)
    if cut is None or not stripped[: cut.start()].strip():
        return stripped
    return stripped[: cut.start()]
