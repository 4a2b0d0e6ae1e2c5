"""The part every Python-backend model shares: settings from config.pbtxt and batched execution
with exactly one response per request.

`pb_utils` (triton_python_backend_utils) only exists inside the server, so it is passed in.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pipeline_lib.errors import InvalidInputError

log = logging.getLogger(__name__)

Columns = dict[str, np.ndarray]


def model_settings(model_config: dict) -> dict:
    """Parameters rendered by pipeline_lib.config.render (JSON per key) back as Python values."""
    return {k: json.loads(v["string_value"]) for k, v in model_config.get("parameters", {}).items()}


def artifacts_dir(args: dict) -> Path:
    """Files a model needs (tokenizer, weights) sit in <repository>/<model>/<version>/artifacts."""
    return Path(args["model_repository"]) / args["model_version"] / "artifacts"


def output_dtypes(pb_utils, model_config: dict) -> dict[str, np.dtype]:
    return {
        out["name"]: pb_utils.triton_string_to_numpy(out["data_type"])
        for out in model_config["output"]
    }


def execute_batched(
    pb_utils,
    requests: Sequence,
    *,
    input_names: Sequence[str],
    dtypes: dict[str, np.dtype],
    compute: Callable[[Columns], Columns],
    validate: Callable[[Columns], None] | None = None,
    optional_inputs: dict[str, object] | None = None,
) -> list:
    """Run `compute` once over the rows of all valid requests; split the outputs back.

    `optional_inputs`: name -> the value each row gets when a request leaves that input out.

    A request that fails `validate` gets INVALID_ARG (the client must not retry it); an error in
    `compute` fails only the requests of that call with INTERNAL. Never raises.
    """
    responses: list = [None] * len(requests)
    batch: list[tuple[int, Columns]] = []
    for i, request in enumerate(requests):
        try:
            if request.is_cancelled():
                responses[i] = pb_utils.InferenceResponse(
                    error=pb_utils.TritonError("request cancelled", pb_utils.TritonError.CANCELLED))
                continue
            cols = {n: _input(pb_utils, request, n) for n in input_names}
            rows = len(cols[input_names[0]])
            for name, default in (optional_inputs or {}).items():
                tensor = pb_utils.get_input_tensor_by_name(request, name)
                cols[name] = (tensor.as_numpy() if tensor is not None
                              else np.full((rows, 1), default, dtype=np.object_))
            if validate is not None:
                validate(cols)
            batch.append((i, cols))
        except InvalidInputError as exc:
            responses[i] = pb_utils.InferenceResponse(
                error=pb_utils.TritonError(str(exc), pb_utils.TritonError.INVALID_ARG))
    if batch:
        sizes = [len(cols[input_names[0]]) for _, cols in batch]
        try:
            merged = {n: _concat([cols[n] for _, cols in batch]) for n in batch[0][1]}
            outputs = compute(merged)
            offsets = np.cumsum([0, *sizes])
            for (i, _), start, end in zip(batch, offsets[:-1], offsets[1:], strict=True):
                tensors = [pb_utils.Tensor(name, np.ascontiguousarray(value[start:end]).astype(dtypes[name]))
                           for name, value in outputs.items()]
                responses[i] = pb_utils.InferenceResponse(output_tensors=tensors)
        except InvalidInputError as exc:
            for i, _ in batch:
                responses[i] = pb_utils.InferenceResponse(
                    error=pb_utils.TritonError(str(exc), pb_utils.TritonError.INVALID_ARG))
        except Exception as exc:  # noqa: BLE001 - one bad batch must not take the model down
            log.exception("compute failed for %d request(s)", len(batch))
            for i, _ in batch:
                responses[i] = pb_utils.InferenceResponse(
                    error=pb_utils.TritonError(f"internal error: {type(exc).__name__}: {exc}"))
    return responses


def _input(pb_utils, request, name: str) -> np.ndarray:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:  # an optional input this request shape needs
        raise InvalidInputError(name, "is required with the other inputs sent")
    return tensor.as_numpy()


def _concat(arrays: list[np.ndarray]) -> np.ndarray:
    """Concatenate along the batch axis, right-padding ragged trailing dims with zeros."""
    if len({a.shape[1:] for a in arrays}) == 1:
        return np.concatenate(arrays, axis=0)
    width = max(a.shape[1] for a in arrays)
    return np.concatenate([np.pad(a, [(0, 0), (0, width - a.shape[1])]) for a in arrays], axis=0)


# -- a guard for an upstream Python-backend bug ------------------------------------------------
_OBJECT_DTYPE_REFS: list = []
_GUARD_LOCK = threading.Lock()
_GUARD_FLOOR = 1 << 20


def guard_object_dtype() -> None:
    """Keep numpy's object dtype alive in this stub process.

    Why: on Triton 2.51 the Python backend's stub drops one reference too many to numpy's builtin
    object dtype now and then when BYTES tensors cross threads (triton-inference-server/server
    issue 7517: "Reference count error detected: an attempt was made to deallocate the dtype 17
    (O)", then the stub dies). Holding a million references, topped up by a watcher thread,
    keeps that count far from zero. Idempotent: one watcher per process.
    """
    with _GUARD_LOCK:
        if _OBJECT_DTYPE_REFS:
            return
        _OBJECT_DTYPE_REFS.append([np.dtype(object)] * _GUARD_FLOOR)
    threading.Thread(target=_top_up_object_dtype, daemon=True, name="dtype-guard").start()


def _top_up_object_dtype() -> None:
    dtype = np.dtype(object)
    while True:
        time.sleep(1.0)
        if sys.getrefcount(dtype) < _GUARD_FLOOR:
            log.warning("numpy's object dtype lost references (upstream Python-backend bug): "
                        "topping up")
            with _GUARD_LOCK:
                _OBJECT_DTYPE_REFS.append([dtype] * _GUARD_FLOOR)
