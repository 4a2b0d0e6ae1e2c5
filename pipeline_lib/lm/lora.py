"""Merge a PEFT LoRA adapter into Hugging Face-named weights: W += (alpha / r) * B @ A.

Reading the adapter files directly keeps the export free of a second full model in memory; the
unit test checks the result against PEFT's own `merge_and_unload`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Mapping

from torch import Tensor

from pipeline_lib.errors import PixelError


class AdapterError(PixelError):
    """A LoRA adapter is missing, uses an unsupported feature or does not fit the base model."""


_PREFIX = "base_model.model."


def read_adapter(adapter_dir: Path) -> tuple[dict, dict[str, Tensor]]:
    from safetensors.torch import load_file

    config_path = adapter_dir / "adapter_config.json"
    weights_path = adapter_dir / "adapter_model.safetensors"
    if not config_path.is_file() or not weights_path.is_file():
        raise AdapterError(
            f"{adapter_dir} needs adapter_config.json and adapter_model.safetensors "
            "(save the PEFT model with `save_pretrained`)"
        )
    return json.loads(config_path.read_text()), load_file(weights_path)


def merge_lora(hf_state: Mapping[str, Tensor], adapter_dir: Path) -> dict[str, Tensor]:
    config, weights = read_adapter(adapter_dir)
    if config.get("peft_type", "LORA") != "LORA":
        raise AdapterError(f"adapter type {config.get('peft_type')!r} is not LoRA")
    for flag in ("use_dora", "fan_in_fan_out"):
        if config.get(flag):
            raise AdapterError(f"LoRA option {flag}=true is not supported; retrain without it")
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        raise AdapterError("per-module rank_pattern/alpha_pattern is not supported")
    if config.get("modules_to_save"):
        raise AdapterError("modules_to_save is not supported: the adapter replaces whole modules")
    r = int(config["r"])
    alpha = float(config.get("lora_alpha", r))
    scale = alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r

    merged = dict(hf_state)
    a_names = [n for n in weights if n.endswith(".lora_A.weight")]
    if not a_names:
        raise AdapterError(f"{adapter_dir} holds no lora_A weights")
    for a_name in a_names:
        module = a_name[: -len(".lora_A.weight")]
        b_name = module + ".lora_B.weight"
        if b_name not in weights:
            raise AdapterError(f"adapter tensor {b_name!r} is missing")
        base_name = module.removeprefix(_PREFIX) + ".weight"
        if base_name not in merged:
            raise AdapterError(
                f"adapter targets {base_name!r}, which the base checkpoint does not have: "
                "the adapter was trained on another architecture"
            )
        base = merged[base_name]
        delta = weights[b_name].float() @ weights[a_name].float() * scale
        if delta.shape != base.shape:
            raise AdapterError(
                f"adapter update for {base_name!r} has shape {list(delta.shape)}, the base weight "
                f"{list(base.shape)}: the adapter was trained on another model size"
            )
        merged[base_name] = (base.float() + delta).to(base.dtype)
    return merged
