"""perf_analyzer `--input-data` files for each target, built from the committed messages.

- `pixel`, `tokenizer`, `baseline`: the committed `benchmarks/data/messages.json` as is (BYTES
  `text`, `session_id`, `context_type`, shape [1] each).
- `pixel_lm`: the same messages through the real prompt encoder (chat template, system prompt,
  left-padded to max_input_tokens): INT64 `input_ids` and `attention_mask` of that length.
- `scoring`: what the LM really answers to them (one batched `pixel_lm` call on the running
  server), plus the user's text and context type: what the ensemble hands the scoring step.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from pipeline_lib.checkpoints import project_root
from pipeline_lib.config.repository import resolve_checkpoint
from pipeline_lib.serving.prompt import PromptEncoder, PromptSettings

MESSAGES = project_root() / "benchmarks" / "data" / "messages.json"


def load_messages(path: Path = MESSAGES) -> list[dict[str, str]]:
    """[{text, session_id, context_type}] from an --input-data file of BYTES [1] entries."""
    entries = json.loads(path.read_text())["data"]
    return [{k: v[0] for k, v in e.items()} for e in entries]


def prompt_encoder(cfg: DictConfig) -> PromptEncoder:
    tok = OmegaConf.to_container(cfg.tokenizer, resolve=True)
    return PromptEncoder.load(resolve_checkpoint(cfg.lm.checkpoint), PromptSettings.from_dict(tok))


def lm_inputs(encoder: PromptEncoder, messages: list[dict[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    texts = [m["text"] for m in messages]
    contexts = [encoder.settings.check_context_type(m["context_type"]) for m in messages]
    return encoder.encode_batch(texts, contexts)


def _tensor(values: np.ndarray) -> dict:
    return {"content": values.reshape(-1).tolist(), "shape": list(values.shape)}


def write_lm_data(path: Path, input_ids: np.ndarray, attention_mask: np.ndarray) -> Path:
    data = [{"input_ids": _tensor(i), "attention_mask": _tensor(m)}
            for i, m in zip(input_ids, attention_mask, strict=True)]
    path.write_text(json.dumps({"data": data}))
    return path


def generate_outputs(client, input_ids: np.ndarray, attention_mask: np.ndarray,
                     *, model: str = "pixel_lm") -> tuple[np.ndarray, np.ndarray]:
    """One batched call of the served LM (a tritonclient.grpc client): (output_ids, output_length)."""
    import tritonclient.grpc as grpcclient

    inputs = []
    for name, value in (("input_ids", input_ids), ("attention_mask", attention_mask)):
        t = grpcclient.InferInput(name, list(value.shape), "INT64")
        t.set_data_from_numpy(np.ascontiguousarray(value, dtype=np.int64))
        inputs.append(t)
    result = client.infer(model, inputs, client_timeout=1800)
    return result.as_numpy("output_ids"), result.as_numpy("output_length").reshape(-1)


def write_scoring_data(path: Path, messages: list[dict[str, str]], output_ids: np.ndarray,
                       output_length: np.ndarray) -> Path:
    start_ns = time.time_ns()  # scoring reports now - start_ns as inference_time_ms; unused here
    data = [{"output_ids": _tensor(ids), "output_length": [int(n)], "text": [m["text"]],
             "context_type": [m["context_type"]], "start_ns": [start_ns]}
            for m, ids, n in zip(messages, output_ids, output_length, strict=True)]
    path.write_text(json.dumps({"data": data}))
    return path


def first_request(input_data: Path, metadata: dict):
    """The first entry of an --input-data file as tritonclient.grpc InferInputs (for warm-up)."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import triton_to_np_dtype

    entry = json.loads(input_data.read_text())["data"][0]
    dtypes = {i["name"]: i["datatype"] for i in metadata["inputs"]}
    inputs = []
    for name, value in entry.items():
        content, shape = (value["content"], value["shape"]) if isinstance(value, dict) else (value, [len(value)])
        dtype = dtypes[name]
        array = (np.array([v.encode() for v in content], dtype=np.object_) if dtype == "BYTES"
                 else np.array(content, dtype=triton_to_np_dtype(dtype))).reshape([1, *shape])
        t = grpcclient.InferInput(name, list(array.shape), dtype)
        t.set_data_from_numpy(array)
        inputs.append(t)
    return inputs
