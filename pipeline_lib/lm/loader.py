"""Load a Hugging Face Llama/Mistral/Qwen2 checkpoint into our `Transformer`.

Sources: a folder with `config.json` and safetensors (one file or sharded with an index), or a GGUF
file (dequantised by transformers). An optional PEFT LoRA adapter is merged into the weights at
load. Every problem is reported by name: the architecture, the missing tensor, the wrong shape.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import torch
from torch import Tensor

from pipeline_lib.errors import PixelError
from pipeline_lib.lm.lora import merge_lora
from pipeline_lib.lm.model import ModelArgs, ModelArgsError, Transformer, rope_inv_freq

log = logging.getLogger(__name__)

SUPPORTED_ARCHITECTURES = ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM")


class CheckpointError(PixelError):
    """A checkpoint is missing, unreadable, unsupported or does not match its config."""


@dataclass
class LoadedCheckpoint:
    args: ModelArgs
    model: Transformer
    hf_config: dict  # config.json as a dict (eos/pad ids, architecture) for metadata
    source: Path
    tokenizer_dir: Path  # where the tokenizer files are (the folder, or the GGUF's folder)
    gguf_file: str | None = None


def args_from_hf_config(cfg: Mapping) -> ModelArgs:
    archs = cfg.get("architectures") or []
    arch = archs[0] if archs else {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                                    "qwen2": "Qwen2ForCausalLM"}.get(cfg.get("model_type", ""), "")
    if arch not in SUPPORTED_ARCHITECTURES:
        raise CheckpointError(
            f"unsupported architecture {arch or cfg.get('model_type')!r}: supported are "
            f"{', '.join(SUPPORTED_ARCHITECTURES)}; bring a checkpoint of one of those families"
        )
    if cfg.get("hidden_act", "silu") != "silu":
        raise CheckpointError(f"hidden_act {cfg['hidden_act']!r} is not supported (only silu)")
    if cfg.get("mlp_bias"):
        raise CheckpointError("mlp_bias=true is not supported: the MLP has no biases here")
    rope = dict(cfg.get("rope_parameters") or cfg.get("rope_scaling") or {})
    rope_theta = float(rope.pop("rope_theta", cfg.get("rope_theta") or 10000.0))
    if float(rope.get("partial_rotary_factor", 1.0)) != 1.0:
        raise CheckpointError("partial_rotary_factor != 1 is not supported")
    qwen = arch == "Qwen2ForCausalLM"
    sliding = cfg.get("sliding_window")
    window_layers = None  # every layer (Mistral)
    if qwen:
        if not cfg.get("use_sliding_window"):
            sliding = None
        elif sliding:  # Qwen2 windows only the layers its layer_types name
            types = cfg.get("layer_types") or [
                "sliding_attention" if i >= cfg.get("max_window_layers", 28) else "full_attention"
                for i in range(cfg["num_hidden_layers"])]
            window_layers = [i for i, t in enumerate(types) if t == "sliding_attention"]
    n_head = cfg["num_attention_heads"]
    try:
        return ModelArgs(
            vocab_size=cfg["vocab_size"],
            dim=cfg["hidden_size"],
            n_layer=cfg["num_hidden_layers"],
            n_head=n_head,
            n_local_heads=cfg.get("num_key_value_heads") or n_head,
            head_dim=cfg.get("head_dim") or cfg["hidden_size"] // n_head,
            intermediate_size=cfg["intermediate_size"],
            norm_eps=float(cfg.get("rms_norm_eps", 1e-6)),
            rope_theta=rope_theta,
            rope_scaling=rope or None,
            max_position_embeddings=cfg.get("max_position_embeddings", 4096),
            qkv_bias=qwen or bool(cfg.get("attention_bias")),
            o_bias=not qwen and bool(cfg.get("attention_bias")),
            tie_embeddings=bool(cfg.get("tie_word_embeddings", False)),
            sliding_window=sliding,
            window_layers=window_layers,
            architecture=arch,
        )
    except KeyError as exc:
        raise CheckpointError(f"config.json lacks {exc.args[0]!r}, needed for {arch}") from None
    except ModelArgsError as exc:
        raise CheckpointError(str(exc)) from None


def _expected_shapes(args: ModelArgs) -> dict[str, tuple[int, ...]]:
    hd, kv = args.head_dim, args.n_local_heads
    shapes = {"model.embed_tokens.weight": (args.vocab_size, args.dim),
              "model.norm.weight": (args.dim,)}
    if not args.tie_embeddings:
        shapes["lm_head.weight"] = (args.vocab_size, args.dim)
    for i in range(args.n_layer):
        p = f"model.layers.{i}."
        shapes |= {p + "self_attn.q_proj.weight": (args.n_head * hd, args.dim),
                   p + "self_attn.k_proj.weight": (kv * hd, args.dim),
                   p + "self_attn.v_proj.weight": (kv * hd, args.dim),
                   p + "self_attn.o_proj.weight": (args.dim, args.n_head * hd),
                   p + "mlp.gate_proj.weight": (args.intermediate_size, args.dim),
                   p + "mlp.up_proj.weight": (args.intermediate_size, args.dim),
                   p + "mlp.down_proj.weight": (args.dim, args.intermediate_size),
                   p + "input_layernorm.weight": (args.dim,),
                   p + "post_attention_layernorm.weight": (args.dim,)}
        if args.qkv_bias:
            shapes |= {p + "self_attn.q_proj.bias": (args.n_head * hd,),
                       p + "self_attn.k_proj.bias": (kv * hd,),
                       p + "self_attn.v_proj.bias": (kv * hd,)}
        if args.o_bias:
            shapes[p + "self_attn.o_proj.bias"] = (args.dim,)
    return shapes


def check_state_dict(hf_state: Mapping[str, Tensor], args: ModelArgs) -> None:
    """Raise naming the first missing tensor or wrong shape (and how many more are wrong)."""
    expected = _expected_shapes(args)
    missing = [name for name in expected if name not in hf_state]
    if missing:
        raise CheckpointError(
            f"{args.architecture} checkpoint is missing tensor {missing[0]!r}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            + ": the weights do not match config.json, or a shard is absent"
        )
    for name, shape in expected.items():
        found = tuple(hf_state[name].shape)
        if found != shape:
            raise CheckpointError(
                f"tensor {name!r} has shape {list(found)}, config.json implies {list(shape)}: "
                "the weights and config.json come from different models"
            )
    if "model.layers.0.self_attn.o_proj.bias" in hf_state and not args.o_bias:
        raise CheckpointError("o_proj has a bias but config.json does not set attention_bias: "
                              "the weights and config.json disagree")


def convert_state_dict(hf_state: Mapping[str, Tensor], args: ModelArgs) -> dict[str, Tensor]:
    """Hugging Face names -> ours; q/k/v and gate/up are concatenated for the fused matmuls."""
    check_state_dict(hf_state, args)
    out = {"tok_embeddings.weight": hf_state["model.embed_tokens.weight"],
           "norm.weight": hf_state["model.norm.weight"]}
    out["output.weight"] = hf_state["model.embed_tokens.weight" if args.tie_embeddings
                                    else "lm_head.weight"]
    for i in range(args.n_layer):
        p, q = f"model.layers.{i}.", f"layers.{i}."
        attn = p + "self_attn."
        out[q + "attention.wqkv.weight"] = torch.cat(
            [hf_state[attn + f"{n}_proj.weight"] for n in "qkv"])
        if args.qkv_bias:
            out[q + "attention.wqkv.bias"] = torch.cat(
                [hf_state[attn + f"{n}_proj.bias"] for n in "qkv"])
        out[q + "attention.wo.weight"] = hf_state[attn + "o_proj.weight"]
        if args.o_bias:
            out[q + "attention.wo.bias"] = hf_state[attn + "o_proj.bias"]
        out[q + "feed_forward.w13.weight"] = torch.cat(
            [hf_state[p + "mlp.gate_proj.weight"], hf_state[p + "mlp.up_proj.weight"]])
        out[q + "feed_forward.w2.weight"] = hf_state[p + "mlp.down_proj.weight"]
        out[q + "attention_norm.weight"] = hf_state[p + "input_layernorm.weight"]
        out[q + "ffn_norm.weight"] = hf_state[p + "post_attention_layernorm.weight"]
    return out


def build_model(hf_state: Mapping[str, Tensor], args: ModelArgs,
                dtype: torch.dtype = torch.float32) -> Transformer:
    state = convert_state_dict(hf_state, args)
    with torch.device("meta"):
        model = Transformer(args)
    # Materialise on CPU in fp32 (the fp32 inv_freq buffer is recomputed there), then load weights.
    model = model.to_empty(device="cpu")
    model.inv_freq = rope_inv_freq(args)[0]
    model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()}, strict=True,
                          assign=True)
    if args.tie_embeddings:
        model.output.weight = model.tok_embeddings.weight
    return model.cast_weights(dtype).eval()


def _load_safetensors(path: Path) -> dict[str, Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path)
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path.name} is unreadable ({exc}): the file is truncated or "
                              "corrupted; download or save the checkpoint again") from None


def _read_folder_state(folder: Path) -> dict[str, Tensor]:
    index = folder / "model.safetensors.index.json"
    single = folder / "model.safetensors"
    if index.is_file():
        weight_map = json.loads(index.read_text())["weight_map"]
        state: dict[str, Tensor] = {}
        for shard in sorted(set(weight_map.values())):
            if not (folder / shard).is_file():
                raise CheckpointError(
                    f"shard {shard} listed in {index.name} is missing from {folder}")
            state.update(_load_safetensors(folder / shard))
        return state
    if single.is_file():
        return _load_safetensors(single)
    raise CheckpointError(
        f"{folder} has no model.safetensors or model.safetensors.index.json; "
        "save the checkpoint with `save_pretrained(..., safe_serialization=True)`"
    )


def _read_gguf(path: Path) -> tuple[dict, dict[str, Tensor]]:
    from transformers import AutoModelForCausalLM

    log.info("dequantising %s through transformers", path.name)
    hf = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    return hf.config.to_dict(), dict(hf.state_dict())


def load_checkpoint(path: str | Path, *, adapter: str | Path | None = None,
                    dtype: torch.dtype = torch.float32) -> LoadedCheckpoint:
    path = Path(path)
    gguf_file = None
    if path.is_file() and path.suffix == ".gguf":
        cfg, hf_state = _read_gguf(path)
        tokenizer_dir, gguf_file = path.parent, path.name
    elif path.is_dir():
        if not (path / "config.json").is_file():
            raise CheckpointError(
                f"{path} has no config.json: not a Hugging Face checkpoint folder")
        try:
            cfg = json.loads((path / "config.json").read_text())
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{path / 'config.json'} is not valid JSON ({exc})") from None
        hf_state = _read_folder_state(path)
        tokenizer_dir = path
    else:
        raise CheckpointError(f"{path} is neither a checkpoint folder nor a .gguf file")
    args = args_from_hf_config(cfg)
    if adapter is not None:
        check_state_dict(hf_state, args)  # name base-model problems before adapter ones
        hf_state = merge_lora(hf_state, Path(adapter))
    model = build_model(hf_state, args, dtype)
    return LoadedCheckpoint(args=args, model=model, hf_config=cfg, source=path,
                            tokenizer_dir=tokenizer_dir, gguf_file=gguf_file)
