"""Streaming text deltas with the demo tokenizer (byte-level BPE): joined, they equal decoding
every id at once; none splits a multi-byte character."""

from __future__ import annotations

import pytest

from pipeline_lib.engine import IncrementalDetokenizer

TEXTS = [
    "I hear you. That sounds really hard 💙 — take a breath.",
    "Café, naïve, über, façade; ¿Qué tal? Ça va… très bien!",
    "今日はとても疲れました。我很难过，但是会好起来的。",
    "  leading spaces,\n\nnew lines\tand tabs   ",
    "👩‍👩‍👧 family emoji, flags 🇫🇷🇯🇵, skin tones 👋🏽 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "Numbers 3.14159 and code `x = y ** 2` and URLs https://example.org/a?b=c",
]


@pytest.fixture(scope="module")
def tokenizer(demo_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(demo_dir)


@pytest.mark.parametrize("text", TEXTS)
def test_deltas_join_to_the_full_decode_and_never_split_a_character(tokenizer, text):
    ids = tokenizer.encode(text, add_special_tokens=False)
    detok = IncrementalDetokenizer(tokenizer)
    deltas = [detok.push(i) for i in ids]
    deltas.append(detok.finish())
    assert "".join(deltas) == tokenizer.decode(ids, skip_special_tokens=True) == detok.text
    assert not any("\ufffd" in d for d in deltas)
    assert sum(1 for d in deltas if d) > len(text) // 10  # it really streamed


def test_a_multi_byte_character_arrives_whole(tokenizer):
    ids = tokenizer.encode("ok 🇫🇷", add_special_tokens=False)
    assert len(ids) > 3  # the flag takes several byte tokens
    detok = IncrementalDetokenizer(tokenizer)
    deltas = [detok.push(i) for i in ids]
    assert "" in deltas  # bytes of an unfinished character were held back ...
    assert not any("\ufffd" in d for d in deltas)  # ... never shown as U+FFFD
    assert [d for d in deltas if d] == ["ok", " 🇫", "🇷"]


def test_special_tokens_are_skipped(tokenizer):
    ids = (tokenizer.encode("Hello", add_special_tokens=False) + [tokenizer.eos_token_id]
           + tokenizer.encode(" there", add_special_tokens=False))
    detok = IncrementalDetokenizer(tokenizer)
    text = "".join(detok.push(i) for i in ids) + detok.finish()
    assert text == tokenizer.decode(ids, skip_special_tokens=True) == "Hello there"


def test_a_reply_cut_mid_character_flushes_what_decode_gives(tokenizer):
    ids = tokenizer.encode("fine 💙", add_special_tokens=False)[:-1]  # drop the last byte token
    detok = IncrementalDetokenizer(tokenizer)
    streamed = "".join(detok.push(i) for i in ids)
    assert "\ufffd" not in streamed
    assert streamed + detok.finish() == tokenizer.decode(ids, skip_special_tokens=True)
