import pytest

from pipeline_lib.gateway.errors import GatewayError
from pipeline_lib.gateway.messages import split_messages
from pipeline_lib.gateway.schemas import ChatMessage


def messages(*pairs):
    return [ChatMessage(role=role, content=content) for role, content in pairs]


def test_the_last_user_message_is_the_text_and_the_rest_the_conversation():
    turns = split_messages(messages(("developer", "Be brief."), ("user", "hi"),
                                    ("assistant", "hello"), ("user", "I feel low")))
    assert turns.text == "I feel low"
    assert turns.conversation == ({"role": "system", "content": "Be brief."},
                                  {"role": "user", "content": "hi"},
                                  {"role": "assistant", "content": "hello"})
    assert "I feel low" not in repr(turns)


def test_text_parts_are_joined():
    turns = split_messages([ChatMessage(role="user", content=[{"type": "text", "text": "a"},
                                                              {"type": "text", "text": "b"}])])
    assert turns.text == "ab" and turns.conversation == ()


@pytest.mark.parametrize("pairs,param", [
    ((("user", "hi"), ("assistant", "hello")), "messages[1].role"),
    ((("system", "x"),), "messages[0].role"),
    ((("user", "   "),), "messages[0].content"),
    ((("user", "\u200b\u200d"),), "messages[0].content"),  # zero-width only: nothing to read
])
def test_the_last_message_must_be_a_non_empty_user_message(pairs, param):
    with pytest.raises(GatewayError) as caught:
        split_messages(messages(*pairs))
    assert caught.value.status == 400 and caught.value.param == param
