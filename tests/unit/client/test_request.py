"""What the client checks before sending: the conversation's shape (the server's own messages)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline_lib.client import InvalidRequestError
from pipeline_lib.client.request import conversation_tensors
from pipeline_lib.client.result import encode_inputs


def test_no_conversation_sends_no_tensor():
    assert conversation_tensors(None) == {}


def test_conversation_becomes_one_json_bytes_tensor():
    turns = [{"role": "user", "content": "Ich schlafe schlecht."},
             {"role": "assistant", "content": "Seit wann?"}]
    tensors = conversation_tensors(turns)
    assert tensors["conversation"].shape == (1, 1) and tensors["conversation"].dtype == np.object_
    assert json.loads(tensors["conversation"][0, 0].decode("utf-8")) == turns
    inputs = encode_inputs(text="Seit Montag.", session_id="s", context_type="",
                           conversation=tensors)
    assert inputs["conversation"] is tensors["conversation"]


@pytest.mark.parametrize(("conversation", "rule"), [
    ("user: hi", "must be a list"),
    ([{"role": "moderator", "content": "x"}], "item [0].role must be one of user, assistant, system"),
    ([{"role": "user", "content": "x"}, {"role": "user", "content": None}], "item [1].content"),
    ([{"role": "user", "content": "x", "tool_calls": []}], "unknown key(s) tool_calls"),
])
def test_bad_conversation_is_refused_before_sending_naming_the_field(conversation, rule):
    with pytest.raises(InvalidRequestError) as info:
        conversation_tensors(conversation)
    assert info.value.field == "conversation" and rule in str(info.value)
