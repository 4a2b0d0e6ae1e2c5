"""Prompt encoding with the demo model's real tokenizer and chat template."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from pipeline_lib.checkpoints import ensure_demo_checkpoint
from pipeline_lib.config.compose import compose_config
from pipeline_lib.errors import InvalidInputError
from pipeline_lib.serving.prompt import PromptEncoder, PromptSettings


@pytest.fixture(scope="module")
def encoder() -> PromptEncoder:
    settings = PromptSettings.from_dict(OmegaConf.to_container(compose_config().tokenizer))
    return PromptEncoder.load(ensure_demo_checkpoint(), settings)


def test_prompt_uses_the_chat_template_and_the_context_system_prompt(encoder):
    ids = encoder.prompt_ids("I can't sleep.", "crisis_support")
    text = encoder.tokenizer.decode(ids)
    assert text.startswith("<|im_start|>system\n" + encoder.settings.context_types["crisis_support"])
    assert text.endswith("<|im_start|>user\nI can't sleep.<|im_end|>\n<|im_start|>assistant\n")


def test_batch_is_left_padded_to_the_fixed_length(encoder):
    ids, mask = encoder.encode_batch(["hi", "a longer message than the first one"],
                                     ["general_support", "therapy_session"])
    assert ids.shape == mask.shape == (2, encoder.settings.max_input_tokens)
    assert mask[0].sum() < mask[1].sum()
    for row in range(2):
        n = int(mask[row].sum())
        assert mask[row, -n:].all() and not mask[row, :-n].any()  # padding only on the left
        assert list(ids[row, -n:]) == encoder.prompt_ids(*[("hi", "general_support"), (
            "a longer message than the first one", "therapy_session")][row])


def test_overlong_text_keeps_its_latest_part_and_the_template(encoder):
    old, latest = "old history sentence. " * 400, "THE LATEST MESSAGE about tonight"
    ids = encoder.prompt_ids(old + latest, "general_support")
    assert len(ids) == encoder.settings.max_input_tokens
    text = encoder.tokenizer.decode(ids)
    assert text.startswith("<|im_start|>system\n")
    assert text.endswith(latest + "<|im_end|>\n<|im_start|>assistant\n")
    assert text.count("old history sentence.") < 400


@pytest.mark.parametrize(("method", "value", "field", "rule"), [
    ("check_text", b"", "text", "empty"),
    ("check_text", b"  \n\t ", "text", "empty"),
    ("check_text", b"\xff\xfe broken", "text", "UTF-8"),
    ("check_text", b"x" * 8001, "text", "limit is 8000"),
    ("check_session_id", b"", "session_id", "empty"),
    ("check_session_id", b"s" * 129, "session_id", "128"),
    ("check_context_type", b"astrology", "context_type", "expected one of"),
])
def test_bad_fields_are_refused_by_name(encoder, method, value, field, rule):
    with pytest.raises(InvalidInputError) as info:
        getattr(encoder.settings, method)(value)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}:") and rule in str(info.value)


def test_empty_context_type_means_the_default(encoder):
    assert encoder.settings.check_context_type(b"") == "general_support"


def test_text_of_nul_characters_is_refused_as_empty(encoder):
    with pytest.raises(InvalidInputError, match="text: must not be empty"):
        encoder.settings.check_text(b"\x00\x00 \x00")
