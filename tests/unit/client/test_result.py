"""Encoding requests as the ensemble expects them and decoding its outputs."""

import numpy as np

from pipeline_lib.client.result import (
    EQ_DIMENSIONS,
    INPUT_NAMES,
    ModelOutputs,
    PixelResult,
    encode_inputs,
)


def tensors(crisis: bool = False) -> dict[str, np.ndarray]:
    return {
        "response_text": np.array([["I hear you. ñ".encode()]], dtype=np.object_),
        "eq_scores": np.array([[0.1, 0.2, 0.3, 0.4, 0.5]], dtype=np.float32),
        "overall_eq": np.array([[0.3]], dtype=np.float32),
        "safety_score": np.array([[0.9]], dtype=np.float32),
        "bias_score": np.array([[0.05]], dtype=np.float32),
        "persona_mode": np.array([[b"compassionate"]], dtype=np.object_),
        "inference_time_ms": np.array([[812.5]], dtype=np.float32),
        "crisis_flag": np.array([[crisis]], dtype=np.bool_),
    }


def test_inputs_are_bytes_tensors_of_shape_1x1():
    inputs = encode_inputs(text="héllo", session_id="s1", context_type="crisis_support")
    assert tuple(inputs) == INPUT_NAMES
    for array in inputs.values():
        assert array.shape == (1, 1) and array.dtype == np.object_
    assert inputs["text"][0, 0] == "héllo".encode()


def test_outputs_decode_to_python_types():
    out = ModelOutputs.from_tensors(tensors(crisis=True))
    assert out.response_text == "I hear you. ñ"
    assert out.eq_scores == tuple(float(np.float32(x)) for x in (0.1, 0.2, 0.3, 0.4, 0.5))
    assert isinstance(out.overall_eq, float) and out.persona_mode == "compassionate"
    assert out.crisis_flag is True and out.server_time_ms == 812.5
    assert ModelOutputs.from_dict(out.to_dict()) == out


def test_result_names_eq_dimensions_and_serialises():
    out = ModelOutputs.from_tensors(tensors())
    result = PixelResult(
        request_id="a" * 32, variant="control", model_name="pixel", model_version="",
        context_type="general_support", response_text=out.response_text, eq_scores=out.eq_scores,
        overall_eq=out.overall_eq, safety_score=out.safety_score, bias_score=out.bias_score,
        persona_mode=out.persona_mode, crisis_flag=out.crisis_flag,
        server_time_ms=out.server_time_ms, latency_ms=900.0, cache_hit=False, attempts=1,
    )
    assert list(result.eq) == list(EQ_DIMENSIONS)
    assert result.outputs == out
    assert result.to_dict()["eq"]["empathy"] == out.eq_scores[3]


def test_provenance_is_optional_and_travels_into_the_result():
    out = ModelOutputs.from_tensors({
        **tensors(crisis=True), "reply_persona": np.array([[b"crisis_support"]], dtype=np.object_),
        "crisis_reply_mode": np.array([[b"generated"]], dtype=np.object_),
        "finish_reason": np.array([[b"stop"]], dtype=np.object_)})
    assert (out.reply_persona, out.crisis_reply_mode, out.finish_reason) == (
        "crisis_support", "generated", "stop")
    assert ModelOutputs.from_tensors(tensors()).reply_persona is None
    result = PixelResult.from_outputs(
        out, request_id="b" * 32, variant="control", model_name="pixel", model_version="",
        context_type="general_support", latency_ms=1.0, cache_hit=False, attempts=1)
    assert result.outputs == out and result.to_dict()["crisis_reply_mode"] == "generated"


def test_usage_decodes_in_the_contracts_order_and_survives_the_cache_round_trip():
    import json

    from pipeline_lib.client.result import Usage

    with_usage = {**tensors(), "usage": np.array([[120, 17, 45]], dtype=np.int64)}
    out = ModelOutputs.from_tensors(with_usage)
    assert out.usage == Usage(prompt_tokens=120, completion_tokens=17, prefix_tokens=45)
    again = ModelOutputs.from_dict(json.loads(json.dumps(out.to_dict())))  # what the cache does
    assert again == out and isinstance(again.usage, Usage)
    assert ModelOutputs.from_tensors(tensors()).usage is None  # the run-to-completion ensemble
    result = PixelResult.from_outputs(
        out, request_id="r", variant="control", model_name="pixel", model_version="",
        context_type="general_support", latency_ms=1.0, cache_hit=False, attempts=1)
    assert result.usage.completion_tokens == 17
    assert result.to_dict()["usage"] == {"prompt_tokens": 120, "completion_tokens": 17,
                                         "prefix_tokens": 45}
