"""trim_to_sentence: a reply cut by the token limit ends at a sentence boundary, never mid-word."""

from __future__ import annotations

import pytest

from pipeline_lib.engine import trim_to_sentence


@pytest.mark.parametrize("text, expected", [
    ("I hear you. It sounds like the week was hard and you", "I hear you."),
    ("Take a breath! Then we can look at what happ", "Take a breath!"),
    ("Is that right? Maybe… Let us", "Is that right? Maybe…"),
    ('She said "stop." Then I wa', 'She said "stop."'),
    ("First line\nsecond li", "First line"),
    ("Pi is 3.14 and e is 2.71 rou", "Pi is 3.14 and e is 2.71"),  # no boundary: last whole word
    ("It all ends well.", "It all ends well."),
    ("It all ends well.  ", "It all ends well."),
    ("Unbelievabl", "Unbelievabl"),  # one word: nothing better to cut at
    ("", ""),
    ("e.g.this and th", "e.g.this and"),  # '.' inside a word is no boundary
])
def test_trim_to_sentence(text, expected):
    assert trim_to_sentence(text) == expected
