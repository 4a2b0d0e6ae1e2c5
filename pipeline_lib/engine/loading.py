"""Build the eager `Transformer` the engine drives from an exported TorchScript `model.pt`.

The export is the one artifact every runtime reads; its metadata (inside the archive) carries the
model's hyper-parameters (`model_args`) and stop ids, its scripted submodule `model` the weights.
The engine needs the eager module because it calls the model with its own cache and write
positions, which the exported `forward` does not expose.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from pipeline_lib.errors import SetupError
from pipeline_lib.lm.model import ModelArgs, Transformer, rope_inv_freq
from pipeline_lib.lm.quant import QuantSpec, quantize_model
from pipeline_lib.lm.runner import load_scripted

log = logging.getLogger(__name__)

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def load_exported_transformer(path: str | Path, *,
                              device: str | torch.device = "cpu") -> tuple[Transformer, dict]:
    """-> (eval Transformer on `device` with the export's weights, the export's metadata)."""
    path = Path(path)
    scripted, metadata = load_scripted(path)
    if "model_args" not in metadata:
        raise SetupError(f"{path} has no model_args in its metadata: re-export it")
    args = ModelArgs(**metadata["model_args"])
    state = {k: v for k, v in scripted.model.state_dict().items() if k != "inv_freq"}
    with torch.device("meta"):
        model = Transformer(args)
    model = model.to_empty(device="cpu")
    model.inv_freq = rope_inv_freq(args)[0]  # fp32, recomputed as the loader does
    quantization = metadata.get("quantization")
    if quantization and torch.device(device).type != "cpu":
        raise SetupError(f"{path} is {quantization['scheme']}-quantized for CPU; for "
                         f"{device} export with `pixel export --dtype bf16` (no --quantize)")
    if quantization:  # the same quantized modules, empty, to receive the packed buffers
        quantize_model(model, QuantSpec.from_metadata(quantization), empty=True)
    # assign=True keeps the saved tensors (and their strides: the column-major CPU layout).
    model.load_state_dict(state, strict=True, assign=True)
    if args.tie_embeddings and isinstance(model.output, torch.nn.Linear):
        model.output.weight = model.tok_embeddings.weight
    del scripted
    dtype = DTYPES.get(metadata.get("dtype", "fp32"), torch.float32)
    model.cast_weights(dtype)
    device = torch.device(device)
    if device.type == "cpu":
        if metadata.get("weight_layout") == "column_major":
            model.use_cpu_layout()  # no copy for the matrices saved column-major already
    else:
        model = model.to(device)
    log.info("engine model from %s (%s, %s, %d layers)", path.name, metadata.get("architecture"),
             metadata.get("dtype"), args.n_layer)
    return model.eval(), metadata
