"""Raw gRPC calls to the engine's models, shared by the engine's e2e tests (no PixelClient)."""

from __future__ import annotations

import queue
import re
import urllib.request

import numpy as np
import tritonclient.grpc as grpcclient

GENERATION_DTYPES = {"max_new_tokens": ("INT32", np.int32), "temperature": ("FP32", np.float32),
                     "top_p": ("FP32", np.float32), "seed": ("INT64", np.int64)}


def request_inputs(text: str, *, session_id: str = "s-1", context_type: str = "general_support",
                   **generation) -> list:
    tensors = []
    for name, value in (("text", text), ("session_id", session_id),
                        ("context_type", context_type)):
        tensor = grpcclient.InferInput(name, [1, 1], "BYTES")
        tensor.set_data_from_numpy(np.array([[value.encode()]], dtype=np.object_))
        tensors.append(tensor)
    for name, value in generation.items():
        triton_type, dtype = GENERATION_DTYPES[name]
        tensor = grpcclient.InferInput(name, [1, 1], triton_type)
        tensor.set_data_from_numpy(np.array([[value]], dtype=dtype))
        tensors.append(tensor)
    return tensors


def _decode(result) -> dict:
    out = {}
    for output in result.get_response().outputs:
        value = result.as_numpy(output.name)
        flat = value.reshape(-1)
        if value.dtype == np.object_:
            out[output.name] = flat[0].decode()
        elif output.name == "eq_scores":
            out[output.name] = flat.tolist()
        else:
            out[output.name] = flat[0].item()
    return out


class Stream:
    """One gRPC stream to `pixel_stream`: events as dicts, or the error that ended it."""

    def __init__(self, url: str, model: str = "pixel_stream"):
        self.model = model
        self.events: queue.Queue = queue.Queue()
        self.client = grpcclient.InferenceServerClient(url)
        self.client.start_stream(callback=lambda result, error: self.events.put((result, error)))

    def send(self, text: str, **kw) -> None:
        self.client.async_stream_infer(self.model, request_inputs(text, **kw))

    def next(self, timeout: float = 300) -> dict:
        result, error = self.events.get(timeout=timeout)
        if error is not None:
            raise error
        return _decode(result)

    def until_final(self, timeout: float = 300) -> list[dict]:
        events = []
        while not events or events[-1]["stream_event"] != "final":
            events.append(self.next(timeout))
        return events

    def cancel(self) -> None:
        self.client.stop_stream(cancel_requests=True)

    def close(self) -> None:
        # Cancel rather than wait for the server to close its side: the final response is in, and
        # waiting for the stream's end hung now and then with 32 streams at once (Triton 2.51).
        self.client.stop_stream(cancel_requests=True)
        self.client.close()


def stream_once(url: str, text: str, **kw) -> list[dict]:
    stream = Stream(url)
    try:
        stream.send(text, **kw)
        return stream.until_final()
    finally:
        stream.close()


def unary(url: str, text: str, model: str = "pixel", **kw) -> dict:
    client = grpcclient.InferenceServerClient(url)
    return _decode(client.infer(model, request_inputs(text, **kw)))


def metric(metrics_url: str, name: str) -> float:
    """Sum of a metric's samples on Triton's /metrics (0 when absent)."""
    text = urllib.request.urlopen(metrics_url, timeout=10).read().decode()
    pattern = re.compile(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", re.M)
    return sum(float(v) for v in pattern.findall(text))


def engine_responses(url: str, input_ids: list[int], **inputs) -> list[dict]:
    """Every response of one request straight to the engine (`pixel_lm`), in order."""
    client = grpcclient.InferenceServerClient(url)
    events: queue.Queue = queue.Queue()
    client.start_stream(callback=lambda result, error: events.put((result, error)))
    tensors = [grpcclient.InferInput("input_ids", [len(input_ids)], "INT64")]
    tensors[0].set_data_from_numpy(np.array(input_ids, dtype=np.int64))
    for name, (triton_type, value) in inputs.items():
        tensor = grpcclient.InferInput(name, [1], triton_type)
        tensor.set_data_from_numpy(np.array([value]))
        tensors.append(tensor)
    client.async_stream_infer("pixel_lm", tensors, enable_empty_final_response=True)
    responses = []
    try:
        while True:
            result, error = events.get(timeout=300)
            if error is not None:
                raise error
            final = result.get_response().parameters["triton_final_response"].bool_param
            if result.get_response().outputs:
                responses.append({"token_ids": result.as_numpy("token_ids").tolist(),
                                  "text_delta": result.as_numpy("text_delta")[0].decode(),
                                  "finish_reason": result.as_numpy("finish_reason")[0].decode()})
            if final:
                return responses
    finally:
        client.stop_stream(cancel_requests=True)
        client.close()
