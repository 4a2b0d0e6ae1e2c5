"""Run an exported `model.pt` from Python: the `python` LM runtime of the Triton Python backend.

The same file Triton's LibTorch backend loads; its settings (max_new_tokens, stop ids, dtype, ...)
are read from the `metadata.json` stored inside the archive, so a symlinked file is enough.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from pipeline_lib.errors import InvalidInputError, PixelError, SetupError

log = logging.getLogger(__name__)


class RunnerError(PixelError):
    """The exported artifact cannot run as asked (wrong dtype, device, format version)."""


def load_scripted(artifact_path: str | Path, *, map_location: str = "cpu"):
    """(the TorchScript module, its embedded metadata) of an exported `model.pt`."""
    path = Path(artifact_path)
    if not path.is_file():
        raise SetupError(f"{path} not found: run `pixel export` first")
    extra = {"metadata.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(path), map_location=map_location, _extra_files=extra)
    if not extra["metadata.json"]:
        raise RunnerError(f"{path} carries no metadata.json: re-export it with `pixel export`")
    return module, json.loads(extra["metadata.json"])


def read_metadata(artifact_path: str | Path) -> dict:
    """The metadata embedded in an exported `model.pt`."""
    return load_scripted(artifact_path)[1]


class ExportedLMRunner:
    def __init__(self, artifact_path: str | Path, *, device: str = "cpu",
                 dtype: str | None = None):
        path = Path(artifact_path)
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise RunnerError(f"device {device!r} requested but CUDA is not available")
        self.module, self.metadata = load_scripted(path, map_location=device)
        if dtype is not None and dtype != self.metadata["dtype"]:
            raise RunnerError(
                f"{path} was exported as {self.metadata['dtype']}, {dtype} was asked: "
                f"re-export with `pixel export --dtype {dtype}`"
            )
        self.module.eval()
        self.device = torch.device(device)
        self.max_new_tokens = int(self.metadata["max_new_tokens"])
        self.max_seq_len = int(self.metadata["max_seq_len"])
        self.pad_id = int(self.metadata["pad_id"])
        self.hidden_size = int(self.metadata["hidden_size"])
        log.info("loaded %s (%s, %s, max_new_tokens=%d)", path.name,
                 self.metadata["architecture"], self.metadata["dtype"], self.max_new_tokens)

    def generate(self, input_ids: np.ndarray,
                 attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Left-padded [B, T] prompts -> (output_ids [B, N] int64, output_length [B] int64,
        pooled_hidden [B, H] float32)."""
        if input_ids.ndim != 2 or input_ids.shape != attention_mask.shape:
            raise InvalidInputError("input_ids", f"must be [batch, length] like attention_mask, got "
                                    f"{list(input_ids.shape)} and {list(attention_mask.shape)}")
        # Columns that are padding in every row carry nothing; drop them before the model runs.
        keep = np.flatnonzero(attention_mask.any(axis=0))
        if keep.size == 0:
            raise InvalidInputError("attention_mask", "every row is empty (all zeros)")
        input_ids = input_ids[:, keep]
        attention_mask = attention_mask[:, keep]
        if input_ids.shape[1] + self.max_new_tokens > self.max_seq_len:
            raise InvalidInputError(
                "input_ids", f"{input_ids.shape[1]} prompt tokens + {self.max_new_tokens} new "
                f"tokens exceed the exported max_seq_len {self.max_seq_len}")
        ids = torch.from_numpy(np.ascontiguousarray(input_ids, dtype=np.int64)).to(self.device)
        mask = torch.from_numpy(np.ascontiguousarray(attention_mask, dtype=np.int64))
        mask = mask.to(self.device)
        # The profiling executor re-specialises on every new sequence length (each decode step is
        # one) and stalls for seconds; the plain interpreter is fast and steady. Triton's LibTorch
        # backend gets the same through DISABLE_OPTIMIZED_EXECUTION=true.
        with torch.inference_mode(), torch.jit.optimized_execution(False):
            output_ids, output_length, pooled = self.module(ids, mask)
        return (output_ids.cpu().numpy(), output_length[:, 0].cpu().numpy(),
                pooled.float().cpu().numpy())
