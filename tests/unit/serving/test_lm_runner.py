"""The Hugging Face runner behind `pixel_lm` (runtime hf): padding, EOS handling, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline_lib.checkpoints import ensure_demo_checkpoint
from pipeline_lib.serving.lm_runner import HFGenerateRunner, lengths_until_eos, strip_common_padding


def test_strip_common_padding_keeps_the_longest_prompt():
    ids = np.array([[0, 0, 0, 5, 6], [0, 0, 7, 8, 9]])
    mask = (ids != 0).astype(np.int64)
    s_ids, s_mask = strip_common_padding(ids, mask)
    assert s_ids.tolist() == [[0, 5, 6], [7, 8, 9]]
    assert s_mask.tolist() == [[0, 1, 1], [1, 1, 1]]


def test_lengths_stop_before_the_first_eos():
    tokens = np.array([[4, 2, 9, 2], [4, 5, 6, 7], [2, 2, 2, 2]])
    assert lengths_until_eos(tokens, {2}).tolist() == [1, 4, 0]


@pytest.mark.slow
def test_batched_greedy_matches_hf_generate_row_by_row():
    checkpoint = ensure_demo_checkpoint()
    runner = HFGenerateRunner(checkpoint, max_new_tokens=10)
    tok = __import__("transformers").AutoTokenizer.from_pretrained(checkpoint)
    prompts = [tok.apply_chat_template([{"role": "user", "content": t}], add_generation_prompt=True,
                                       tokenize=True)["input_ids"]
               for t in ("I feel lonely tonight.", "Work has been very stressful and I snap at people.")]
    width = 64
    ids = np.full((2, width), runner.pad_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, p in enumerate(prompts):
        ids[row, width - len(p):], mask[row, width - len(p):] = p, 1
    out, lengths, pooled = runner.generate(ids, mask)
    assert out.shape == (2, 10) and pooled.shape == (2, runner.model.config.hidden_size)
    for row, p in enumerate(prompts):
        ref = runner.model.generate(torch.tensor([p]), max_new_tokens=10, do_sample=False)[0, len(p):]
        ref = ref[: lengths_until_eos(ref.numpy()[None], runner.eos_ids)[0]].tolist()
        # Left padding changes float rounding slightly; greedy tokens must still agree here.
        assert out[row, : lengths[row]].tolist() == ref
