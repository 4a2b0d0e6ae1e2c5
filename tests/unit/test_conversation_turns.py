"""The earlier turns of a conversation: shape rules, limits, wire form."""

from __future__ import annotations

import json

import pytest

from pipeline_lib.conversation_turns import (
    ConversationLimits,
    Turn,
    check_turns,
    earlier_user_texts,
    encode_conversation,
    parse_conversation,
)
from pipeline_lib.errors import InvalidInputError

TURNS = [
    {"role": "system", "content": "The person uses the app's sleep diary."},
    {"role": "user", "content": "My week has been rough, ünïcode and all."},
    {"role": "assistant", "content": "That sounds tiring. What made it rough?"},
]


def test_turns_round_trip_through_the_wire_form():
    turns = check_turns(TURNS)
    assert turns[1] == Turn("user", TURNS[1]["content"])
    assert parse_conversation(encode_conversation(turns)) == turns
    assert json.loads(encode_conversation(turns).decode("utf-8")) == TURNS


def test_empty_input_means_no_earlier_turns():
    assert parse_conversation(b"") == parse_conversation("  ") == parse_conversation(b"[]") == ()


def test_only_user_turns_reach_the_assessment():
    assert earlier_user_texts(check_turns(TURNS)) == [TURNS[1]["content"]]


BAD = [
    ("not json", b"[{role: user}]", "is not valid JSON"),
    ("not utf-8", b"\xff\xfe[]", "not valid UTF-8"),
    ("an object", b'{"role": "user", "content": "x"}', "must be a JSON array"),
    ("item not an object", b'["hello"]', "item [0] must be an object"),
    ("bad role", b'[{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]',
     "item [1].role must be one of user, assistant, system"),
    ("missing role", b'[{"content": "b"}]', "item [0].role must be one of"),
    ("content not a string", b'[{"role": "user", "content": 3}]', "item [0].content must be a string"),
    ("content missing", b'[{"role": "assistant"}]', "item [0].content must be a string"),
    ("unknown key", b'[{"role": "user", "content": "a", "name": "x"}]', "unknown key(s) name"),
]


@pytest.mark.parametrize(("case", "raw", "rule"), BAD, ids=[b[0] for b in BAD])
def test_bad_conversation_is_refused_naming_the_field_and_item(case, raw, rule):
    with pytest.raises(InvalidInputError) as info:
        parse_conversation(raw)
    assert info.value.field == "conversation"
    assert str(info.value).startswith("conversation: ") and rule in str(info.value)


def test_limits_on_turns_and_characters():
    limits = ConversationLimits(max_turns=2, max_chars=10)
    with pytest.raises(InvalidInputError, match="has 3 turns; the limit is 2"):
        check_turns([{"role": "user", "content": ""}] * 3, limits)
    with pytest.raises(InvalidInputError, match="has 11 characters of content; the limit is 10"):
        check_turns([{"role": "user", "content": "x" * 6}, {"role": "assistant", "content": "y" * 5}],
                    limits)
    assert len(check_turns([{"role": "user", "content": "x" * 10}], limits)) == 1


def test_a_string_is_not_a_list_of_turns():
    with pytest.raises(InvalidInputError, match="conversation: must be a list"):
        check_turns("user: hello")


def test_refusals_do_not_quote_what_a_person_wrote():
    secret = "my private words"
    with pytest.raises(InvalidInputError) as info:
        check_turns([{"role": secret, "content": secret}])
    assert secret not in str(info.value)
