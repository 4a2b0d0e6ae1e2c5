"""Engine.from_export: the eager model rebuilt from an exported model.pt gives the export's tokens."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.unit.lm.tiny_models import snap_to_quantized_grid, tiny_hf_model, uneven_prompts
from pipeline_lib.engine import Engine, EngineSettings, GenerationRequest
from pipeline_lib.errors import SetupError
from pipeline_lib.lm.export import ExportOptions, export
from pipeline_lib.lm.runner import ExportedLMRunner


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory, demo_dir):
    """A tiny random Llama with the demo tokenizer (vocab 49152, EOS 2), exported."""
    root = tmp_path_factory.mktemp("engine-export")
    model = tiny_hf_model("llama", vocab_size=49152, eos_token_id=2, pad_token_id=2)
    folder = root / "tiny-llama"
    model.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(demo_dir / name, folder / name)
    export(ExportOptions(checkpoint=folder, out=root / "export", max_new_tokens=16))
    return root / "export" / "model.pt"


def test_engine_from_export_matches_the_exported_module(tiny_export):
    engine = Engine.from_export(tiny_export, EngineSettings(n_slots=3, max_seq_len=128))
    assert engine.stop_ids == {2}
    w = engine.model.layers[0].attention.wqkv.weight
    assert w.stride(0) == 1  # the export's column-major CPU layout is kept
    rows = uneven_prompts(lengths=(5, 17, 11), vocab=49152)
    out = engine.generate([GenerationRequest(i, r, max_new_tokens=16) for i, r in enumerate(rows)])

    output_ids, output_length, _ = ExportedLMRunner(tiny_export).generate(*_left_pad(rows))
    for i in range(len(rows)):
        assert out[i] == output_ids[i, : output_length[i]].tolist(), f"request {i}"


def test_missing_export_says_how_to_make_one(tmp_path):
    with pytest.raises(SetupError, match="pixel export"):
        Engine.from_export(tmp_path / "model.pt")


@pytest.fixture(scope="module")
def tiny_int4_export(tmp_path_factory, demo_dir):
    """The tiny Llama on the int4 grid, exported with --quantize int4 (gates at 0.9: see
    tests/unit/lm/test_export_quantized.py)."""
    root = tmp_path_factory.mktemp("engine-int4-export")
    model = snap_to_quantized_grid(
        tiny_hf_model("llama", vocab_size=49152, eos_token_id=2, pad_token_id=2), "int4")
    folder = root / "tiny-llama"
    model.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(demo_dir / name, folder / name)
    export(ExportOptions(checkpoint=folder, out=root / "export", max_new_tokens=16,
                         quantize="int4", min_top1_agreement=0.9))
    return root / "export" / "model.pt"


def test_engine_runs_a_quantized_export_like_the_runner(tiny_int4_export):
    engine = Engine.from_export(tiny_int4_export, EngineSettings(n_slots=3, max_seq_len=128,
                                                                 prefill_chunk=8))
    assert type(engine.model.layers[0].attention.wqkv).__name__ == "Int4Linear"
    assert type(engine.model.output).__name__ == "Int8Linear"
    rows = uneven_prompts(lengths=(5, 17, 11), vocab=49152)
    out = engine.generate([GenerationRequest(i, r, max_new_tokens=16) for i, r in enumerate(rows)])
    output_ids, output_length, _ = ExportedLMRunner(tiny_int4_export).generate(*_left_pad(rows))
    for i in range(len(rows)):
        assert out[i] == output_ids[i, : output_length[i]].tolist(), f"request {i}"


def _left_pad(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    width = max(map(len, rows))
    ids = np.full((len(rows), width), 2, np.int64)
    mask = np.zeros((len(rows), width), np.int64)
    for i, row in enumerate(rows):
        ids[i, width - len(row):], mask[i, width - len(row):] = row, 1
    return ids, mask
