"""The demo model (SmolLM2-135M-Instruct, 30 layers): engine greedy output equals Hugging Face
`generate` for chat prompts sharing a system prompt, with requests joining mid-way and the prefix
cache in use."""

from __future__ import annotations

import pytest
import torch

from pipeline_lib.engine import Engine, EngineSettings, GenerationRequest, IncrementalDetokenizer
from .conftest import hf_greedy

SYSTEM = ("You are Pixel, a warm and careful listener. Answer briefly, with empathy, and never "
          "give medical advice.")
MESSAGES = (
    "I keep replaying an argument with my sister and feel guilty.",
    "What are some ways to calm down before an exam?",
    "Thank you",
    "Je suis fatigué et un peu triste aujourd'hui 😔",
)
NEW = 32


def _ids(encoded) -> list[int]:
    return list(encoded["input_ids"]) if hasattr(encoded, "keys") else list(encoded)


@pytest.mark.slow
def test_demo_engine_equals_hugging_face_with_joins_and_prefix_cache(demo_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipeline_lib.lm.export import stop_and_pad_ids
    from pipeline_lib.lm.loader import load_checkpoint

    tokenizer = AutoTokenizer.from_pretrained(demo_dir)
    system = [{"role": "system", "content": SYSTEM}]
    prefix = _ids(tokenizer.apply_chat_template(system, tokenize=True))
    prompts = [_ids(tokenizer.apply_chat_template(system + [{"role": "user", "content": m}],
                                                  add_generation_prompt=True, tokenize=True))
               for m in MESSAGES]
    assert all(p[: len(prefix)] == prefix for p in prompts)

    ck = load_checkpoint(demo_dir)
    stop_ids, _ = stop_and_pad_ids(ck, tokenizer)
    engine = Engine(ck.model.use_cpu_layout(),
                    EngineSettings(n_slots=3, max_seq_len=256, prefill_chunk=16),
                    stop_ids=stop_ids)
    got: dict[int, list[int]] = {i: [] for i in range(len(prompts))}
    text = {i: IncrementalDetokenizer(tokenizer) for i in range(len(prompts))}
    arrivals = {0: [0, 1], 6: [2], 12: [3]}  # later requests join while others decode
    step = 0
    while step <= max(arrivals) or engine.has_work():
        for i in arrivals.get(step, []):
            engine.submit(GenerationRequest(i, prompts[i], prefix_len=len(prefix),
                                            max_new_tokens=NEW))
        for e in engine.step():
            if e.token_id is not None:
                got[e.request_id].append(e.token_id)
                text[e.request_id].push(e.token_id)
        step += 1
    stats = engine.stats()
    assert stats["prefix_hits"] == 3 and stats["prefill_tokens_saved"] == 3 * len(prefix)

    hf = AutoModelForCausalLM.from_pretrained(demo_dir, dtype=torch.float32).eval()
    for i, row in enumerate(prompts):
        expected = hf_greedy(hf, row, NEW, eos=stop_ids[0])
        assert got[i] == expected, MESSAGES[i]
        streamed = text[i].text + text[i].finish()
        assert streamed == tokenizer.decode(expected, skip_special_tokens=True)
