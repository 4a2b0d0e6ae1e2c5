"""What a stream may release while a reply is written, so that nothing sent is taken back."""

from __future__ import annotations

import pytest

from pipeline_lib.serving.text_release import DeltaReleaser, sentence_end, word_end


def feed(releaser: DeltaReleaser, pieces: list[str]) -> list[str]:
    return [releaser.push(p) for p in pieces]


@pytest.mark.parametrize("text, end", [
    ("No boundary yet", 0),
    ("One. Two", 4),
    ("Is it? Yes! Maybe", 11),
    ("Quoted.\" Then", 8),
    ("Line one\nline two", 8),
    ("Ends a line.\n", 12),
    ("Version 2.5 is out", 0),  # a dot inside a number is not a sentence end
    ("Wait…", 5),
    ("Stop!) And", 6),  # closing brackets belong to the sentence
    ("e.g.this and th", 0),  # a dot inside a word is no boundary
    ("Really?! Then", 8),
])
def test_sentence_end(text, end):
    assert sentence_end(text) == end


@pytest.mark.parametrize("text, end", [
    ("hello wor", 5), ("hello world ", 11), ("single", 0), ("two  spaces", 3)])
def test_word_end(text, end):
    assert word_end(text) == end


def test_a_partial_word_is_held_back_until_it_is_complete():
    r = DeltaReleaser(max_new_tokens=100, hold_tokens=4)
    out = feed(r, ["I hear", " how anx", "ious you", " feel."])
    assert out == ["I", " hear how", " anxious", " you"]
    assert r.finish("stop") == " feel."
    assert "".join(out) + " feel." == r.final_text == "I hear how anxious you feel."


def test_near_the_limit_only_whole_sentences_go_out_and_a_cut_reply_ends_at_one():
    r = DeltaReleaser(max_new_tokens=6, hold_tokens=3)
    sent = feed(r, ["That sounds", " hard.", " Try a", " short", " walk and", " then"])
    sent.append(r.finish("length"))
    assert "".join(sent) == r.final_text == "That sounds hard."


def test_a_cut_reply_keeps_what_was_already_sent_when_no_later_boundary_exists():
    r = DeltaReleaser(max_new_tokens=5, hold_tokens=1)
    sent = feed(r, ["One long", " sentence", " without", " an", " end"])
    sent.append(r.finish("length"))
    assert "".join(sent) == r.final_text
    # Whole words only, never "an en"; near the limit no further words went out.
    assert r.final_text == "One long sentence"


def test_leading_blank_space_is_dropped_and_a_stopped_reply_is_released_whole():
    r = DeltaReleaser(max_new_tokens=50)
    sent = feed(r, ["  ", "\nHello", " there"])
    sent.append(r.finish("stop"))
    assert "".join(sent) == r.final_text == "Hello there"


def test_a_cancelled_reply_stands_at_what_was_sent():
    r = DeltaReleaser(max_new_tokens=50)
    sent = feed(r, ["Some words", " and a half"])
    assert r.finish("cancelled") == ""
    assert "".join(sent) == r.final_text == "Some words and a"


def test_a_reply_cut_after_a_line_break_does_not_end_in_blank_space():
    r = DeltaReleaser(max_new_tokens=4, hold_tokens=4)
    sent = feed(r, ["Take care.", "\n", "You"])
    sent.append(r.finish("length"))
    assert "".join(sent) == r.final_text == "Take care."
