"""Multi-turn conversations through the real server: the `conversation` input of `pixel` and
`pixel_stream`, over PixelClient (gRPC, HTTP, streaming) and raw tritonclient calls."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from omegaconf import OmegaConf
from tritonclient.utils import InferenceServerException

from pipeline_lib.checkpoints import ensure_demo_checkpoint
from pipeline_lib.client import PixelClient, PixelResult, load_client_settings
from pipeline_lib.config.compose import compose_config
from pipeline_lib.conversation_turns import check_turns
from pipeline_lib.serving.prompt import PromptEncoder, PromptSettings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The reply's length is not what these tests are about. (So short a reply is released at
# sentence ends only, hold_tokens: its text may be empty; completion_tokens shows it was written.)
SHORT = {"max_new_tokens": 8}
EARLIER = [
    {"role": "system", "content": "The person opened the app from its evening journal screen."},
    {"role": "user", "content": "Work has been piling up and I barely see my friends."},
    {"role": "assistant", "content": "That sounds isolating. When did you last see them?"},
]
LATEST = "We met at a birthday party last month and I would like to plan another meetup."
NEUTRAL = "Could you recommend a calm piece of music for the evening?"
# Flagged by the scorer on its own (checked with Scorer.user_risk before writing this test).
DISCLOSURE = "Lately I keep thinking that everyone would be better off if I just ended my life."


def client_for(server, protocol: str = "grpc") -> PixelClient:
    return PixelClient(load_client_settings([
        f"client.protocol={protocol}", f"client.grpc_url={server.grpc_url}",
        f"client.http_url={server.http_url}", "client.timeout_s=180",
        "client.cache.backend=none"]))


def session() -> str:
    return f"e2e-conv-{uuid.uuid4().hex}"


async def test_a_multi_turn_call_answers_and_shares_the_personas_prefix(triton_server):
    async with client_for(triton_server) as client:
        single = await client.infer(LATEST, session(), **SHORT)
        multi = await client.infer(LATEST, session(), conversation=EARLIER, **SHORT)
    assert multi.finish_reason in ("stop", "length")
    assert multi.usage.prompt_tokens > single.usage.prompt_tokens  # the turns are in the prompt
    assert 0 < multi.usage.completion_tokens <= SHORT["max_new_tokens"]
    # The application context sits after the persona's prompt: the cached prefix is the persona's.
    assert 0 < multi.usage.prefix_tokens <= single.usage.prefix_tokens
    assert multi.reply_persona == "general_support" and not multi.crisis_flag


async def test_an_over_budget_conversation_still_answers_and_keeps_the_latest_message(triton_server):
    turns = [{"role": role, "content": f"{role} turn {i}: " + "some words about the week " * 6}
             for i in range(30) for role in ("user", "assistant")]
    tokenizer = compose_config(["profile=development"]).tokenizer
    encoder = PromptEncoder.load(ensure_demo_checkpoint(),
                                 PromptSettings.from_dict(OmegaConf.to_container(tokenizer)))
    expected = encoder.prompt_ids(LATEST, "general_support", check_turns(turns))
    assert encoder.tokenizer.decode(expected).endswith(LATEST + "<|im_end|>\n<|im_start|>assistant\n")
    async with client_for(triton_server) as client:
        events = [e async for e in client.stream(LATEST, session(), conversation=turns, **SHORT)]
    result = events[-1]
    assert isinstance(result, PixelResult) and result.finish_reason in ("stop", "length")
    assert result.usage.completion_tokens > 0
    # The server built exactly the cut prompt: oldest turns dropped, the latest message kept.
    assert result.usage.prompt_tokens == len(expected) <= tokenizer.max_input_tokens


async def test_a_crisis_disclosed_in_an_earlier_turn_weighs_on_a_neutral_latest_message(triton_server):
    earlier = [{"role": "user", "content": DISCLOSURE},
               {"role": "assistant", "content": "Thank you for telling me. I'm here with you."}]
    async with client_for(triton_server) as client:
        alone = await client.infer(NEUTRAL, session(), **SHORT)
        carried = await client.infer(NEUTRAL, session(), conversation=earlier, **SHORT)
    assert not alone.crisis_flag and alone.reply_persona == "general_support"
    assert carried.crisis_flag and carried.reply_persona == "crisis_support"


def _raw_inputs(module, conversation: bytes) -> list:
    out = []
    for name, value in (("text", LATEST.encode()), ("session_id", b"s-conv"),
                        ("context_type", b"general_support"), ("conversation", conversation)):
        tensor = module.InferInput(name, [1, 1], "BYTES")
        tensor.set_data_from_numpy(np.array([[value]], dtype=np.object_))
        out.append(tensor)
    return out


BAD = [
    ("not json", b"[{'role': 'user'}]", "conversation: is not valid JSON"),
    ("bad role", json.dumps([{"role": "user", "content": "a"},
                             {"role": "narrator", "content": "b"}]).encode(),
     "conversation: item [1].role must be one of user, assistant, system"),
    ("too many turns", json.dumps([{"role": "user", "content": "x"}] * 65).encode(),
     "conversation: has 65 turns; the limit is 64"),
]


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_a_bad_conversation_is_refused_naming_the_field_and_the_server_keeps_serving(
        triton_server, protocol):
    module = grpcclient if protocol == "grpc" else httpclient
    client = module.InferenceServerClient(
        triton_server.grpc_url if protocol == "grpc" else triton_server.http_url)
    for _case, raw, message in BAD:
        with pytest.raises(InferenceServerException) as info:
            client.infer("pixel", _raw_inputs(module, raw))
        assert message in info.value.message()
        assert info.value.status() == ("StatusCode.INVALID_ARGUMENT" if protocol == "grpc" else "400")
    good = client.infer("pixel", _raw_inputs(module, json.dumps(EARLIER[1:]).encode()))
    assert good.as_numpy("usage")[0, 1] > 0  # completion tokens: it was answered
