import json

import pytest

from pipeline_lib.gateway.errors import GatewayError
from pipeline_lib.gateway.schemas import parse_request

USER = {"role": "user", "content": "I can't sleep"}


def body(**fields) -> bytes:
    return json.dumps({"model": "pixel", "messages": [USER], **fields}).encode()


def refused(raw: bytes) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        parse_request(raw)
    assert caught.value.status == 400
    return caught.value


def test_a_plain_request_with_generation_options():
    request = parse_request(body(max_tokens=32, temperature=0.7, top_p=0.9, seed=3, n=1,
                                 stream=True, stream_options={"include_usage": True}))
    assert request.max_new_tokens == 32 and request.temperature == 0.7 and request.seed == 3
    assert request.stream and request.include_usage


def test_max_completion_tokens_is_the_newer_name():
    assert parse_request(body(max_completion_tokens=12)).max_new_tokens == 12
    assert refused(body(max_tokens=5, max_completion_tokens=12)).param == "max_tokens"


@pytest.mark.parametrize("field,value", [
    ("n", 2), ("tools", [{"type": "function", "function": {"name": "f"}}]),
    ("tool_choice", "auto"), ("logit_bias", {"42": 5}), ("functions", [{"name": "f"}]),
    ("response_format", {"type": "json_object"}), ("logprobs", True), ("stop", ["\n"]),
    ("presence_penalty", 0.5),
])
def test_what_pixel_cannot_honour_is_refused_naming_the_field(field, value):
    error = refused(body(**{field: value}))
    assert error.param == field and error.message.startswith(f"{field}: ")
    assert error.code == "unsupported_parameter"


def test_harmless_defaults_of_unsupported_fields_pass():
    parse_request(body(n=1, tools=[], logprobs=False, response_format={"type": "text"},
                       presence_penalty=0, stop=None))


def test_an_unknown_field_is_refused_not_ignored():
    error = refused(body(temprature=0.5))
    assert error.param == "temprature" and error.code == "unknown_parameter"


@pytest.mark.parametrize("fields,param", [
    ({"temperature": 3}, "temperature"),
    ({"top_p": 0}, "top_p"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].role"),
    ({"messages": [USER, {"role": "user", "content": [{"type": "image_url"}]}]},
     "messages[1].content[0].type"),
])
def test_bad_values_name_the_field(fields, param):
    assert refused(body(**fields)).param == param


def test_the_offending_text_is_never_echoed():
    secret = "my private words"
    error = refused(json.dumps({"model": "pixel", "messages": [{"role": "robot",
                                                               "content": secret}]}).encode())
    assert secret not in error.message


def test_not_json_and_not_an_object():
    assert refused(b"{not json").param == "body"
    assert refused(b"[1, 2]").param == "body"
