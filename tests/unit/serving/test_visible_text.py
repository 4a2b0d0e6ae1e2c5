"""Which texts count as a message: at least one character that draws something."""

from __future__ import annotations

import pytest

from pipeline_lib.errors import InvalidInputError
from pipeline_lib.serving.prompt import PromptSettings
from pipeline_lib.serving.visible_text import has_visible_text

INVISIBLE = {
    "empty": "",
    "whitespace": " \n\t\u00a0\u3000",
    "NUL": "\x00\x00",
    "other controls": "\x01\x07\x1b\x7f\x85",
    "zero-width": "\u200b\u200c\u200d\u2060\ufeff",
    "bidi marks and soft hyphen": "\u200e\u200f\u202e\u00ad",
    "combining marks alone": "\u0301\u0308\u20dd",
    "blank fillers": "\u3164\u2800\u115f",
    "a mix": "\x00 \u200b\u0301\t\ufeff",
}
VISIBLE = {
    "ascii": "hi",
    "one letter among invisibles": "\u200b\x00a\u200d",
    "emoji with joiners": "\U0001f469\u200d\U0001f467",
    "accented letter": "e\u0301",
    "CJK": "\u4f60\u597d",
    "punctuation": "?",
}


@pytest.mark.parametrize("text", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_texts_that_draw_nothing_are_not_visible(text):
    assert not has_visible_text(text)


@pytest.mark.parametrize("text", VISIBLE.values(), ids=VISIBLE.keys())
def test_texts_with_a_visible_character_are_visible(text):
    assert has_visible_text(text)


def test_check_text_refuses_invisible_text_naming_the_field():
    settings = PromptSettings(max_input_tokens=64, max_text_chars=100, max_session_id_chars=16,
                              max_conversation_turns=4, max_conversation_chars=400,
                              default_context_type="general", context_types={"general": "hi"})
    for text in INVISIBLE.values():
        with pytest.raises(InvalidInputError) as info:
            settings.check_text(text.encode())
        assert info.value.field == "text" and "no visible character" in str(info.value)
    assert settings.check_text("\u200bhello".encode()) == "\u200bhello"
