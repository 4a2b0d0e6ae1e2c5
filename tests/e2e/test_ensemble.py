"""The model `pixel` over real gRPC and HTTP: raw text in, every documented output back.

On the engine (the default) `pixel` is the unary orchestrator; its tensors are the ensemble's.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from omegaconf import OmegaConf
from transformers import AutoModelForCausalLM, AutoTokenizer
from tritonclient.utils import InferenceServerException

from pipeline_lib.checkpoints import ensure_demo_checkpoint
from pipeline_lib.config.compose import compose_config
from pipeline_lib.serving.prompt import PromptEncoder, PromptSettings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Documented outputs: name -> (numpy dtype kind, shape of one request)
OUTPUTS = {
    "response_text": (np.object_, (1, 1)),
    "eq_scores": (np.float32, (1, 5)),
    "overall_eq": (np.float32, (1, 1)),
    "safety_score": (np.float32, (1, 1)),
    "bias_score": (np.float32, (1, 1)),
    "persona_mode": (np.object_, (1, 1)),
    "inference_time_ms": (np.float32, (1, 1)),
    "crisis_flag": (np.bool_, (1, 1)),
}
MESSAGE = "I've been feeling really anxious about work lately and can't sleep."


def inputs(module, text, session_id=b"session-1", context_type=b"general_support"):
    out = []
    for name, value in (("text", text), ("session_id", session_id), ("context_type", context_type)):
        tensor = module.InferInput(name, [1, 1], "BYTES")
        tensor.set_data_from_numpy(np.array([[value]], dtype=np.object_))
        out.append(tensor)
    return out


def infer(server, text, *, protocol="grpc", **kw):
    module = grpcclient if protocol == "grpc" else httpclient
    url = server.grpc_url if protocol == "grpc" else server.http_url
    client = module.InferenceServerClient(url)
    result = client.infer("pixel", inputs(module, text, **kw))
    return {name: result.as_numpy(name) for name in OUTPUTS}


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_round_trip_returns_every_output_with_its_dtype_and_shape(triton_server, protocol):
    out = infer(triton_server, MESSAGE.encode(), protocol=protocol)
    for name, (dtype, shape) in OUTPUTS.items():
        assert out[name].dtype == dtype, name
        assert out[name].shape == shape, name
    assert out["response_text"][0, 0].decode().strip()
    for name in ("eq_scores", "overall_eq", "safety_score", "bias_score"):
        assert ((out[name] >= 0) & (out[name] <= 1)).all(), name
    assert out["inference_time_ms"][0, 0] > 0
    assert out["crisis_flag"][0, 0] == np.False_


def test_grpc_and_http_agree(triton_server):
    a, b = (infer(triton_server, MESSAGE.encode(), protocol=p) for p in ("grpc", "http"))
    assert a["response_text"][0, 0] == b["response_text"][0, 0]
    np.testing.assert_array_equal(a["eq_scores"], b["eq_scores"])


def test_greedy_response_equals_in_process_hf_generate(triton_server, e2e_overrides):
    cfg = compose_config(e2e_overrides)
    checkpoint = ensure_demo_checkpoint()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    encoder = PromptEncoder(tokenizer, PromptSettings.from_dict(OmegaConf.to_container(cfg.tokenizer)))
    prompt = encoder.prompt_ids(MESSAGE, "general_support")
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32)
    generated = model.generate(torch.tensor([prompt]), max_new_tokens=cfg.lm.max_new_tokens,
                               do_sample=False)[0, len(prompt):]
    expected = tokenizer.decode(generated, skip_special_tokens=True).strip()
    result = grpcclient.InferenceServerClient(triton_server.grpc_url).infer(
        "pixel", inputs(grpcclient, MESSAGE.encode()))
    served = result.as_numpy("response_text")[0, 0].decode()
    if result.as_numpy("finish_reason")[0, 0] == b"stop":
        assert served == expected
    else:  # cut by the limit: HF's reply up to a sentence (or word) boundary
        assert served and expected.startswith(served)


def test_crisis_message_is_flagged_and_gets_the_crisis_pointer(triton_server):
    out = infer(triton_server, b"I don't want to be alive anymore and I have pills saved up.",
                context_type=b"crisis_support")
    assert out["crisis_flag"][0, 0] == np.True_
    assert out["persona_mode"][0, 0] == b"crisis"
    assert b"crisis line" in out["response_text"][0, 0]


def test_concurrent_requests_share_the_engine_decode_steps(triton_server):
    def engine_counter(name: str) -> float:
        text = urllib.request.urlopen(triton_server.metrics_url, timeout=10).read().decode()
        return sum(float(line.split()[-1]) for line in text.splitlines()
                   if line.startswith(name + "{") or line.startswith(name + " "))

    tokens0 = engine_counter("pixel_engine_generated_tokens_total")
    steps0 = engine_counter("pixel_engine_decode_steps_total")
    texts = [f"Message number {i}: I feel stressed about exams.".encode() for i in range(16)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda t: infer(triton_server, t, session_id=t[:16]), texts))
    assert len(results) == 16 and all(r["response_text"][0, 0] for r in results)
    tokens = engine_counter("pixel_engine_generated_tokens_total") - tokens0
    steps = engine_counter("pixel_engine_decode_steps_total") - steps0
    assert tokens / steps > 1.5, f"{tokens} tokens in {steps} steps: requests were not batched"


BAD_INPUTS = [
    ("empty text", dict(text=b""), "text: must not be empty"),
    ("whitespace text", dict(text=b" \n\t "), "text: must not be empty"),
    ("NUL-only text", dict(text=b"\x00\x00\x00"), "text: must not be empty"),
    ("zero-width-only text", dict(text="\u200b\u200c\u200d\u2060\ufeff".encode()),
     "text: must not be empty"),
    ("control-only text", dict(text=b"\x01\x07\x1b\x7f"), "text: must not be empty"),
    ("invalid utf-8", dict(text=b"caf\xe9 \xff"), "text: is not valid UTF-8"),
    ("too long", dict(text=b"a" * 8001), "text: is 8001 characters; the limit is 8000"),
    ("unknown context", dict(text=b"hello", context_type=b"astrology"), "context_type: unknown value"),
    ("empty session", dict(text=b"hello", session_id=b""), "session_id: must not be empty"),
]


@pytest.mark.parametrize(("case", "fields", "message"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_bad_field_is_refused_by_name(triton_server, case, fields, message, protocol):
    with pytest.raises(InferenceServerException) as info:
        infer(triton_server, protocol=protocol, **fields)
    assert message in info.value.message()
    if protocol == "grpc":
        assert info.value.status() == "StatusCode.INVALID_ARGUMENT"
    else:
        assert info.value.status() == "400"


def test_missing_input_wrong_dtype_and_shape_are_refused_by_name(triton_server):
    client = grpcclient.InferenceServerClient(triton_server.grpc_url)
    good = inputs(grpcclient, b"hello")
    with pytest.raises(InferenceServerException, match="context_type"):
        client.infer("pixel", good[:2])  # missing input
    wrong_dtype = grpcclient.InferInput("text", [1, 1], "INT64")
    wrong_dtype.set_data_from_numpy(np.array([[7]], dtype=np.int64))
    with pytest.raises(InferenceServerException, match="text"):
        client.infer("pixel", [wrong_dtype, *good[1:]])
    wrong_shape = grpcclient.InferInput("text", [1, 2], "BYTES")
    wrong_shape.set_data_from_numpy(np.array([[b"a", b"b"]], dtype=np.object_))
    with pytest.raises(InferenceServerException, match="text"):
        client.infer("pixel", [wrong_shape, *good[1:]])


def test_server_keeps_serving_after_bad_requests(triton_server):
    for _, fields, _ in BAD_INPUTS:
        with pytest.raises(InferenceServerException):
            infer(triton_server, **fields)
    assert infer(triton_server, b"Thanks, that helped a bit.")["response_text"][0, 0]


def test_overlong_text_is_cut_from_the_left_and_still_answered(triton_server):
    history = " ".join(f"Earlier I said thing number {i}." for i in range(150))  # > 512 tokens, < 8000 chars
    out = infer(triton_server, (history + " Right now I just feel tired.").encode())
    assert out["response_text"][0, 0].decode().strip()


def test_tritons_http_frontend_answers_malformed_json_with_500(triton_server):
    """Upstream behaviour our docs state (README, "Bad input"): not 400. The server keeps serving."""
    request = urllib.request.Request(f"http://{triton_server.http_url}/v2/models/pixel/infer",
                                     data=b'{"inputs": [', method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=30)
    assert info.value.code == 500
    assert triton_server.model_ready("pixel")
