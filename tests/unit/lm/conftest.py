"""Fixtures: the demo tokenizer and a tiny random checkpoint folder that uses it."""

from __future__ import annotations

import shutil

import pytest

from .tiny_models import tiny_hf_model


@pytest.fixture(scope="session")
def demo_tokenizer_dir():
    from pipeline_lib.checkpoints import ensure_demo_checkpoint

    return ensure_demo_checkpoint()


@pytest.fixture
def tiny_checkpoint(tmp_path, demo_tokenizer_dir):
    """A tiny random Llama saved as a HF folder with the demo tokenizer (vocab 49152)."""
    model = tiny_hf_model("llama", vocab_size=49152, eos_token_id=2, pad_token_id=2)
    folder = tmp_path / "tiny-llama"
    model.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(demo_tokenizer_dir / name, folder / name)
    return folder
