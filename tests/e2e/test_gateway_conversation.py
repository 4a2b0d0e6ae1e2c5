"""Multi-turn through the gateway (needs the server's and the client's conversation support):
OpenAI `messages` become the earlier turns; the latest user message is kept over the budget; a
crisis in an earlier turn is weighed; a bad turn is refused naming `messages[i]`."""

import openai
import pytest

from tests.unit.gateway.running import running_gateway

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EARLIER = [
    {"role": "system", "content": "The person opened the app from its evening journal screen."},
    {"role": "user", "content": "Work has been piling up and I barely see my friends."},
    {"role": "assistant", "content": "That sounds isolating. When did you last see them?"},
]
LATEST = {"role": "user", "content": "We met at a party last month; I'd like to plan another."}
NEUTRAL = {"role": "user", "content": "Could you recommend a calm piece of music for the evening?"}
DISCLOSURE = "Lately I keep thinking that everyone would be better off if I just ended my life."
SHORT = {"max_tokens": 8}


@pytest.fixture(scope="module")
def sdk(triton_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gateway-conversation")
    with running_gateway(folder, triton_grpc_url=triton_server.grpc_url,
                         overrides=["client.timeout_s=240"]) as server:
        yield openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


async def test_earlier_turns_reach_the_prompt_and_usage_is_reported(sdk):
    single = await sdk.chat.completions.create(model="pixel", messages=[LATEST], **SHORT)
    multi = await sdk.chat.completions.create(model="pixel", messages=[*EARLIER, LATEST],
                                              **SHORT)
    assert multi.usage.prompt_tokens > single.usage.prompt_tokens
    assert 0 < multi.usage.completion_tokens <= SHORT["max_tokens"]
    assert multi.usage.total_tokens == multi.usage.prompt_tokens + multi.usage.completion_tokens
    assert multi.pixel["crisis_flag"] is False


async def test_over_the_budget_the_latest_message_is_kept_and_assessed(sdk):
    filler = [{"role": role, "content": f"{role} turn {i}: " + "some words about the week " * 6}
              for i, role in enumerate(["user", "assistant"] * 12)]
    crisis_latest = {"role": "user", "content": DISCLOSURE}
    reply = await sdk.chat.completions.create(model="pixel", messages=[*filler, crisis_latest],
                                              **SHORT)
    assert reply.usage.prompt_tokens <= 512  # cut to the prompt budget ...
    assert reply.pixel["crisis_flag"] is True  # ... and the latest message was still there


async def test_a_crisis_in_an_earlier_turn_weighs_on_a_neutral_latest_message(sdk):
    earlier = [{"role": "user", "content": DISCLOSURE},
               {"role": "assistant", "content": "Thank you for telling me. I'm here with you."}]
    alone = await sdk.chat.completions.create(model="pixel", messages=[NEUTRAL], **SHORT)
    stream = await sdk.chat.completions.create(model="pixel", messages=[*earlier, NEUTRAL],
                                               stream=True, **SHORT)
    chunks = [chunk async for chunk in stream]
    assert alone.pixel["crisis_flag"] is False
    assert chunks[0].pixel["crisis_flag"] is True and chunks[0].pixel["crisis_pointer"]
    assert chunks[-1].pixel["reply_persona"] == "crisis_support"


async def test_a_conversation_the_server_refuses_is_a_400_naming_messages(sdk):
    with pytest.raises(openai.BadRequestError) as caught:  # 65 earlier turns: over the limit
        await sdk.chat.completions.create(
            model="pixel", messages=[{"role": "user", "content": "x"}] * 65 + [LATEST])
    assert caught.value.param == "messages" and "messages: " in caught.value.message
