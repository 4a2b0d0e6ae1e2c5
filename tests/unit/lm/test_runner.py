"""ExportedLMRunner: the Python-backend runtime over an exported file."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from pipeline_lib.errors import InvalidInputError, SetupError
from pipeline_lib.lm.export import ExportOptions, export
from pipeline_lib.lm.runner import ExportedLMRunner, RunnerError
from pipeline_lib.lm.validate import left_pad

from .tiny_models import tiny_hf_model, uneven_prompts


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    from pipeline_lib.checkpoints import ensure_demo_checkpoint

    folder = tmp_path_factory.mktemp("ckpt") / "tiny"
    tiny_hf_model("qwen2", vocab_size=49152, eos_token_id=2, pad_token_id=2,
                  max_position_embeddings=1024).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(ensure_demo_checkpoint() / name, folder / name)
    out = tmp_path_factory.mktemp("export") / "qwen2"
    export(ExportOptions(checkpoint=folder, out=out, max_new_tokens=12, max_seq_len=600))
    return out / "model.pt"


def padded_to(width: int, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    ids, mask = left_pad(rows, pad_id=2)
    pad = width - ids.shape[1]
    ids = torch.cat([torch.full((len(rows), pad), 2), ids], dim=1)
    mask = torch.cat([torch.zeros(len(rows), pad, dtype=torch.long), mask], dim=1)
    return ids.numpy(), mask.numpy()


def test_generate_strips_padding_and_matches_the_module(artifact):
    runner = ExportedLMRunner(artifact)
    rows = uneven_prompts(vocab=49152)
    ids, mask = padded_to(512, rows)
    output_ids, output_length, pooled = runner.generate(ids, mask)
    assert output_ids.shape == (3, 12) and output_ids.dtype == np.int64
    assert output_length.shape == (3,) and output_length.dtype == np.int64
    assert pooled.shape == (3, 64) and pooled.dtype == np.float32
    narrow_ids, narrow_mask = left_pad(rows, pad_id=2)
    with torch.inference_mode():
        expected = torch.jit.load(str(artifact))(narrow_ids, narrow_mask)
    assert np.array_equal(output_ids, expected[0].numpy())
    assert np.array_equal(output_length, expected[1][:, 0].numpy())
    assert np.allclose(pooled, expected[2].numpy(), atol=1e-5)
    assert runner.metadata["max_new_tokens"] == 12 and runner.hidden_size == 64


def test_prompt_too_long_for_the_export_is_refused(artifact):
    runner = ExportedLMRunner(artifact)
    ids, mask = padded_to(600, [list(range(3, 3 + 590))])
    with pytest.raises(InvalidInputError, match="input_ids: 590 prompt tokens"):
        runner.generate(ids, mask)


def test_empty_rows_and_bad_shapes_are_refused(artifact):
    runner = ExportedLMRunner(artifact)
    with pytest.raises(InvalidInputError, match="attention_mask"):
        runner.generate(np.zeros((2, 8), np.int64), np.zeros((2, 8), np.int64))
    with pytest.raises(InvalidInputError, match="input_ids"):
        runner.generate(np.zeros((2, 8), np.int64), np.zeros((2, 7), np.int64))


def test_wrong_dtype_or_missing_file_says_what_to_do(artifact, tmp_path):
    with pytest.raises(RunnerError, match="re-export with `pixel export --dtype bf16`"):
        ExportedLMRunner(artifact, dtype="bf16")
    with pytest.raises(SetupError, match="pixel export"):
        ExportedLMRunner(tmp_path / "model.pt")
